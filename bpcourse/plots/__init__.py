r"""Matplotlib figures used by the lessons and the explorers.

Every function returns a :class:`matplotlib.figure.Figure` (or draws on an ``ax`` it is given)
and never calls ``plt.show()``; figures are made with the object-oriented API so that nothing
here depends on pyplot's global state. Importing this module changes no rcParams.
"""

from __future__ import annotations

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
from bpcourse.plots.vision import (
    plot_char_training,
    plot_cnn_training,
    plot_confusion_matrix,
    plot_digit_inspection,
    plot_digits,
    plot_embeddings,
    plot_feature_maps,
    plot_kernels,
    plot_saliency,
)

__all__ = [
    "GradientFlowFigure",
    "draw_graph",
    "figure_to_png",
    "plot_activation_derivatives",
    "plot_activation_statistics",
    "plot_char_training",
    "plot_cnn_training",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_difference_quotient_errors",
    "plot_digit_inspection",
    "plot_digits",
    "plot_embeddings",
    "plot_feature_maps",
    "plot_gradient_cost",
    "plot_gradient_flow",
    "plot_kernels",
    "plot_layer_gradient_norms",
    "plot_loss_curves",
    "plot_mode_rates",
    "plot_quadratic_descent",
    "plot_regression_fits",
    "plot_rnn_gradient_norms",
    "plot_rnn_training",
    "plot_saliency",
    "plot_step_size_tradeoff",
    "plot_symbolic_cost",
    "plot_training_flow",
]
