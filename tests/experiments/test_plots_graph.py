"""Tests of the computational-graph drawing, bpcourse.plots.draw_graph (lesson 02)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

from bpcourse.engine import Value, format_number, topological_order
from bpcourse.plots import draw_graph, figure_to_png


def neuron() -> Value:
    """o = tanh(x1 w1 + x2 w2 + b), labelled, after backward."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def texts(fig: Figure) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_neuron_shows_labels_data_and_grads():
    o = neuron()
    fig = draw_graph(o)
    assert isinstance(fig, Figure)
    shown = texts(fig)
    nodes = topological_order(o)
    for node in nodes:
        assert f"data {format_number(node.data)}" in shown
        assert f"grad {format_number(node.grad)}" in shown
        assert node.label in shown
    assert "data 0.7071" in shown and "grad -1.5000" in shown
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(boxes) == len(nodes) == 10
    assert len(circles) == sum(1 for n in nodes if n._prev) == 5
    assert {"tanh", "×", "+"} <= {t.get_text() for t in ax.texts}
    assert figure_to_png(fig).startswith(b"\x89PNG")


def test_left_to_right_layers():
    o = neuron()
    ax = draw_graph(o, rankdir="LR").axes[0]
    x_of = {t.get_text(): t.get_position()[0] for t in ax.texts}
    assert x_of["x1"] < x_of["n"] < x_of["o"]
    assert x_of["x1"] == x_of["w1"]  # inputs of one product share a rank


def test_top_to_bottom_without_grads():
    o = neuron()
    fig = draw_graph(o, show_grad=False, rankdir="TB")
    shown = texts(fig)
    assert "grad" not in shown
    assert "data 0.7071" in shown
    y_of = {t.get_text(): t.get_position()[1] for t in fig.axes[0].texts}
    assert y_of["x1"] > y_of["n"] > y_of["o"]


def test_reused_node_gets_one_arrow_per_use():
    a = Value(3.0, "a")
    b = a + a
    c = b + b
    c.backward()
    fig = draw_graph(c)
    shown = texts(fig)
    assert "grad 4.0000" in shown  # dc/da
    # 2 arrows into each "+" from its operand used twice, 1 from each "+" into its result
    assert len(fig.axes[0].patches) - 5 == 6


def test_draws_on_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    out = draw_graph(neuron(), ax=ax)
    assert out is fig
    assert len(ax.texts) > 10


def test_draws_on_a_subfigure():
    fig = Figure()
    ax = fig.subfigures(1, 2)[1].add_subplot()
    assert draw_graph(neuron(), ax=ax) is fig


def test_unlabelled_graph_with_constants_and_long_edges():
    x = Value(0.5)
    y = ((x * 2).exp() + x) / (x**2 + 1) - x.sigmoid()  # x feeds ranks far apart
    y.backward()
    fig = draw_graph(y)
    shown = texts(fig)
    for node in topological_order(y):
        assert f"data {format_number(node.data)}" in shown
    # the long edges from x are routed with straight segments past the ranks they skip
    assert len(fig.axes[0].lines) > 0
    assert figure_to_png(fig).startswith(b"\x89PNG")


def test_single_node():
    fig = draw_graph(Value(1.5, "x"))
    assert "data 1.5000" in texts(fig)


def test_graph_of_thirty_nodes_is_drawn_with_a_sensible_size():
    rng = np.random.default_rng(0)
    xs = [Value(float(v), f"x{i}") for i, v in enumerate(rng.normal(size=2))]
    hidden = []
    for j in range(3):
        act = Value(0.1, f"b{j}")
        for i, x in enumerate(xs):
            act = act + Value(float(rng.normal()), f"w{i}{j}") * x
        hidden.append(act.tanh())
    loss = (hidden[0] + hidden[1] + hidden[2] - 1.0) ** 2
    loss.backward()
    assert 25 <= len(topological_order(loss)) <= 35
    fig = draw_graph(loss)
    width, height = fig.get_size_inches()
    assert width < 25 and height < 12


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"root": 1.0}, TypeError, "root: expected a bpcourse.engine.Value"),
        ({"rankdir": "RL"}, ValueError, "rankdir"),
        ({"rankdir": None}, TypeError, "rankdir"),
        ({"show_grad": "yes"}, TypeError, "show_grad"),
        ({"ax": "axes"}, TypeError, "ax: expected a matplotlib Axes"),
        ({"max_nodes": 0}, ValueError, "max_nodes"),
        ({"max_nodes": 5}, ValueError, "more than max_nodes=5"),
    ],
    ids=["root", "rankdir unknown", "rankdir None", "show_grad", "ax", "max_nodes 0", "too big"],
)
def test_bad_arguments(kwargs, error, message):
    args = {"root": neuron(), **kwargs}
    with pytest.raises(error, match=message):
        draw_graph(**args)
