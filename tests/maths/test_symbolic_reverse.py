"""Tests of bpcourse.symbolic, part 2: symbolic reverse mode and its cost."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from bpcourse import engine, nn
from bpcourse.dynamics import COST_METHODS, CostTable, cost_table
from bpcourse.plots import plot_symbolic_cost
from bpcourse.symbolic import (
    ACTIVATIONS,
    LOSSES,
    SymbolicGradient,
    activate,
    chain_expression,
    chain_weights,
    compare_with_diff,
    count_ops,
    reverse_mode_gradient,
)

x, y, t, u = sympy.symbols("x y t u")


def random_point(symbols, seed=0, low=-1.5, high=1.5):
    rng = np.random.default_rng(seed)
    return {s: float(rng.uniform(low, high)) for s in symbols}


# --- the sigmoid chain ----------------------------------------------------------------------


def test_chain_expression_is_the_documented_loss():
    w1, w2 = chain_weights(2)
    sig = ACTIVATIONS["sigmoid"]
    assert chain_expression(2) == (sig(w2 * sig(w1 * x)) - t) ** 2 / 2
    assert [str(w) for w in chain_weights(3)] == ["w_1", "w_2", "w_3"]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_reverse_mode_equals_diff_by_simplify_on_short_chains(depth):
    result = reverse_mode_gradient(chain_expression(depth), chain_weights(depth))
    comparison = compare_with_diff(result, simplify=True)
    assert comparison.symbolic_equal is True
    assert comparison.ok


def test_reverse_mode_equals_diff_at_random_points_on_a_longer_chain():
    result = reverse_mode_gradient(chain_expression(10), chain_weights(10))
    comparison = compare_with_diff(result, n_points=6, seed=3)
    assert comparison.max_error < 1e-12


def test_the_program_of_a_three_layer_chain():
    result = reverse_mode_gradient(chain_expression(3), chain_weights(3))
    # three forward values (one sigmoid per layer), two shared adjoints, ten ops per layer
    assert [str(s) for s, _ in result.assignments] == ["v0", "v1", "v2", "g0", "g1"]
    v1, g0 = result.assignments[1][0], result.assignments[3][0]
    assert result.assignments[0][1] == 1 / (1 + sympy.exp(-chain_weights(3)[0] * x))
    assert result.gradients[2] == g0 * v1
    assert result.count_ops() == 30
    assert "d/dw_3 = g0*v1" in str(result)


def test_op_count_is_at_most_400_at_depth_32_and_grows_linearly():
    counts = {}
    for depth in (8, 16, 32):
        counts[depth] = reverse_mode_gradient(
            chain_expression(depth), chain_weights(depth)
        ).count_ops()
    assert counts[32] <= 400
    assert counts[32] == 2 * counts[16] == 4 * counts[8]


def test_depth_32_is_fast():
    import time

    start = time.perf_counter()
    result = reverse_mode_gradient(chain_expression(32), chain_weights(32))
    elapsed = time.perf_counter() - start
    assert len(result.gradients) == 32
    assert elapsed < 3.0  # about 0.15 s on the course machine; generous for shared runners


def test_reverse_mode_does_not_recurse_on_deep_expressions():
    # 150 layers nest about 600 levels deep: more than sympy.diff or free_symbols can recurse
    # through under the default limit, no problem for the iterative graph walk.
    result = reverse_mode_gradient(chain_expression(150), chain_weights(150))
    assert result.count_ops() == 1500
    assert len(result.inputs) == 152


def test_chain_gradient_matches_an_mlp_of_width_one():
    depth = 6
    model = nn.MLP((1,) * (depth + 1), activation="sigmoid", output_activation="sigmoid", seed=4)
    X, y_target = np.array([[0.7]]), np.array([[0.2]])
    _, dW, _ = model.loss_and_gradients(X, y_target)
    result = reverse_mode_gradient(chain_expression(depth), chain_weights(depth))
    args = [*chain_weights(depth), sympy.Symbol("x"), sympy.Symbol("t")]
    values = [float(W[0, 0]) for W in model.weights] + [0.7, 0.2]
    got = result.lambdify(args)(*values)
    # nn's mse has no factor 1/2, the chain's loss has: the gradients differ by a factor 2.
    np.testing.assert_allclose(2 * got, [float(g[0, 0]) for g in dW], rtol=1e-13)


def test_chain_gradient_matches_the_scalar_engine():
    depth = 5
    values = random_point(chain_weights(depth), seed=2)
    weights = [engine.Value(values[w]) for w in chain_weights(depth)]
    a = engine.Value(0.3)
    for w in weights:
        a = (w * a).sigmoid()
    loss = (a - 0.9) ** 2 * 0.5
    loss.backward()
    result = reverse_mode_gradient(chain_expression(depth), chain_weights(depth))
    got = result.lambdify([*chain_weights(depth), x, t])(*values.values(), 0.3, 0.9)
    np.testing.assert_allclose(got, [w.grad for w in weights], rtol=1e-12)


# --- the graph walk on other shapes ---------------------------------------------------------


def test_shared_subexpression_is_differentiated_once_with_fan_out():
    e = sympy.exp(x * y)
    expr = e * sympy.sin(e) + e**2  # e feeds three parents
    result = reverse_mode_gradient(expr, [x, y])
    assert compare_with_diff(result, simplify=True).ok
    # exp(x*y) is computed once: it is an assignment, not repeated in the gradients
    values = [rhs for _, rhs in result.assignments]
    assert sympy.exp(x * y) in values
    assert all(not g.has(sympy.exp) for g in result.gradients)


@pytest.mark.parametrize(
    "expr",
    [
        sympy.sin(x * y) + sympy.cos(x) ** 3,
        sympy.log(1 + x**2) * sympy.sqrt(2 + y**2),
        sympy.Max(x, y) * sympy.Min(x, 2 * y),
        x**y + 2**x,
        sympy.atan2(y, x + 3),
        sympy.Function("f")(x * y, x),
        activate("relu", x * y - 0.5) + activate("leaky_relu", x - y),
        sympy.tanh(x) / (1 + sympy.exp(y)),
    ],
    ids=["trig", "log-sqrt", "max-min", "powers", "atan2", "undefined", "relu", "tanh-quotient"],
)
def test_reverse_mode_equals_diff_on_assorted_nodes(expr):
    result = reverse_mode_gradient(expr, [x, y])
    expanded = result.expand()
    direct = [sympy.diff(expr, v) for v in (x, y)]
    if expr.has(sympy.Function("f")):
        # an undefined function: compare the formal derivatives after evaluating them
        assert all(sympy.simplify((a - d).doit()) == 0 for a, d in zip(expanded, direct))
        return
    comparison = compare_with_diff(result, n_points=8, low=0.1, high=1.4)
    assert comparison.ok, comparison


def test_arguments_of_other_functions_are_treated_as_real():
    a, c = sympy.symbols("a c", real=True)
    expr = sympy.Abs(a - 2 * c) * c
    result = reverse_mode_gradient(expr, [a, c])
    assert compare_with_diff(result, simplify=True).ok
    np.testing.assert_allclose(result.lambdify([a, c])(1.0, 1.0), [-1.0, 3.0])


def test_relu_gradient_is_zero_on_the_dead_side():
    result = reverse_mode_gradient(activate("relu", x * y), [x, y])
    f = result.lambdify([x, y])
    np.testing.assert_array_equal(f(-1.0, 2.0), [0.0, 0.0])
    np.testing.assert_array_equal(f(1.0, 2.0), [2.0, 1.0])


def test_degenerate_expressions():
    assert reverse_mode_gradient(x, [x, y]).gradients == (1, 0)
    assert reverse_mode_gradient(sympy.Integer(3), x).gradients == (0,)
    result = reverse_mode_gradient(x**2 + y, [u, x])
    assert result.gradients == (0, 2 * x)
    assert result.assignments == ()


def test_intermediate_names_avoid_the_inputs():
    v0, g0 = sympy.symbols("v0 g0")
    expr = sympy.exp(v0 * g0) ** 2 * sympy.exp(v0 * g0)
    result = reverse_mode_gradient(sympy.sin(expr) + expr, [v0, g0])
    assert not {s.name for s, _ in result.assignments} & {"v0", "g0"}
    assert compare_with_diff(result).ok


def test_lambdify_broadcasts_and_returns_float64():
    result = reverse_mode_gradient(x * y + y, [x, y])
    out = result.lambdify([x, y])(np.array([1.0, 2.0, 3.0]), 2.0)
    assert out.dtype == np.float64 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[2, 2, 2], [2, 3, 4]])


def test_count_ops_counts_assignments_and_gradients():
    result = reverse_mode_gradient(chain_expression(4), chain_weights(4))
    assert isinstance(result, SymbolicGradient)
    parts = [rhs for _, rhs in result.assignments] + list(result.gradients)
    assert result.count_ops() == count_ops(parts) == sum(sympy.count_ops(p) for p in parts)


# --- random compositions of the course's activations and losses -----------------------------


@st.composite
def course_compositions(draw):
    """A random small network of the course: one or two one-unit layers (some with a residual
    connection, so a value fans out), any activation, then one of the losses. (Deeper ones
    are right too, but sympy.diff of them takes seconds.)"""
    depth = draw(st.integers(1, 2))
    h, params = x, []
    for k in range(1, depth + 1):
        w, c = sympy.symbols(f"w_{k} c_{k}")
        params += [w, c]
        new = activate(draw(st.sampled_from(sorted(ACTIVATIONS))), w * h + c)
        h = new + h if draw(st.booleans()) else new
    loss = draw(st.sampled_from(sorted(LOSSES)))
    if loss == "mse":
        value = LOSSES["mse"].value([[h]], [[t]])
    elif loss == "binary_cross_entropy":
        v = sympy.Symbol("v")
        params.append(v)
        value = LOSSES[loss].value([[activate("sigmoid", v * h)]], [[t]])
    else:
        v1, v2 = sympy.symbols("v1 v2")
        params += [v1, v2]
        value = LOSSES[loss].value([[v1 * h, v2 * h + 1]], [[t, 1 - t]])
    return value, params


@settings(max_examples=40)
@given(course_compositions(), st.integers(0, 2**16))
def test_reverse_mode_equals_diff_on_random_course_compositions(composition, seed):
    expr, params = composition
    result = reverse_mode_gradient(expr, params)
    comparison = compare_with_diff(result, n_points=4, seed=seed, low=-1.2, high=1.2)
    assert comparison.ok, (expr, comparison)


@settings(max_examples=20)
@given(st.integers(1, 20))
def test_chain_costs_ten_ops_per_layer(depth):
    result = reverse_mode_gradient(chain_expression(depth), chain_weights(depth))
    assert result.count_ops() == 10 * depth


# --- the cost table and its figure ----------------------------------------------------------


def test_cost_table_small_depths():
    table = cost_table((2, 4), max_diff_depth=2)
    assert isinstance(table, CostTable)
    assert table.methods == COST_METHODS and table.depths == (2, 4)
    assert table.ops["diff"][0] == 70  # the measured swell of sympy.diff at depth 2
    assert table.ops["diff+cse"][0] == table.ops["reverse"][0] == 20
    assert math.isnan(table.ops["diff"][1]) and math.isnan(table.seconds["diff+cse"][1])
    assert table.ops["reverse"][1] == 40 and table.seconds["reverse"][1] > 0
    text = table.format()
    assert "skipped" in text and "reverse ops" in text and str(table) == text


def test_cost_table_one_method():
    table = cost_table([3], methods=["reverse"], repeats=2)
    assert table.methods == ("reverse",) and table.ops == {"reverse": (30.0,)}


def test_plot_symbolic_cost_draws_both_panels():
    table = CostTable(
        depths=(2, 4, 8),
        methods=COST_METHODS,
        ops={"diff": (70, 356, math.nan), "diff+cse": (20, 40, math.nan), "reverse": (20, 40, 80)},
        seconds={
            "diff": (0.02, 0.06, math.nan),
            "diff+cse": (0.03, 0.07, math.nan),
            "reverse": (0.01, 0.02, 0.04),
        },
    )
    fig = plot_symbolic_cost(table)
    assert isinstance(fig, Figure)
    ops_ax, time_ax = fig.axes
    assert ops_ax.get_yscale() == "log" and time_ax.get_yscale() == "log"
    assert [len(line.get_xdata()) for line in ops_ax.get_lines()] == [2, 2, 3]
    assert [text.get_text() for text in ops_ax.get_legend().get_texts()] == [
        "sympy.diff",
        "sympy.diff + cse",
        "reverse mode",
    ]
