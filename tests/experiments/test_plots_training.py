"""Figures of lessons 04 and 05: loss curves, quadratics, gradient norms, training flow."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from matplotlib.figure import Figure

from bpcourse.dynamics import (
    gradient_flow_experiment,
    layer_statistics,
    quadratic_descent,
    quadratic_descent_2d,
    theoretical_gradient_scale,
    train,
)
from bpcourse.plots import (
    GradientFlowFigure,
    figure_to_png,
    plot_activation_statistics,
    plot_gradient_flow,
    plot_layer_gradient_norms,
    plot_loss_curves,
    plot_quadratic_descent,
    plot_training_flow,
)

PNG = b"\x89PNG\r\n\x1a\n"

# A module fixture is shared (and, for an explorer, changed step by step) by the tests
# below: one worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("plots-training")


@pytest.fixture(scope="module")
def runs() -> list:
    return [train("sine", lr=lr, num_epochs=30) for lr in (0.05, 0.3, 5.0)]


def _texts(fig: Figure) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts) + " ".join(
        ax.get_title() for ax in fig.axes
    )


def test_loss_curves_mark_divergence(runs: list) -> None:
    fig = plot_loss_curves(runs, labels=["slow", "good", "too large"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 2 * 3 + 1  # train and validation per run, a cross for the blow-up
    assert f"diverged at epoch {runs[2].diverged_epoch}" in _texts(fig)
    assert figure_to_png(fig).startswith(PNG)


def test_loss_curves_single_run_on_given_axes(runs: list) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_loss_curves(runs[1], ax=ax, log_y=False, title="t") is fig
    assert ax.get_yscale() == "linear" and ax.get_title() == "t"
    assert "sgd, lr = 0.3" in ax.get_legend().get_texts()[0].get_text()


def test_quadratic_1d_and_2d() -> None:
    fig = plot_quadratic_descent(quadratic_descent(1.0, 1.5, 10), 1.0, lr=1.5)
    assert "2/c = 2" in fig.axes[0].get_title()
    diverging = plot_quadratic_descent(quadratic_descent(1.0, 2.5, 20), 1.0, lr=2.5)
    assert "diverging" in _texts(diverging)
    fig2 = plot_quadratic_descent(quadratic_descent_2d((1, 10), 0.18, 30), (1, 10), lr=0.18)
    assert "2/c = 0.2" in fig2.axes[0].get_title()
    assert figure_to_png(fig2).startswith(PNG)


def test_layer_norms_with_prediction_and_underflow() -> None:
    norms = np.array([0.0, 1e-9, 1e-6, 1e-3, np.inf, 1.0])
    pred = theoretical_gradient_scale(6, "sigmoid", "xavier", 30)
    fig = plot_layer_gradient_norms(norms, pred, title="probe")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.collections[0].get_paths()) == 4  # bars only for finite positive norms
    assert any("upper bound" in t.get_text() for t in ax.texts)
    assert "underflow" in ax.get_title() and "probe" in ax.get_title()
    relative = plot_layer_gradient_norms(np.array([1e-3, 1e-2, 1.0]), np.array([0.1, 0.5, 1.0]))
    assert "last/first 1e+03" in relative.axes[0].get_title()


def test_training_flow_and_statistics() -> None:
    run = train("moons", lr=0.5, num_epochs=5, layer_sizes=(2, 8, 8, 8, 2))
    fig = plot_training_flow(run)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["● first (1)", "● middle (2)", "● last (4)"]
    assert "loss" in fig.axes[0].get_title()
    stats = plot_activation_statistics(layer_statistics(6, 20, "relu", "he"))
    assert len(stats.axes) == 2 and "relu" in stats.axes[0].get_title()
    assert figure_to_png(stats).startswith(PNG)


def test_gradient_flow_figure_reused_across_depths() -> None:
    view = GradientFlowFigure()
    pictures = set()
    for depth in (1, 2, 30):
        view.update(gradient_flow_experiment(depth, 10, "sigmoid", "xavier"))
        pictures.add(view.to_png())
    assert len(pictures) == 3 and all(p.startswith(PNG) for p in pictures)
    assert len(view.figure.axes) == 2
    fig = plot_gradient_flow(gradient_flow_experiment(3, 10, "relu", "he", clip=("norm", 1.0)))
    assert "clip norm 1" in fig.axes[1].get_title()


BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("loss curves empty", lambda: plot_loss_curves([]), ValueError, "results"),
    ("loss curves not a run", lambda: plot_loss_curves([1.0]), TypeError, "results[0]"),
    (
        "quadratic 3-D",
        lambda: plot_quadratic_descent(np.zeros((3, 3)), 1.0),
        ValueError,
        "trajectory",
    ),
    (
        "quadratic curvature",
        lambda: plot_quadratic_descent(np.ones(3), -1.0),
        ValueError,
        "curvature",
    ),
    (
        "quadratic 2-D one c",
        lambda: plot_quadratic_descent(np.ones((3, 2)), 1.0),
        ValueError,
        "curvature",
    ),
    ("norms 2-D", lambda: plot_layer_gradient_norms(np.ones((2, 2))), ValueError, "norms"),
    ("norms empty", lambda: plot_layer_gradient_norms([]), ValueError, "norms"),
    (
        "prediction length",
        lambda: plot_layer_gradient_norms(np.ones(3), np.ones(4)),
        ValueError,
        "prediction",
    ),
    ("flow not a run", lambda: plot_training_flow(np.ones(3)), TypeError, "run"),
    ("statistics not stats", lambda: plot_activation_statistics(3), TypeError, "stats"),
    ("report not a report", lambda: plot_gradient_flow("x"), TypeError, "report"),
]


@pytest.mark.parametrize(("label", "call", "exc", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_arguments(
    label: str, call: Callable[[], object], exc: type[Exception], needle: str
) -> None:
    with pytest.raises(exc, match=needle.replace("[", r"\[").replace("]", r"\]")):
        call()
