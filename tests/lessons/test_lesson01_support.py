"""The figures of lesson 01 and the numerical facts its text states."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sympy
from matplotlib.figure import Figure

from bpcourse.plots import plot_activation_derivatives, plot_difference_quotient_errors
from bpcourse.symbolic import activate, lambdify_float

H = np.logspace(-16, -1, 61)
X0 = 1.0


def _errors() -> dict[str, np.ndarray]:
    forward = (np.sin(X0 + H) - np.sin(X0)) / H
    central = (np.sin(X0 + H) - np.sin(X0 - H)) / (2 * H)
    return {"forward": np.abs(forward - np.cos(X0)), "central": np.abs(central - np.cos(X0))}


def _activation_curves(z: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    s = sympy.Symbol("z")
    out = {}
    for name in ("sigmoid", "tanh"):
        f = activate(name, s)
        values, slopes = lambdify_float([f, sympy.diff(f, s)], s)(z)
        out[name] = (values, slopes)
    return out


def test_difference_quotient_figure_has_log_axes_and_one_line_per_curve() -> None:
    fig = plot_difference_quotient_errors(H, _errors())
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["forward", "central"]
    assert any("rounding" in label for label in labels)
    # two curves, a marker at each optimum, the rounding line
    assert len(ax.get_lines()) == 5
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == 2 and all(n.startswith("best h") for n in notes)


def test_difference_quotient_figure_leaves_out_zero_errors_and_rounding_line() -> None:
    err = np.abs(_errors()["central"])
    err[:5] = 0.0
    fig = plot_difference_quotient_errors(H, {"central": err}, show_rounding=False)
    (ax,) = fig.axes
    curve = ax.get_lines()[0]
    assert len(curve.get_xdata()) == H.size - 5
    assert len(ax.get_lines()) == 2


def test_difference_quotient_figure_leaves_out_infinite_and_nan_errors() -> None:
    err = np.abs(_errors()["forward"])
    err[0], err[1] = np.inf, np.nan
    fig = plot_difference_quotient_errors(H, {"forward": err})
    (ax,) = fig.axes
    assert len(ax.get_lines()[0].get_xdata()) == H.size - 2
    assert np.all(np.isfinite(ax.get_lines()[1].get_ydata()))  # the best-step marker


def test_difference_quotient_figure_with_only_zero_errors_draws_no_marker() -> None:
    fig = plot_difference_quotient_errors(H, {"exact": np.zeros_like(H)}, show_rounding=False)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 1 and not ax.texts


def test_activation_figure_has_two_panels_and_the_bounds() -> None:
    z = np.linspace(-6, 6, 121)
    fig = plot_activation_derivatives(z, _activation_curves(z), bounds={"1/4": 0.25, "1": 1})
    assert isinstance(fig, Figure)
    ax_f, ax_df = fig.axes
    assert [ln.get_label() for ln in ax_f.get_lines() if not ln.get_label().startswith("_")] == [
        "sigmoid",
        "tanh",
    ]
    levels = sorted(
        float(ln.get_ydata()[0]) for ln in ax_df.get_lines() if ln.get_linestyle() == "--"
    )
    assert levels == [0.25, 1.0]
    assert sorted(t.get_text() for t in ax_df.texts) == ["1", "1/4"]


# --- the facts the lesson states ------------------------------------------------------------


def test_forward_quotient_is_best_near_the_square_root_of_epsilon() -> None:
    err = _errors()
    best_forward = H[np.argmin(err["forward"])]
    best_central = H[np.argmin(err["central"])]
    assert 1e-9 <= best_forward <= 1e-7
    assert 1e-7 <= best_central <= 1e-4
    assert err["forward"].min() > 1e-11  # never better than about 1e-8 ... 1e-10
    assert err["central"].min() < 1e-10
    # shrinking h to 1e-13 makes both worse than at their best by orders of magnitude
    tiny = np.argmin(np.abs(H - 1e-13))
    assert err["forward"][tiny] > 100 * err["forward"].min()
    assert err["central"][tiny] > 100 * err["central"].min()


def test_sigmoid_slope_is_at_most_a_quarter_and_tanh_slope_at_most_one() -> None:
    z = np.linspace(-20, 20, 4001)
    curves = _activation_curves(z)
    sig, dsig = curves["sigmoid"]
    th, dth = curves["tanh"]
    np.testing.assert_allclose(dsig, sig * (1 - sig), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dth, 1 - th**2, rtol=1e-12, atol=1e-15)
    assert dsig.max() == pytest.approx(0.25, abs=1e-15) and dsig.max() <= 0.25
    assert dth.max() == pytest.approx(1.0, abs=1e-15) and dth.max() <= 1.0


# --- bad arguments --------------------------------------------------------------------------

Z = np.linspace(-1, 1, 5)
PAIR = (np.zeros(5), np.zeros(5))

CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("h 2-D", lambda: plot_difference_quotient_errors(H[:, None], _errors()), ValueError, "h"),
    ("h negative", lambda: plot_difference_quotient_errors(-H, _errors()), ValueError, "h"),
    ("h empty", lambda: plot_difference_quotient_errors([], {"a": []}), ValueError, "h"),
    (
        "h nan",
        lambda: plot_difference_quotient_errors([np.nan, 1.0], {"a": [1, 1]}),
        ValueError,
        "h",
    ),
    ("h string", lambda: plot_difference_quotient_errors("h", {"a": [1]}), TypeError, "h"),
    ("errors list", lambda: plot_difference_quotient_errors(H, [H]), TypeError, "errors"),
    ("errors empty", lambda: plot_difference_quotient_errors(H, {}), ValueError, "errors"),
    ("errors label", lambda: plot_difference_quotient_errors(H, {1: H}), TypeError, "errors"),
    (
        "errors shape",
        lambda: plot_difference_quotient_errors(H, {"a": H[:-1]}),
        ValueError,
        "errors['a']",
    ),
    (
        "errors negative",
        lambda: plot_difference_quotient_errors(H, {"a": -H}),
        ValueError,
        "errors['a']",
    ),
    (
        "ylabel not str",
        lambda: plot_difference_quotient_errors(H, _errors(), ylabel=1),
        TypeError,
        "ylabel",
    ),
    ("z 2-D", lambda: plot_activation_derivatives(Z[:, None], {"s": PAIR}), ValueError, "z"),
    ("z empty", lambda: plot_activation_derivatives([], {"s": ([], [])}), ValueError, "z"),
    ("curves not dict", lambda: plot_activation_derivatives(Z, [PAIR]), TypeError, "curves"),
    ("curves empty", lambda: plot_activation_derivatives(Z, {}), ValueError, "curves"),
    (
        "curve not a pair",
        lambda: plot_activation_derivatives(Z, {"s": np.zeros(5)}),
        TypeError,
        "curves['s']",
    ),
    (
        "curve shape",
        lambda: plot_activation_derivatives(Z, {"s": (np.zeros(5), np.zeros(4))}),
        ValueError,
        "curves['s'][1]",
    ),
    (
        "curve nan",
        lambda: plot_activation_derivatives(Z, {"s": (np.full(5, np.nan), np.zeros(5))}),
        ValueError,
        "curves['s'][0]",
    ),
    (
        "bounds not dict",
        lambda: plot_activation_derivatives(Z, {"s": PAIR}, bounds=[0.25]),
        TypeError,
        "bounds",
    ),
    (
        "bound not a number",
        lambda: plot_activation_derivatives(Z, {"s": PAIR}, bounds={"q": "0.25"}),
        TypeError,
        "bounds['q']",
    ),
    (
        "bound inf",
        lambda: plot_activation_derivatives(Z, {"s": PAIR}, bounds={"q": np.inf}),
        ValueError,
        "bounds['q']",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_arguments_are_named(
    case: str, call: Callable[[], object], error: type[Exception], names: str
) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value).startswith(names), f"{case}: {info.value}"
