"""Tests of bpcourse.engine: every gradient checked against SymPy and central differences."""

from __future__ import annotations

import copy
import math
import pickle
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import given, reject
from hypothesis import strategies as st

from bpcourse.engine import (
    Value,
    backward_naive_recursive,
    format_number,
    graph,
    topological_order,
)

# ---------------------------------------------------------------------------- helpers


def sympy_sigmoid(e: Any) -> Any:
    return 1 / (1 + sympy.exp(-e))


def sympy_gradient(expr: Any, symbols: list[Any], point: list[float]) -> list[float]:
    """d expr / d s for each symbol, evaluated at ``point`` with 30 significant digits."""
    subs = dict(zip(symbols, point))
    return [float(sympy.diff(expr, s).evalf(30, subs=subs)) for s in symbols]


def central_difference(f: Callable[[list[float]], float], point: list[float], h: float = 1e-6):
    grads = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads


def engine_gradient(f: Callable[..., Value], point: list[float]) -> tuple[float, list[float]]:
    xs = [Value(p) for p in point]
    out = f(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


def close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel * 1e-3)


# ------------------------------------------------- catalogue: one entry per operation form
# (name, engine function of Values, SymPy function of symbols, point). The same lambda often
# serves both, because Value and SymPy expressions share the arithmetic operators.

OPS: list[tuple[str, Callable[..., Any], Callable[..., Any], list[float]]] = [
    ("a + b", lambda a, b: a + b, lambda a, b: a + b, [0.7, -1.3]),
    ("a - b", lambda a, b: a - b, lambda a, b: a - b, [0.7, -1.3]),
    ("a * b", lambda a, b: a * b, lambda a, b: a * b, [0.7, -1.3]),
    ("a / b", lambda a, b: a / b, lambda a, b: a / b, [0.7, -1.3]),
    ("-a", lambda a: -a, lambda a: -a, [0.7]),
    ("a + 2", lambda a: a + 2, lambda a: a + 2, [0.7]),
    ("2 + a", lambda a: 2 + a, lambda a: 2 + a, [0.7]),
    ("a - 2", lambda a: a - 2, lambda a: a - 2, [0.7]),
    ("2 - a", lambda a: 2 - a, lambda a: 2 - a, [0.7]),
    ("a * 3", lambda a: a * 3, lambda a: a * 3, [0.7]),
    ("3 * a", lambda a: 3 * a, lambda a: 3 * a, [0.7]),
    ("a / 4", lambda a: a / 4, lambda a: a / 4, [0.7]),
    ("4 / a", lambda a: 4 / a, lambda a: 4 / a, [0.7]),
    ("a ** 2", lambda a: a**2, lambda a: a**2, [-0.7]),
    ("a ** 3", lambda a: a**3, lambda a: a**3, [-0.7]),
    ("a ** -1", lambda a: a**-1, lambda a: a**-1, [-0.7]),
    ("a ** 0.5", lambda a: a**0.5, lambda a: a ** sympy.Rational(1, 2), [0.7]),
    ("a ** -2.5", lambda a: a**-2.5, lambda a: a ** sympy.Rational(-5, 2), [1.7]),
    ("a ** 0", lambda a: a**0, lambda a: a**0, [1.7]),
    ("tanh", lambda a: a.tanh(), sympy.tanh, [0.4]),
    ("tanh negative", lambda a: a.tanh(), sympy.tanh, [-1.9]),
    ("sigmoid", lambda a: a.sigmoid(), sympy_sigmoid, [0.4]),
    ("sigmoid negative", lambda a: a.sigmoid(), sympy_sigmoid, [-3.1]),
    ("relu positive", lambda a: a.relu(), lambda a: sympy.Max(0, a), [0.4]),
    ("relu negative", lambda a: a.relu(), lambda a: sympy.Max(0, a), [-0.4]),
    ("exp", lambda a: a.exp(), sympy.exp, [-0.8]),
    ("log", lambda a: a.log(), sympy.log, [2.5]),
    (
        "neuron",
        lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(),
        lambda x1, x2, w1, w2, b: sympy.tanh(x1 * w1 + x2 * w2 + b),
        [2.0, 0.0, -3.0, 1.0, 6.8813735870195432],
    ),
]
OP_IDS = [case[0] for case in OPS]


