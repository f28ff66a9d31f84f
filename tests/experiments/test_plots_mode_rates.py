"""bpcourse.plots.plot_mode_rates: one curve per optimizer setting, its slowest rate named."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse.dynamics import mode_rate, optimal_settings
from bpcourse.plots import figure_to_png, plot_mode_rates


def test_curves_and_slowest_rates() -> None:
    hb = optimal_settings(1.0, 50.0)
    fig = plot_mode_rates(1.0, 50.0, [("plain", 0.038, 0.0), ("heavy ball", hb.lr, hb.momentum)])
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    assert len(curves) == 2
    lam, rate = curves[1].get_data()
    np.testing.assert_allclose(rate, mode_rate(lam, hb.lr, hb.momentum))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["plain: slowest 0.962", f"heavy ball: slowest {hb.rate:.3f}"]
    assert ax.get_xscale() == "log"
    assert figure_to_png(fig).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((1.0, 50.0, []), ValueError, "settings: expected a non-empty list"),
        ((1.0, 50.0, [("a", 0.1)]), ValueError, "settings"),
        ((5.0, 1.0, [("a", 0.1, 0.0)]), ValueError, "lambda_max"),
        ((1.0, 50.0, [("a", -0.1, 0.0)]), ValueError, "lr"),
    ],
)
def test_bad_input(args, error, match) -> None:
    with pytest.raises(error, match=match):
        plot_mode_rates(*args)


def test_slowest_rate_includes_the_band_ends() -> None:
    """At lr 0.05, mu 0.6 the flattest direction (curvature 1) is the slowest, at 0.800."""
    fig = plot_mode_rates(1.0, 50.0, [("lesson 04's run", 0.05, 0.6)])
    (label,) = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert (
        label
        == f"lesson 04's run: slowest {mode_rate(1.0, 0.05, 0.6):.3f}"
        == ("lesson 04's run: slowest 0.800")
    )
