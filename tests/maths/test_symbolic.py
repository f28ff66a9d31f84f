"""Tests of bpcourse.symbolic, part 1: activations, the chain rule and tiny networks."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from bpcourse import nn
from bpcourse.symbolic import (
    ACTIVATIONS,
    LEAKY_RELU_SLOPE,
    LOSSES,
    ChainRuleReport,
    Composition,
    activate,
    chain_rule_factors,
    chain_rule_paths,
    compare_with_mlp,
    compose,
    confirm_chain_rule,
    evaluate,
    lambdify_float,
    mlp_loss_expression,
    neuron_loss,
    simplify_difference,
    symbolic_mlp_gradients,
)

z, w, x, b, t = sympy.symbols("z w x b t")


# --- activations and losses -----------------------------------------------------------------


def test_registries_cover_the_course_names():
    assert set(ACTIVATIONS) == set(nn.ACTIVATIONS)
    assert set(nn.LOSSES) <= set(LOSSES)
    assert float(LEAKY_RELU_SLOPE) == nn.LEAKY_RELU_SLOPE


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_values_and_derivatives_match_nn(name):
    Z = np.array([-1.7, -0.3, 0.4, 2.2])
    f = lambdify_float(activate(name, z), [z])
    df = lambdify_float(sympy.diff(activate(name, z), z), [z])
    np.testing.assert_allclose(f(Z), nn.activate(name, Z), rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(df(Z), nn.activation_derivative(name, Z), rtol=1e-15, atol=1e-16)


def test_relu_derivative_at_the_kink_is_zero():
    assert evaluate(sympy.diff(activate("relu", z), z), {z: 0.0}) == 0.0
    assert evaluate(sympy.diff(activate("leaky_relu", z), z), {z: 0.0}) == pytest.approx(0.01)


def test_sigmoid_is_written_with_exp_of_minus_z():
    assert activate("sigmoid", z) == 1 / (1 + sympy.exp(-z))
    assert evaluate(activate("sigmoid", z), {z: 0}) == 0.5


def test_losses_for_one_sample():
    a1, a2, t1 = sympy.symbols("a1 a2 t1")
    assert LOSSES["mse"].value([[a1]], [[t1]]) == (a1 - t1) ** 2
    sce = LOSSES["softmax_cross_entropy"].value([[a1, a2]], [[1, 0]])
    want = sympy.log(sympy.exp(a1) + sympy.exp(a2)) - a1
    assert sympy.simplify(sce - want) == 0
    bce = LOSSES["binary_cross_entropy"].value([[a1]], [[t1]])
    assert evaluate(bce, {a1: 0.25, t1: 1.0}) == pytest.approx(-np.log(0.25))


def test_losses_agree_with_nn_on_a_batch():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 2))
    labels = np.array([1, 0, 1])
    targets = rng.normal(size=(3, 2))
    Z = sympy.Matrix(3, 2, lambda i, j: sympy.Symbol(f"z{i}{j}"))
    rows = Z.tolist()
    values = dict(zip(Z, logits.ravel()))
    sce = LOSSES["softmax_cross_entropy"].value(rows, np.eye(2)[labels].tolist())
    assert evaluate(sce, values) == pytest.approx(
        nn.softmax_cross_entropy(logits, labels), rel=1e-14
    )
    mse = LOSSES["mse"].value(rows, targets.tolist())
    assert evaluate(mse, values) == pytest.approx(nn.mse(logits, targets), rel=1e-14)


# --- numeric helpers ------------------------------------------------------------------------


def test_lambdify_float_returns_float64_and_broadcasts_constants():
    f = lambdify_float([w * x, sympy.Integer(3)], [w, x])
    out = f(np.array([1, 2, 3]), 2)
    assert out.dtype == np.float64
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[2, 4, 6], [3, 3, 3]])
    single = lambdify_float(w * x, [w, x])(2.0, 3.0)
    assert single.shape == () and single.dtype == np.float64 and float(single) == 6.0


def test_evaluate_ignores_extra_values():
    assert evaluate(w * x + 1, {w: 2, x: 3, b: 7}) == 7.0


# --- compositions and the chain rule --------------------------------------------------------


def test_neuron_loss_stages_and_inputs():
    c = neuron_loss("sigmoid", "mse")
    a, z_, L = sympy.symbols("a z L")
    assert c.intermediates == (z_, a, L)
    assert c.inputs == (b, t, w, x)
    assert c.definition(z_) == w * x + b
    assert c.definition(L) == (a - t) ** 2
    assert c.expression() == (1 / (1 + sympy.exp(-(w * x + b))) - t) ** 2
    assert "a = 1/(1 + exp(-z))" in str(c)


def test_neuron_loss_value_is_right():
    f = neuron_loss("sigmoid", "mse").lambdify()
    got = float(f(0.5, 0.2, -1.0, 2.0))  # b, t, w, x
    a = 1 / (1 + np.exp(-(-1.0 * 2.0 + 0.5)))
    assert got == pytest.approx((a - 0.2) ** 2, rel=1e-15)


def test_neuron_layer_names_use_subscripts_only_where_needed():
    c = neuron_loss("tanh", "softmax_cross_entropy", n_inputs=2, n_outputs=2)
    names = {s.name for s in c.inputs}
    assert names == {"w_11", "w_12", "w_21", "w_22", "x_1", "x_2", "b_1", "b_2", "t_1", "t_2"}
    assert {s.name for s in neuron_loss(n_inputs=3).inputs} == {
        "w_1",
        "w_2",
        "w_3",
        "x_1",
        "x_2",
        "x_3",
        "b",
        "t",
    }


def test_chain_rule_factors_of_the_sigmoid_neuron():
    c = neuron_loss("sigmoid", "mse")
    a, z_ = sympy.symbols("a z")
    factors = chain_rule_factors(c, w)
    assert [f.label for f in factors] == ["dL/da", "da/dz", "dz/dw"]
    assert sympy.simplify(factors[0].local - 2 * (a - t)) == 0
    sig = 1 / (1 + sympy.exp(-z_))
    assert sympy.simplify(factors[1].local - sig * (1 - sig)) == 0
    assert factors[2].local == x
    # .value is written in the inputs only
    assert all(f.value.free_symbols <= {w, x, b, t} for f in factors)
    assert str(factors[2]) == "dz/dw = x"


NEURON_CASES = [(act, "mse", 1) for act in ACTIVATIONS]
NEURON_CASES += [("sigmoid", "binary_cross_entropy", 1)]
NEURON_CASES += [(act, "softmax_cross_entropy", 2) for act in ACTIVATIONS]


@pytest.mark.parametrize(("activation", "loss", "n_outputs"), NEURON_CASES)
def test_product_of_factors_equals_diff(activation, loss, n_outputs):
    c = neuron_loss(activation, loss, n_outputs=n_outputs)
    wrt = sympy.Symbol("w") if n_outputs == 1 else sympy.Symbol("w_2")
    report = confirm_chain_rule(c, wrt, n_points=8, seed=1)
    assert isinstance(report, ChainRuleReport)
    assert report.symbolic_equal is True
    assert report.max_error < 1e-12
    assert report.ok
    assert len(report.paths) == 1 and len(report.paths[0]) == 3


def test_bias_factor_is_one():
    factors = chain_rule_factors(neuron_loss("tanh"), b)
    assert factors[-1].label == "dz/db" and factors[-1].local == 1
    assert confirm_chain_rule(neuron_loss("tanh"), b).ok


def test_derivative_with_respect_to_a_stage_symbol():
    c = neuron_loss("sigmoid")
    report = confirm_chain_rule(c, sympy.Symbol("z"))
    assert [f.label for f in report.paths[0]] == ["dL/da", "da/dz"]
    assert report.ok


def test_sum_over_paths_when_a_variable_fans_out():
    u, v, y = sympy.symbols("u v y")
    # L = u * sin(u) with u = x*y: x reaches L through u directly and through v = sin(u).
    c = compose(("u", x * y), ("v", sympy.sin(u)), ("L", u * v))
    paths = chain_rule_paths(c, x)
    assert sorted(" ".join(f.label for f in p) for p in paths) == [
        "dL/du du/dx",
        "dL/dv dv/du du/dx",
    ]
    with pytest.raises(ValueError, match="exactly one path"):
        chain_rule_factors(c, x)
    report = confirm_chain_rule(c, x)
    assert report.ok and report.symbolic_equal
    assert "agree" in str(report)


def test_a_wrong_derivative_is_caught():
    # A report built by hand from a wrong product: the checks must say "disagree".
    c = neuron_loss("sigmoid")
    right = confirm_chain_rule(c, w, simplify=False)
    wrong = ChainRuleReport(
        wrt=w,
        paths=right.paths,
        chain_rule=right.chain_rule / 2,
        direct=right.direct,
        difference=sympy.simplify(right.chain_rule / 2 - right.direct),
        max_error=1.0,
        n_points=5,
        tol=1e-9,
    )
    assert not wrong.ok
    assert "DISAGREE" in str(wrong)
    assert right.symbolic_equal is None and right.ok


def test_simplify_difference_settles_hyperbolic_forms_that_simplify_leaves_open():
    """The tanh neuron's dL/dw written with sech**2 (a right answer of lesson 01): plain
    ``simplify`` of its difference from ``sympy.diff`` does not come out as 0, the helper's
    form in exponentials does."""
    neuron = neuron_loss("tanh", "mse")
    with_sech = sympy.expand(2 * (sympy.tanh(w * x + b) - t) * sympy.sech(w * x + b) ** 2 * x)
    direct = sympy.diff(neuron.expression(), w)
    assert sympy.simplify(with_sech - direct) != 0
    assert simplify_difference(with_sech, direct) == 0
    assert simplify_difference(sympy.sech(z) ** 2, 1 - sympy.tanh(z) ** 2) == 0
    assert simplify_difference(sympy.sin(2 * x), 2 * sympy.sin(x) * sympy.cos(x)) == 0
    assert simplify_difference(1 / (1 + sympy.exp(-z)), sympy.exp(z) / (1 + sympy.exp(z))) == 0
    assert simplify_difference(3, 3.0) == 0 and simplify_difference(x, x) == 0


def test_simplify_difference_of_unequal_forms_is_simplify_in_the_original_functions():
    wrong = sympy.cos(w * x)  # d/dw sin(w x) without the inner factor x
    right = sympy.diff(sympy.sin(w * x), w)
    got = simplify_difference(wrong, right)
    assert got != 0
    assert got == sympy.simplify(wrong - right)  # no exponentials in what the learner sees
    assert not got.has(sympy.exp)
    half = simplify_difference(1 - sympy.tanh(z), 1 - sympy.tanh(z) ** 2)
    assert half != 0 and half.has(sympy.tanh)


def test_composition_without_a_path_to_the_variable():
    c = compose(("u", 2 * x), ("L", t * 3))
    assert chain_rule_paths(c, x) == []
    report = confirm_chain_rule(c, x)
    assert report.chain_rule == 0 and report.ok


def test_compose_accepts_symbols_and_strings():
    L = sympy.Symbol("L")
    c = compose((z, w * x), ("L", z**2))
    assert isinstance(c, Composition)
    assert c.output == L
    assert c.expression() == (w * x) ** 2


# --- tiny networks in closed form -----------------------------------------------------------


def test_mlp_expression_symbols_are_shaped_like_the_mlp():
    e = mlp_loss_expression((2, 3, 1), "tanh", "identity", "mse", n_samples=2)
    model = nn.MLP((2, 3, 1))
    assert [W.shape for W in e.weights] == [W.shape for W in model.weights]
    assert [c.shape for c in e.biases] == [c.shape for c in model.biases]
    assert e.X.shape == (2, 2) and e.Y.shape == (2, 1) and e.outputs.shape == (2, 1)
    assert str(e.weights[0][0, 1]) == "W1_12" and str(e.biases[1][0]) == "b2_1"
    assert str(e.X[1, 0]) == "x_21" and str(e.Y[1, 0]) == "y_21"
    params = e.parameters()
    assert len(params) == sum(p.size for p in model.parameters())
    assert params[:3] == [e.weights[0][0, 0], e.weights[0][0, 1], e.weights[0][0, 2]]
    assert e.loss_expr.free_symbols == set(params) | set(e.data_symbols())


def test_mlp_expression_with_many_units_uses_commas():
    e = mlp_loss_expression((1, 11, 1), n_samples=1)
    assert str(e.weights[0][0, 10]) == "W1_1,11"


@pytest.mark.parametrize(
    ("sizes", "activation", "output_activation", "loss"),
    [
        ((2, 3, 1), "tanh", "identity", "mse"),
        ((2, 2, 3), "sigmoid", "identity", "softmax_cross_entropy"),
        ((1, 2, 2, 1), "relu", "sigmoid", "mse"),
        ((2, 2, 2), "leaky_relu", "tanh", "mse"),
    ],
)
def test_symbolic_mlp_loss_value_matches_nn(sizes, activation, output_activation, loss):
    rng = np.random.default_rng(7)
    model = nn.MLP(sizes, activation, output_activation, seed=2)
    for c in model.biases:
        c[:] = rng.normal(size=c.shape)
    X = rng.normal(size=(3, sizes[0]))
    if loss == "mse":
        y, Y = rng.normal(size=(3, sizes[-1])), None
    else:
        y = np.array([0, 2, 1])
        Y = np.eye(sizes[-1])[y]
    e = mlp_loss_expression(sizes, activation, output_activation, loss, n_samples=3)
    values = [p.ravel() for p in model.parameters()]
    flat = np.concatenate([*values, X.ravel(), (y if Y is None else Y).ravel()])
    got = float(lambdify_float(e.loss_expr, e.parameters() + e.data_symbols())(*flat))
    assert got == pytest.approx(model.loss(X, y, loss=loss), rel=1e-13)


@pytest.mark.parametrize(
    ("sizes", "activation", "output_activation", "loss", "method"),
    [
        ((2, 3, 1), "tanh", "identity", "mse", "diff"),
        ((2, 2, 2), "sigmoid", "identity", "softmax_cross_entropy", "diff"),
        ((2, 3, 2), "relu", "identity", "mse", "reverse"),
        ((1, 2, 2, 1), "leaky_relu", "sigmoid", "mse", "reverse"),
        ((2, 3, 3), "tanh", "identity", "softmax_cross_entropy", "reverse"),
        ((3, 2, 1), "identity", "tanh", "mse", "reverse"),
    ],
)
def test_symbolic_gradient_matches_mlp_backprop(sizes, activation, output_activation, loss, method):
    rng = np.random.default_rng(11)
    model = nn.MLP(sizes, activation, output_activation, seed=5)
    for c in model.biases:
        c[:] = rng.normal(size=c.shape)
    X = rng.normal(size=(4, sizes[0]))
    y = rng.normal(size=(4, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], size=4)
    assert compare_with_mlp(model, X, y, loss, method=method) < 1e-12


def test_symbolic_mlp_gradients_shapes_and_methods_agree():
    rng = np.random.default_rng(0)
    model = nn.MLP((2, 2, 1), "tanh", "identity", seed=3)
    X, y = rng.normal(size=(3, 2)), rng.normal(size=3)  # (N,) targets with one output
    dW, db = symbolic_mlp_gradients(model, X, y)
    dW_r, db_r = symbolic_mlp_gradients(model, X, y, method="reverse")
    assert [g.shape for g in dW] == [W.shape for W in model.weights]
    assert [g.shape for g in db] == [c.shape for c in model.biases]
    assert all(g.dtype == np.float64 for g in dW + db)
    for a, c in zip(dW + db, dW_r + db_r):
        np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-15)
    _, dW_num, db_num = model.loss_and_gradients(X, y)
    for a, c in zip(dW + db, dW_num + db_num):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-15)


def test_compare_with_mlp_sees_a_wrong_backward_pass():
    class HalfGradients(nn.MLP):
        def loss_and_gradients(self, X, y, loss="mse"):
            value, dW, db = super().loss_and_gradients(X, y, loss=loss)
            return value, [g / 2 for g in dW], db

    rng = np.random.default_rng(1)
    model = HalfGradients((2, 2, 1), seed=0)
    error = compare_with_mlp(
        model, rng.normal(size=(2, 2)), rng.normal(size=(2, 1)), method="reverse"
    )
    assert error == pytest.approx(0.5)
