"""Tests of the package functions added for lesson 03 (the step-size trade-off figure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from bpcourse import gradcheck
from bpcourse.plots import plot_step_size_tradeoff

STEPS = np.logspace(-12, -1, 12)


def _tiny_loss(W: np.ndarray) -> Any:
    """A one-layer tanh network's mean squared error, computed in the dtype of W."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    return np.mean((np.tanh(X.astype(W.dtype) @ W) - y.astype(W.dtype)) ** 2)


STEPS32 = STEPS[STEPS >= 1e-6]  # smaller float32 steps vanish in x + h


def _sweeps() -> dict[str, Any]:
    W = np.random.default_rng(1).normal(size=(3, 2)) * 0.5
    exact = gradcheck.complex_step_gradient(_tiny_loss, W)
    return {
        "central, float64": gradcheck.step_size_sweep(_tiny_loss, W, exact, STEPS),
        "central, float32": (
            STEPS32,
            gradcheck.step_size_sweep(_tiny_loss, W, exact, STEPS32, dtype=np.float32),
        ),
        "complex step": gradcheck.step_size_sweep(
            _tiny_loss, W, exact, STEPS, method="complex_step"
        ),
    }


def test_draws_one_line_per_curve_with_a_ring_at_each_minimum() -> None:
    errors = _sweeps()
    fig = plot_step_size_tradeoff(STEPS, errors, rounding={"float64": 2.2e-16})
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    for label in errors:
        assert label in labels
    assert "ε/h (float64)" in labels
    # every curve gets a ring at its smallest finite error
    rings = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(rings) == len(errors)
    for ring, value in zip(rings, errors.values()):
        steps, err = value if isinstance(value, tuple) else (STEPS, value)
        k = int(np.argmin(np.where(np.isfinite(err), err, np.inf)))
        assert ring.get_xdata()[0] == steps[k] and ring.get_ydata()[0] == err[k]
    # a curve given with its own steps is drawn at those steps
    line32 = next(ln for ln in ax.get_lines() if ln.get_label() == "central, float32")
    assert set(line32.get_xdata()) <= set(STEPS32)


def test_the_sweeps_show_the_published_orders_of_magnitude() -> None:
    """float64 central best near 1e-5 at ~1e-10, float32 no better than ~1e-5, complex ~1e-15."""
    errors = _sweeps()
    best64 = int(np.argmin(errors["central, float64"]))
    assert 1e-7 <= STEPS[best64] <= 1e-3
    assert 1e-12 < errors["central, float64"][best64] < 1e-8
    assert np.nanmin(errors["central, float32"][1]) > 1e-6
    assert np.min(errors["complex step"]) < 1e-14


def test_non_finite_and_zero_errors_are_left_out() -> None:
    err = np.array([np.inf, np.nan, 0.0, 1e-3, 1e-5, 1e-4])
    fig = plot_step_size_tradeoff(np.logspace(-6, -1, 6), {"odd": err})
    line = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "odd")
    assert list(line.get_ydata()) == [1e-3, 1e-5, 1e-4]
    ring = next(ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o")
    assert ring.get_ydata()[0] == 1e-5


def test_a_curve_with_nothing_drawable_gets_no_ring() -> None:
    fig = plot_step_size_tradeoff([1e-3, 1e-2], {"nothing": [np.inf, 0.0], "some": [1e-3, 2e-3]})
    assert len([ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"]) == 1


def test_draws_on_a_given_axes_and_leaves_pyplot_alone() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    rc = dict(matplotlib.rcParams)
    host = Figure()
    ax = host.add_subplot()
    fig = plot_step_size_tradeoff(STEPS[:3], {"a": [1e-3, 1e-5, 1e-4]}, ax=ax, title="mine")
    assert fig is host
    assert ax.get_title() == "mine"
    assert plt.get_fignums() == before
    assert dict(matplotlib.rcParams) == rc


BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("steps 2-D", lambda: plot_step_size_tradeoff(np.ones((2, 2)), {"a": [1, 1]}), ValueError,
     "steps"),
    ("steps empty", lambda: plot_step_size_tradeoff([], {"a": []}), ValueError, "steps"),
    ("steps zero", lambda: plot_step_size_tradeoff([0.0, 1.0], {"a": [1, 1]}), ValueError,
     "steps"),
    ("steps nan", lambda: plot_step_size_tradeoff([np.nan, 1.0], {"a": [1, 1]}), ValueError,
     "steps"),
    ("steps text", lambda: plot_step_size_tradeoff("1e-5", {"a": [1]}), TypeError, "steps"),
    ("errors a list", lambda: plot_step_size_tradeoff([1.0], [[1.0]]), TypeError, "errors"),
    ("errors empty", lambda: plot_step_size_tradeoff([1.0], {}), ValueError, "errors"),
    ("label not str", lambda: plot_step_size_tradeoff([1.0], {1: [1.0]}), TypeError, "labels"),
    ("errors wrong length", lambda: plot_step_size_tradeoff([1.0, 2.0], {"a": [1.0]}),
     ValueError, "errors['a']"),
    ("errors (K, 1)", lambda: plot_step_size_tradeoff([1.0, 2.0], {"a": [[1.0], [2.0]]}),
     ValueError, "errors['a']"),
    ("errors negative", lambda: plot_step_size_tradeoff([1.0], {"a": [-1.0]}), ValueError,
     "errors['a']"),
    ("pair of three", lambda: plot_step_size_tradeoff([1.0], {"a": ([1.0], [1.0], [1.0])}),
     TypeError, "errors['a']"),
    ("pair steps zero", lambda: plot_step_size_tradeoff([1.0], {"a": ([0.0], [1.0])}),
     ValueError, "errors['a'][0]"),
    ("pair lengths differ", lambda: plot_step_size_tradeoff([1.0], {"a": ([1.0, 2.0], [1.0])}),
     ValueError, "errors['a']"),
    ("pair errors negative", lambda: plot_step_size_tradeoff([1.0], {"a": ([1.0], [-1.0])}),
     ValueError, "errors['a']"),
    ("rounding a number", lambda: plot_step_size_tradeoff([1.0], {"a": [1.0]}, rounding=1e-16),
     TypeError, "rounding"),
    ("rounding zero", lambda: plot_step_size_tradeoff([1.0], {"a": [1.0]}, rounding={"x": 0.0}),
     ValueError, "rounding['x']"),
    ("rounding label", lambda: plot_step_size_tradeoff([1.0], {"a": [1.0]}, rounding={1: 1e-7}),
     TypeError, "rounding"),
    ("title not str", lambda: plot_step_size_tradeoff([1.0], {"a": [1.0]}, title=3), TypeError,
     "title"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "call", "error", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_named_errors(
    case: str, call: Callable[[], object], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value), (case, str(info.value))
