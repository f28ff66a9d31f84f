"""bpcourse.plots.plot_decision_boundary: the two regions of a binary classifier (lesson 02)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet

from bpcourse.plots import figure_to_png, plot_decision_boundary

X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.2, 0.9]])
y = np.array([0, 1, 0, 1, 1])  # the last point is on the wrong side of x1 = 0.5


def by_first_feature(points: np.ndarray) -> np.ndarray:
    return points[:, 0] - 0.5


def test_regions_boundary_points_and_accuracy() -> None:
    calls: list[int] = []

    def score(points: np.ndarray) -> np.ndarray:
        calls.append(len(points))
        return by_first_feature(points)

    fig = plot_decision_boundary(score, X, y, resolution=20)
    ax = fig.axes[0]
    assert calls == [400, 5]  # the grid once, the data once
    assert ax.get_title() == "accuracy 80%"
    contours = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    assert len(contours) == 2  # the shaded regions and the boundary line
    (boundary,) = [c for c in contours if list(c.levels) == [0.0]]
    xs = np.concatenate([p.vertices[:, 0] for p in boundary.get_paths()])
    np.testing.assert_allclose(xs, 0.5, atol=1e-9)  # the line where the score is 0
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(d.get_offsets()) for d in dots) == len(X)
    assert figure_to_png(fig).startswith(b"\x89PNG")


def test_a_score_without_a_sign_change_draws_no_boundary() -> None:
    fig = plot_decision_boundary(lambda p: np.ones(len(p)), X, y, title="all class 1")
    ax = fig.axes[0]
    assert ax.get_title() == "all class 1"
    assert len([c for c in ax.get_children() if isinstance(c, ContourSet)]) == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((None, X, y), {}, TypeError, "score: expected a function"),
        ((by_first_feature, X[:, :1], y), {}, ValueError, r"X: expected shape \(N, 2\)"),
        ((by_first_feature, X, y + 1), {}, ValueError, "y: expected 5 labels in"),
        ((by_first_feature, X, y), {"resolution": 2}, ValueError, "resolution"),
        ((lambda p: p, X, y), {}, ValueError, "score: expected 2500 scores"),
    ],
)
def test_bad_input(args, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        plot_decision_boundary(*args, **kwargs)
