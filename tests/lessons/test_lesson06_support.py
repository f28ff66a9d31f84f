"""Support of lesson 06: the measured cost of a gradient and the lesson's figures."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from matplotlib.figure import Figure

from bpcourse import dynamics, plots

# A module fixture is shared (and, for an explorer, changed step by step) by the tests
# below: one worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("lesson06-support")


@pytest.fixture(scope="module")
def cost() -> dynamics.GradientCost:
    return dynamics.gradient_cost((2, 8, 24), repeats=10)


def test_gradient_cost_table(cost: dynamics.GradientCost) -> None:
    assert cost.hidden == (2, 8, 24)
    n_in = 8
    expected = [n_in * h + h + h * h + h + h + 1 for h in (2, 8, 24)]
    np.testing.assert_array_equal(cost.n_params, expected)
    np.testing.assert_array_equal(cost.fd_forward_passes, 2 * np.array(expected))
    for field in ("forward_seconds", "backprop_seconds", "fd_seconds"):
        values = getattr(cost, field)
        assert values.shape == (3,) and np.all(values > 0), field
    assert np.all(cost.relative_error < 1e-7)  # the two gradients agree
    text = cost.format()
    assert str(cost) == text and len(text.splitlines()) == 5
    assert f"{expected[-1]}" in text


def test_backprop_costs_a_few_forward_passes_finite_differences_about_2P(cost) -> None:
    """Orders of magnitude only: timings on a shared machine are noisy."""
    assert np.all(cost.backprop_in_forwards < 10)
    assert np.all(cost.fd_in_forwards > 0.3 * cost.fd_forward_passes)
    assert np.all(cost.fd_in_forwards < 10 * cost.fd_forward_passes)
    # the largest network: finite differences are far costlier than backpropagation
    assert cost.fd_seconds[-1] > 50 * cost.backprop_seconds[-1]


def test_symbolic_cost_for_the_lesson_is_quick() -> None:
    table = dynamics.cost_table((1, 2, 4), max_diff_depth=4)
    diff_ops, reverse_ops = np.array(table.ops["diff"]), np.array(table.ops["reverse"])
    assert np.all(np.diff(reverse_ops) > 0)
    assert diff_ops[-1] > 5 * reverse_ops[-1]  # expression swell against a linear tape


# --- figures --------------------------------------------------------------------------------------


def test_plot_rnn_gradient_norms() -> None:
    raw = dynamics.rnn_gradient_norms(2.0, 30)
    clipped = dynamics.rnn_gradient_norms(2.0, 30, ("norm", 1.0))
    fig = plots.plot_rnn_gradient_norms(clipped, raw_norms=raw, spectral_radius=2.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 3  # unclipped, clipped, reference
    labels = [line.get_label() for line in ax.lines]
    assert "without clipping" in labels
    assert plots.figure_to_png(fig).startswith(b"\x89PNG")


def test_plot_rnn_gradient_norms_skips_underflow_and_overflow() -> None:
    norms = np.array([0.0, 1e-300, np.inf, 1.0, 2.0])
    fig = plots.plot_rnn_gradient_norms(norms, spectral_radius=0.5, title="t")
    line = fig.axes[0].lines[0]
    assert len(line.get_xdata()) == 3
    assert fig.axes[0].get_title() == "t"
    plots.figure_to_png(fig)


def test_plot_rnn_training() -> None:
    runs = [
        dynamics.train_rnn(num_epochs=20, seed=1),
        dynamics.train_rnn(num_epochs=20, seed=1, clip=("norm", 1.0)),
        dynamics.train_rnn(lr=50.0, num_epochs=20, spectral_radius=1.5),
    ]
    fig = plots.plot_rnn_training(runs, title="memory task")
    assert len(fig.axes) == 2
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "no clipping" in labels and "clip by norm at 1" in labels
    assert fig.axes[1].get_yscale() == "log"
    plots.figure_to_png(fig)


def test_plot_gradient_cost(cost) -> None:
    fig = plots.plot_gradient_cost(cost)
    assert len(fig.axes) == 2
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes)
    labels = [line.get_label() for line in fig.axes[1].lines]
    assert labels == ["backpropagation", "central differences", "2P"]
    plots.figure_to_png(fig)


ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("norms 2-D", lambda: plots.plot_rnn_gradient_norms(np.ones((3, 2))), ValueError, "norms"),
    ("norms empty", lambda: plots.plot_rnn_gradient_norms([]), ValueError, "norms"),
    (
        "raw shape",
        lambda: plots.plot_rnn_gradient_norms(np.ones(3), raw_norms=np.ones(4)),
        ValueError,
        "raw_norms",
    ),
    (
        "radius",
        lambda: plots.plot_rnn_gradient_norms(np.ones(3), spectral_radius=-1.0),
        ValueError,
        "spectral_radius",
    ),
    ("training type", lambda: plots.plot_rnn_training([object()]), TypeError, "runs"),
    ("training empty", lambda: plots.plot_rnn_training([]), ValueError, "runs"),
    (
        "training labels",
        lambda: plots.plot_rnn_training([dynamics.train_rnn(num_epochs=2)], labels=["a", "b"]),
        ValueError,
        "labels",
    ),
    ("cost type", lambda: plots.plot_gradient_cost({"n_params": 1}), TypeError, "cost"),
    ("cost widths", lambda: dynamics.gradient_cost(()), TypeError, "hidden"),
    ("cost width zero", lambda: dynamics.gradient_cost((0,)), ValueError, "hidden"),
    ("cost repeats", lambda: dynamics.gradient_cost((2,), repeats=0), ValueError, "repeats"),
    ("cost n_in", lambda: dynamics.gradient_cost((2,), n_in=-1), ValueError, "n_in"),
]


@pytest.mark.parametrize(("case", "call", "error", "fragment"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_name_the_argument(case, call, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        call()
