"""draw_graph's text stays legible in a notebook: JupyterLab scales an image wider than the
output area down to its width, and the lessons' graphs must still show text of at least 9 px.

The reference width is 650 px, the output area of a notebook in a narrow JupyterLab window
(at which the left-to-right drawing of lesson 02's nine-node graph, 1190 px wide, showed its
8 pt labels at about 6 px).
"""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from bpcourse.engine import Value
from bpcourse.plots import draw_graph
from bpcourse.plots.graph import GRAPH_MAX_WIDTH

NOTEBOOK_WIDTH_PX = 650
MIN_TEXT_PX = 9.0
INLINE_DPI = 100  # what the inline backend renders notebook figures at


def lesson02_loss() -> Value:
    """Lesson 02's first graph: L = (tanh(w x + b) - 1)^2, after backward."""
    x, w, b = Value(2.0, "x"), Value(-0.5, "w"), Value(0.3, "b")
    wx = w * x
    wx.label = "w*x"
    z = wx + b
    z.label = "z"
    y = z.tanh()
    y.label = "y"
    err = y - 1.0
    err.label = "y-1"
    loss = err**2
    loss.label = "L"
    loss.backward()
    return loss


def lesson02_reused() -> Value:
    """b = a + a; c = b + b."""
    a = Value(3.0, "a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    c.backward()
    return c


def neuron() -> Value:
    x1, x2, w1, w2 = Value(2.0, "x1"), Value(0.0, "x2"), Value(-3.0, "w1"), Value(1.0, "w2")
    n = x1 * w1 + x2 * w2 + Value(6.88, "b")
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def smallest_text_px_in_notebook(fig: Figure) -> float:
    """The smallest text height in screen pixels once the notebook has fitted the image."""
    width_px = fig.get_size_inches()[0] * INLINE_DPI
    shrink = min(1.0, NOTEBOOK_WIDTH_PX / width_px)
    sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts]
    return min(sizes) * INLINE_DPI / 72 * shrink


@pytest.mark.parametrize("build", [lesson02_loss, lesson02_reused, neuron])
def test_lesson_graphs_are_legible_at_notebook_width(build) -> None:
    fig = draw_graph(build())
    px = smallest_text_px_in_notebook(fig)
    assert px >= MIN_TEXT_PX, f"{build.__name__}: text {px:.1f} px at {NOTEBOOK_WIDTH_PX} px"


def test_the_left_to_right_drawing_was_the_illegible_one() -> None:
    """The check above can fail: forcing the wide layout gives the ~6 px of the report."""
    fig = draw_graph(lesson02_loss(), rankdir="LR")
    assert fig.get_size_inches()[0] > GRAPH_MAX_WIDTH
    assert smallest_text_px_in_notebook(fig) < 7.0


def test_auto_keeps_small_graphs_left_to_right() -> None:
    fig = draw_graph(lesson02_reused())
    width, height = fig.get_size_inches()
    assert width > height  # still drawn left to right: it fits
    x_of = {t.get_text(): t.get_position()[0] for t in fig.axes[0].texts}
    assert x_of["a"] < x_of["b"] < x_of["c"]


def test_auto_turns_a_wide_graph_top_to_bottom() -> None:
    fig = draw_graph(lesson02_loss())
    y_of = {t.get_text(): t.get_position()[1] for t in fig.axes[0].texts}
    assert y_of["x"] > y_of["z"] > y_of["L"]
    assert fig.get_size_inches()[0] <= GRAPH_MAX_WIDTH


def test_rankdir_error_names_the_choices() -> None:
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(lesson02_reused(), rankdir="RL")
