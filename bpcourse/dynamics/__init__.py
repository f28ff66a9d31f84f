r"""Experiments behind the explorers: gradient flow through depth, training runs, quadratics.

Everything here is a pure function of its arguments (seeded), returns numbers and arrays,
draws nothing, and is unit-tested without a kernel. The explorers in :mod:`bpcourse.widgets`
call these functions and hand the results to :mod:`bpcourse.plots`.

Gradient flow (lesson 05)
    :func:`layer_gradient_norms` measures, for a freshly initialised network of ``depth``
    hidden layers, one gradient norm per hidden layer (first layer first);
    :func:`layer_statistics` reports what the activations look like layer by layer;
    :func:`theoretical_gradient_scale` says how the norms *should* scale with depth.

Training (lesson 04)
    :func:`train` runs gradient descent on a small data set and records train and
    validation loss, divergence, per-layer gradient norms and how far each layer moved.

Learning rate on a quadratic (lesson 04)
    :func:`quadratic_descent` and :func:`quadratic_descent_2d` run gradient descent on
    $f(x) = \tfrac{c}{2} x^2$ (and on an ill-conditioned 2-D bowl), where the step multiplies
    $x$ by $1 - \eta c$: it converges for $\eta < 2/c$ and diverges for $\eta > 2/c$.
"""

from __future__ import annotations

from typing import Any

from bpcourse.dynamics.cost import BackpropMemory, GradientCost, backprop_memory, gradient_cost
from bpcourse.dynamics.digits import (
    CNNTrace,
    DigitCNN,
    TrainingHistory,
    confusion_matrix,
    conv2d_im2col_backward,
    conv2d_im2col_forward,
    train_digit_cnn,
)
from bpcourse.dynamics.gradient_flow import (
    BIAS_INITS,
    GRADIENT_NORM_KINDS,
    INPUT_DISTRIBUTIONS,
    SATURATION_RULES,
    GradientFlowReport,
    GradientScalePrediction,
    LayerStatistics,
    gradient_flow_experiment,
    layer_gradient_norms,
    layer_statistics,
    theoretical_gradient_scale,
    trace_gradient_norms,
)
from bpcourse.dynamics.learning_rate import (
    OptimalSettings,
    largest_stable_lr,
    mode_rate,
    optimal_settings,
    quadratic_descent,
    quadratic_descent_2d,
    quadratic_regime,
)
from bpcourse.dynamics.names import (
    CharRNN,
    CharTrace,
    CharTrainingHistory,
    sequence_cross_entropy,
    sequence_cross_entropy_grad,
    train_char_model,
)
from bpcourse.dynamics.rnn import RNNTrainResult, delay_task, rnn_gradient_norms, train_rnn
from bpcourse.dynamics.training import TrainResult, early_stopping_epoch, sgd_epoch, train

__all__ = [
    "BIAS_INITS",
    "COST_METHODS",
    "GRADIENT_NORM_KINDS",
    "INPUT_DISTRIBUTIONS",
    "SATURATION_RULES",
    "BackpropMemory",
    "CNNTrace",
    "CharRNN",
    "CharTrace",
    "CharTrainingHistory",
    "CostTable",
    "DigitCNN",
    "GradientCost",
    "GradientFlowReport",
    "GradientScalePrediction",
    "LayerStatistics",
    "OptimalSettings",
    "RNNTrainResult",
    "TrainResult",
    "TrainingHistory",
    "backprop_memory",
    "confusion_matrix",
    "conv2d_im2col_backward",
    "conv2d_im2col_forward",
    "cost_table",
    "delay_task",
    "early_stopping_epoch",
    "gradient_cost",
    "gradient_flow_experiment",
    "largest_stable_lr",
    "layer_gradient_norms",
    "layer_statistics",
    "mode_rate",
    "optimal_settings",
    "quadratic_descent",
    "quadratic_descent_2d",
    "quadratic_regime",
    "rnn_gradient_norms",
    "sequence_cross_entropy",
    "sequence_cross_entropy_grad",
    "sgd_epoch",
    "theoretical_gradient_scale",
    "trace_gradient_norms",
    "train",
    "train_char_model",
    "train_digit_cnn",
    "train_rnn",
]

# The symbolic cost table needs SymPy, which the explorers do not: it is imported on first use.
_LAZY = {"COST_METHODS", "CostTable", "cost_table"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from bpcourse.dynamics import symbolic_cost

        return getattr(symbolic_cost, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
