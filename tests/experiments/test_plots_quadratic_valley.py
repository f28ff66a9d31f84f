"""The 2-D gradient-descent picture of lesson 04 shows the narrow valley it talks about."""

from __future__ import annotations

import numpy as np
from matplotlib.contour import ContourSet

from bpcourse.dynamics import quadratic_descent_2d
from bpcourse.plots import plot_quadratic_descent


def test_valley_drawn_with_equal_axes_and_closed_level_sets() -> None:
    curvatures = (1.0, 50.0)
    path = quadratic_descent_2d(curvatures, 0.038, steps=40)
    ax = plot_quadratic_descent(path, curvatures, lr=0.038).axes[0]
    assert ax.get_aspect() == 1.0  # one unit of x1 as long as one unit of x2
    (contours,) = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    half = ax.get_xlim()[1]
    # some level sets close inside the window: ellipses with semi-axes sqrt(2 f / c_i)
    closed = [f for f in contours.levels if np.sqrt(2 * f / curvatures[0]) < half]
    assert len(closed) >= 5
    # the level sets reach from the valley floor to the window's corners
    assert contours.levels.max() >= 0.5 * sum(curvatures) * half**2 * 0.9