@pytest.mark.parametrize(("name", "f", "f_sym", "point"), OPS, ids=OP_IDS)
def test_gradient_matches_sympy(name, f, f_sym, point):
    symbols = list(sympy.symbols(f"s0:{len(point)}"))
    expr = f_sym(*symbols)
    data, grads = engine_gradient(f, point)
    assert close(data, float(expr.evalf(30, subs=dict(zip(symbols, point)))), 1e-13)
    for got, want in zip(grads, sympy_gradient(expr, symbols, point)):
        assert close(got, want, 1e-12), (name, got, want)


@pytest.mark.parametrize(("name", "f", "f_sym", "point"), OPS, ids=OP_IDS)
def test_gradient_matches_central_differences(name, f, f_sym, point):
    _, grads = engine_gradient(f, point)
    numeric = central_difference(lambda p: f(*[Value(v) for v in p]).data, point)
    for got, want in zip(grads, numeric):
        assert close(got, want, 1e-7), (name, got, want)


def test_neuron_gradient_values():
    """The classic neuron: o = tanh(x1 w1 + x2 w2 + b) with o = 0.7071 and do/dn = 0.5."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert b.grad == pytest.approx(0.5, rel=1e-12)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0))


# --------------------------------------------------------------- random expression trees

N_VARS = 3
CONSTANTS = st.sampled_from([-2.5, -1.0, -0.5, 0.5, 1.5, 3.0])
UNARY = ["neg", "tanh", "sigmoid", "relu", "exp", "log", "square", "cube", "sqrt", "rsqrt"]
BINARY = ["+", "-", "*", "/"]
WITH_CONSTANT = ["c+", "+c", "c-", "-c", "c*", "*c", "c/", "/c"]


def expression_trees() -> st.SearchStrategy[tuple]:
    """Random trees of operations over variables 0..2 and constants, at most 16 leaves."""
    leaves = st.one_of(
        st.tuples(st.just("var"), st.integers(0, N_VARS - 1)),
        st.tuples(st.just("const"), CONSTANTS),
    )

    def extend(children: st.SearchStrategy[tuple]) -> st.SearchStrategy[tuple]:
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), children),
            st.tuples(st.sampled_from(BINARY), children, children),
            st.tuples(st.sampled_from(WITH_CONSTANT), CONSTANTS, children),
        )

    return st.recursive(leaves, extend, max_leaves=16)


class EngineFunctions:
    """Functions of Value nodes that reject examples outside a safe domain (no domain errors)."""

    @staticmethod
    def const(c: float) -> Value:
        return Value(c)

    @staticmethod
    def tanh(e: Value) -> Value:
        return e.tanh()

    @staticmethod
    def sigmoid(e: Value) -> Value:
        return e.sigmoid()

    @staticmethod
    def relu(e: Value) -> Value:
        if abs(e.data) < 1e-6:  # the kink: the one-sided derivatives differ
            reject()
        return e.relu()

    @staticmethod
    def exp(e: Value) -> Value:
        if e.data > 30:
            reject()
        return e.exp()

    @staticmethod
    def log(e: Value) -> Value:
        return e.log()


class SympyFunctions:
    const = staticmethod(sympy.Float)
    tanh = staticmethod(sympy.tanh)
    sigmoid = staticmethod(sympy_sigmoid)
    exp = staticmethod(sympy.exp)
    log = staticmethod(sympy.log)

    @staticmethod
    def relu(e: Any) -> Any:
        return sympy.Max(0, e)


def build(tree: tuple, xs: list[Any], fns: Any) -> Any:
    """Evaluate ``tree`` on ``xs``: Value nodes with EngineFunctions, SymPy with SympyFunctions.

    Operations whose domain is restricted get a safe argument: ``log(e**2 + 1)``,
    ``l / (r**2 + 1)``, ``(e**2 + 1) ** 0.5``.
    """
    kind = tree[0]
    if kind == "var":
        return xs[tree[1]]
    if kind == "const":
        return fns.const(tree[1])
    if kind in BINARY:
        left, right = build(tree[1], xs, fns), build(tree[2], xs, fns)
        if kind == "+":
            return left + right
        if kind == "-":
            return left - right
        if kind == "*":
            return left * right
        return left / (right * right + 1)
    if kind in WITH_CONSTANT:
        c, e = tree[1], build(tree[2], xs, fns)
        table = {
            "c+": lambda: c + e,
            "+c": lambda: e + c,
            "c-": lambda: c - e,
            "-c": lambda: e - c,
            "c*": lambda: c * e,
            "*c": lambda: e * c,
            "c/": lambda: c / (e * e + 1),
            "/c": lambda: e / c,
        }
        return table[kind]()
    e = build(tree[1], xs, fns)
    unary = {
        "neg": lambda: -e,
        "square": lambda: e**2,
        "cube": lambda: e**3,
        "sqrt": lambda: (e * e + 1) ** 0.5,
        "rsqrt": lambda: (e * e + 1) ** -0.5,
        "log": lambda: fns.log(e * e + 1),
    }
    if kind in unary:
        return unary[kind]()
    return getattr(fns, kind)(e)


@given(
    tree=expression_trees(),
    point=st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=N_VARS, max_size=N_VARS),
)
def test_random_expressions_match_sympy(tree, point):
    xs = [Value(p) for p in point]
    out = build(tree, xs, EngineFunctions)
    if abs(out.data) > 1e8:
        reject()
    out.backward()
    symbols = list(sympy.symbols(f"x0:{N_VARS}"))
    expr = build(tree, symbols, SympyFunctions)
    subs = dict(zip(symbols, point))
    assert close(out.data, float(sympy.sympify(expr).evalf(30, subs=subs)), 1e-9)
    for x, s in zip(xs, symbols):
        want = float(sympy.diff(expr, s).evalf(30, subs=subs))
        # Relative error 1e-9, measured against max(1, |gradient|).
        assert abs(x.grad - want) <= 1e-9 * max(1.0, abs(want)), (tree, point, x.grad, want)


# -------------------------------------------------------------- reused nodes and fan-out


def test_reused_node_twice_gives_four():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_square_by_self_multiplication():
    a = Value(-1.5)
    (a * a).backward()
    assert a.grad == -3.0


def test_fan_out_sums_over_paths():
    """x feeds four paths; its gradient is the sum of the four contributions."""
    x, y = Value(0.3), Value(-0.8)
    f = x * y + x.tanh() + x**2 + (x * 2).sigmoid()
    f.backward()
    s = sympy.Symbol("x")
    expr = s * -0.8 + sympy.tanh(s) + s**2 + sympy_sigmoid(2 * s)
    assert close(x.grad, float(sympy.diff(expr, s).evalf(30, subs={s: 0.3})), 1e-12)
    assert close(y.grad, 0.3, 1e-15)


def test_diamond():
    a = Value(1.25)
    b, c = a * 2, a * 3
    d = b * c  # 6 a**2
    d.backward()
    assert d.data == pytest.approx(6 * 1.25**2)
    assert a.grad == pytest.approx(12 * 1.25, rel=1e-15)


def test_unused_variable_gets_zero_gradient():
    a, b = Value(1.0), Value(2.0)
    c = a * 3
    b.grad = 5.0
    c.backward()
    assert b.grad == 5.0  # not part of the graph, left alone
    assert a.grad == 3.0


def test_backward_handles_a_node_with_three_operands():
    """Every operation has one or two operands; the general step covers any other count."""
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    # a hand-made node s = a + b * c with its local derivatives (1, c, b)
    s = Value(a.data + b.data * c.data, "s", (a, b, c), "a+b*c", (1.0, c.data, b.data))
    (s * s).backward()
    assert (a.grad, b.grad, c.grad) == (2 * s.data, 2 * s.data * 3.0, 2 * s.data * 2.0)


def test_backward_twice_gives_same_gradients():
    a, b = Value(0.5), Value(-1.5)
    out = (a * b + a.exp()).tanh() * a
    out.backward()
    first = (a.grad, b.grad, out.grad)
    out.backward()
    assert (a.grad, b.grad, out.grad) == first


def test_backward_of_intermediate_node_starts_afresh():
    a = Value(2.0)
    b = a * a
    c = b * 3
    c.backward()
    assert a.grad == 12.0
    b.backward()
    assert (a.grad, b.grad) == (4.0, 1.0)


def test_long_chain_is_iterative_and_fast():
    """A chain of 100 000 nodes: no RecursionError, a few seconds at most."""
    start = time.perf_counter()
    x = Value(0.25)
    v = x
    for _ in range(100_000 - 1):
        v = v.relu()
    v.backward()
    elapsed = time.perf_counter() - start
    assert len(topological_order(v)) == 100_000
    assert x.grad == 1.0
    assert elapsed < 10.0, f"100 000-node chain took {elapsed:.1f} s"


def test_sums_and_products_show_operands_and_local_derivatives_as_tuples():
    """+ and * store their operands in fields; _prev and _local still read as tuples."""
    a, b = Value(2.0), Value(-3.0)
    s, p, q = a + b, a * b, a + a
    assert (s._prev, s._op, s._local) == ((a, b), "+", (1.0, 1.0))
    assert (p._prev, p._op, p._local) == ((a, b), "*", (-3.0, 2.0))
    assert q._prev[0] is a and q._prev[1] is a
    c = p * 4
    assert c._prev[0] is p and c._prev[1].data == 4.0 and c._prev[1]._prev == ()
    assert [(n._prev, n._local) for n in c._prev] == [((a, b), (-3.0, 2.0)), ((), ())]


def test_a_number_operand_is_a_leaf_with_the_gradient_it_would_have_had():
    """a * 3 keeps the 3 in the node; its leaf, made when _prev is read, is a full node."""
    a = Value(2.0)
    for make in (lambda: (a * 3.0) * a, lambda: (3 * a) * a, lambda: (a + 3) * a):
        out = make()
        node = out._prev[0]
        out.backward()  # before the leaf exists
        leaf = node._prev[1]
        assert leaf.data == 3.0 and leaf._prev == () and node._prev[1] is leaf
        assert node._local == (node._local[0], leaf.grad / node.grad)
        eager = Value(3.0)
        again = (a * eager if node._op == "*" else a + eager) * a
        again.backward()
        assert leaf.grad == eager.grad
        out.backward()  # after: the leaf is now updated like any node, not counted twice
        assert leaf.grad == eager.grad
        assert leaf in topological_order(out) and (leaf, node) in graph(out)[1]


def test_number_operands_give_the_same_gradients_as_leaves():
    """Every way of writing a number into a formula, against the same formula with leaves."""
    x = Value(0.7)
    k = [Value(v) for v in (2.0, 3.0, 0.5, 4.0, 1.5)]
    with_numbers = ((x * 2.0 + 3) * x - 0.5) / 4.0 + 1.5 - x - (2 - x) * (-x)
    with_leaves = ((x * k[0] + k[1]) * x - k[2]) / k[3] + k[4] - x - (k[0] - x) * (-x)
    with_numbers.backward()
    g = x.grad
    with_leaves.backward()
    assert with_numbers.data == pytest.approx(with_leaves.data, rel=1e-15)
    assert g == pytest.approx(x.grad, rel=1e-15)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_graph_can_be_copied_and_pickled(how):
    """Every kind of node survives copy.deepcopy and pickle; the copy is a separate graph."""
    x = Value(0.4, label="x")
    y = x * x + 2.0  # _Binary, _WithConstant
    custom = Value(y.data * 3, "", (y,), "triple", (3.0,))
    asked = x * 5.0
    _ = asked._prev  # a constant leaf already made
    root = (custom.tanh() * asked - 1.0) * x
    root.backward()
    copied = copy.deepcopy(root) if how == "deepcopy" else pickle.loads(pickle.dumps(root))
    before = [(n.data, n.grad, n._op, n.label, n._local) for n in topological_order(root)]
    after = [(n.data, n.grad, n._op, n.label, n._local) for n in topological_order(copied)]
    assert after == before
    x_copy = next(n for n in topological_order(copied) if n.label == "x")
    x_copy.data = 0.5
    copied.backward()
    assert x.grad == before[[b[3] for b in before].index("x")][1]  # the original is untouched
    assert x_copy is not x and copied._prev[1] is x_copy


def test_a_learners_node_works_in_backward_like_a_built_in_one():
    """The node of the softplus exercise, made with Value(...), mixed with + and *."""
    x = Value(0.3)
    y = x * x
    sp = Value(math.log1p(math.exp(y.data)), "", (y,), "softplus", (1 / (1 + math.exp(-y.data)),))
    out = sp * x + sp
    out.backward()
    d_sp = x.data + 1.0
    want = d_sp * sp._local[0] * 2 * x.data + sp.data
    assert x.grad == pytest.approx(want, rel=1e-14)
    assert sp.grad == d_sp and out.grad == 1.0
    out.backward()
    assert x.grad == pytest.approx(want, rel=1e-14)


def test_backward_leaves_other_graphs_alone_when_they_share_nodes():
    a, b = Value(1.5), Value(-0.5)
    shared = a * b
    other = shared + a  # not part of root's graph
    root = (shared * shared).tanh()
    other.grad, b.grad = 7.0, 0.0
    root.backward()
    assert other.grad == 7.0
    assert a.grad == pytest.approx((1 - root.data**2) * 2 * shared.data * b.data)
    assert b.grad == pytest.approx((1 - root.data**2) * 2 * shared.data * a.data)


def test_backward_on_a_deep_chain_of_sums_and_products():
    """100 000 nodes of + and * (half of them constants): no recursion, exact gradient."""
    x = Value(1.0)
    v = x
    for _ in range(25_000):
        v = v * 1.0 + 0.0
    v.backward()
    assert len(topological_order(v)) == 100_001
    assert x.grad == 1.0


def test_topological_order_puts_operands_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = (d * c).tanh() + b
    order = topological_order(e)
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order)  # each node once
    assert order[-1] is e
    for node in order:
        for operand in node._prev:
            assert position[id(operand)] < position[id(node)]


def test_graph_lists_nodes_and_one_edge_per_operand():
    a = Value(1.0, "a")
    b = a + a
    c = b * 2
    nodes, edges = graph(c)
    assert nodes[-1] is c
    assert {id(n) for n in nodes} == {id(a), id(b), id(c), id(c._prev[1])}
    assert sum(1 for u, v in edges if u is a and v is b) == 2
    assert len(edges) == 4


# ------------------------------------------------------------------- numerical behaviour


@pytest.mark.parametrize("x", [1000.0, -1000.0, 710.0, -710.0, 1e300, -1e300])
def test_tanh_and_sigmoid_never_overflow(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t, s = Value(x).tanh(), Value(x).sigmoid()
        t.backward()
        s.backward()
    assert t.data == math.copysign(1.0, x)
    assert s.data == pytest.approx(1.0 if x > 0 else 0.0, abs=1e-300)
    assert t._prev[0].grad == 0.0
    assert s._prev[0].grad == pytest.approx(0.0, abs=1e-300)


def test_exp_at_the_edge_and_beyond():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Value(709.0).exp().data == math.exp(709.0)
        assert Value(-1000.0).exp().data == 0.0
    with pytest.raises(OverflowError, match=r"exp\(710\.0\) overflows float64"):
        Value(710.0).exp()


def test_sigmoid_is_accurate_in_both_tails():
    assert Value(-40.0).sigmoid().data == pytest.approx(math.exp(-40.0), rel=1e-14)
    assert Value(40.0).sigmoid().data == 1.0


def test_relu_kink_has_zero_derivative():
    a = Value(0.0)
    a.relu().backward()
    assert a.grad == 0.0


def test_sqrt_at_zero_has_infinite_derivative():
    a = Value(0.0)
    r = a**0.5
    r.backward()
    assert r.data == 0.0
    assert a.grad == math.inf


def test_numpy_scalars_mix_with_values():
    a = Value(np.float32(1.5))
    assert type(a.data) is float
    out = np.float64(2.0) * a + np.int64(1)
    assert isinstance(out, Value)
    out.backward()
    assert (out.data, a.grad) == (4.0, 2.0)


def test_integer_data_is_stored_as_float():
    assert type(Value(3).data) is float


# ----------------------------------------------------------------------------------- repr


def test_repr_is_readable():
    o = Value(1.0, label="x").tanh()
    o.label = "o"
    o.grad = 0.42
    assert repr(o) == "Value(data=0.7616, grad=0.4200, op='tanh', label='o')"
    assert repr(Value(2)) == "Value(data=2.0000, grad=0.0000)"
    assert repr(Value(-3.0) ** 2).endswith("op='**2')")
    assert repr(Value(2.0) ** 0.5).endswith("op='**0.5')")


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "0.0000"),
        (0.5, "0.5000"),
        (-12.25, "-12.2500"),
        (1e-7, "1.0000e-07"),
        (3e8, "3.0000e+08"),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_values_are_slotted():
    with pytest.raises(AttributeError):
        Value(1.0).color = "red"  # type: ignore[attr-defined]


# ---------------------------------------------------- the deliberately wrong naive recursion


def test_naive_recursion_is_wrong_on_reused_nodes():
    a = Value(3.0)
    b = a + a
    c = b + b
    backward_naive_recursive(c)
    assert a.grad == 8.0  # b is processed twice, each time passing its full gradient 2 twice
    c.backward()
    assert a.grad == 4.0


def test_naive_recursion_is_wrong_on_diamond():
    a = Value(1.0)
    b = a * 2
    d = b * b + b  # b used three times
    backward_naive_recursive(d)
    naive = a.grad
    d.backward()
    assert naive != pytest.approx(a.grad)


def test_naive_recursion_is_right_on_a_tree():
    x, w, b = Value(0.5), Value(-1.2), Value(0.3)
    out = (x * w + b).tanh()
    backward_naive_recursive(out)
    naive = (x.grad, w.grad, b.grad)
    out.backward()
    assert naive == (x.grad, w.grad, b.grad)


def test_naive_recursion_fails_on_long_chain():
    v = Value(1.0)
    for _ in range(sys.getrecursionlimit() + 100):
        v = v.relu()
    with pytest.raises(RecursionError, match="recursion limit"):
        backward_naive_recursive(v)
    v.backward()  # the real one copes


# ------------------------------------------------------------------------ against PyTorch


def test_matches_pytorch():
    torch = pytest.importorskip("torch")

    def f(a, b, c, tanh, sigmoid, relu, exp, log):
        u = a * b + b**3 - c / a
        v = tanh(u) * sigmoid(2.0 - c) + relu(a - 0.1) * exp(b / 4)
        return log(v * v + 1) + (1 / (u**2 + 1)) ** 0.5 - 3 * v

    point = [0.8, -1.3, 0.45]
    xs = [Value(p) for p in point]
    out = f(*xs, Value.tanh, Value.sigmoid, Value.relu, Value.exp, Value.log)
    out.backward()
    ts = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
    ref = f(*ts, torch.tanh, torch.sigmoid, torch.relu, torch.exp, torch.log)
    ref.backward()
    assert close(out.data, ref.item(), 1e-13)
    for x, t in zip(xs, ts):
        assert close(x.grad, t.grad.item(), 1e-12)
