r"""Matplotlib figures used by the lessons and the explorers.

Every function returns a :class:`matplotlib.figure.Figure` (or draws on an ``ax`` it is given)
and never calls ``plt.show()``; figures are made with the object-oriented API so that nothing
here depends on pyplot's global state. Importing this module changes no rcParams.
"""

from __future__ import annotations

from typing import Any

from bpcourse.plots._common import figure_to_png
from bpcourse.plots.cost import plot_gradient_cost, plot_symbolic_cost
from bpcourse.plots.derivatives import (
    plot_activation_derivatives,
    plot_difference_quotient_errors,
    plot_step_size_tradeoff,
)
from bpcourse.plots.gradient_norms import (
    GradientFlowFigure,
    plot_activation_statistics,
    plot_gradient_flow,
    plot_layer_gradient_norms,
    plot_rnn_gradient_norms,
    plot_training_flow,
)
from bpcourse.plots.graph import draw_graph
from bpcourse.plots.landscapes import plot_mode_rates, plot_quadratic_descent
from bpcourse.plots.training import (
    plot_decision_boundary,
    plot_loss_curves,
    plot_regression_fits,
    plot_rnn_training,
)

__all__ = [
    "GradientFlowFigure",
    "draw_graph",
    "figure_to_png",
    "plot_activation_derivatives",
    "plot_activation_statistics",
    "plot_decision_boundary",
    "plot_difference_quotient_errors",
    "plot_gradient_cost",
    "plot_gradient_flow",
    "plot_layer_gradient_norms",
    "plot_loss_curves",
    "plot_mode_rates",
    "plot_quadratic_descent",
    "plot_regression_fits",
    "plot_rnn_gradient_norms",
    "plot_rnn_training",
    "plot_step_size_tradeoff",
    "plot_symbolic_cost",
    "plot_training_flow",
]


# --- lesson 07: figures of the digit CNN and the character model ------------------------------
# Defined in their own modules, which import this one; so they are loaded on first use
# (PEP 562) rather than imported here, and ``<face>.<name>`` works as for every other name.
_LESSON07: dict[str, str] = {
    "plot_char_training": "bpcourse.plots_vision",
    "plot_cnn_training": "bpcourse.plots_vision",
    "plot_confusion_matrix": "bpcourse.plots_vision",
    "plot_digit_inspection": "bpcourse.plots_vision",
    "plot_digits": "bpcourse.plots_vision",
    "plot_embeddings": "bpcourse.plots_vision",
    "plot_feature_maps": "bpcourse.plots_vision",
    "plot_kernels": "bpcourse.plots_vision",
    "plot_saliency": "bpcourse.plots_vision",
}


def __getattr__(name: str) -> Any:
    if name not in _LESSON07:
        raise AttributeError(f"module 'bpcourse.plots' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LESSON07[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LESSON07])
