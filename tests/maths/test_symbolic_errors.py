"""The error catalogue of bpcourse.symbolic: every bad argument gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from bpcourse import nn
from bpcourse.dynamics import cost_table
from bpcourse.plots import plot_symbolic_cost
from bpcourse.symbolic import (
    activate,
    chain_expression,
    chain_rule_factors,
    chain_weights,
    compare_with_diff,
    compare_with_mlp,
    compose,
    confirm_chain_rule,
    evaluate,
    lambdify_float,
    mlp_loss_expression,
    neuron_loss,
    reverse_mode_gradient,
    simplify_difference,
    symbolic_mlp_gradients,
)

from error_catalogue import cases, check_error_case

x, y, z, w = sympy.symbols("x y z w")
NEURON = neuron_loss()
MODEL = nn.MLP((2, 3, 2), seed=0)
X_OK = np.random.default_rng(0).normal(size=(4, 2))
Y_OK = np.random.default_rng(1).normal(size=(4, 2))
LABELS_OK = np.array([0, 1, 1, 0])


class NotAModel:
    layer_sizes = (2, 1)


class BadShapes:
    def __init__(self):
        self.layer_sizes = (2, 3, 1)
        self.activation = "tanh"
        self.output_activation = "identity"
        self.weights = [np.zeros((3, 2)), np.zeros((3, 1))]
        self.biases = [np.zeros(3), np.zeros(1)]


CASES = [
    # activations by name
    ("activate-unknown", lambda: activate("swish", z), ValueError, "name"),
    ("activate-not-str", lambda: activate(3, z), TypeError, "name"),
    ("activate-string-argument", lambda: activate("relu", "z"), TypeError, "z"),
    # the neuron
    ("neuron-activation", lambda: neuron_loss("swish"), ValueError, "activation"),
    ("neuron-loss", lambda: neuron_loss(loss="hinge"), ValueError, "loss"),
    ("neuron-n_inputs-zero", lambda: neuron_loss(n_inputs=0), ValueError, "n_inputs"),
    ("neuron-n_inputs-float", lambda: neuron_loss(n_inputs=1.5), TypeError, "n_inputs"),
    ("neuron-n_outputs-bool", lambda: neuron_loss(n_outputs=True), TypeError, "n_outputs"),
    (
        "neuron-softmax-one-output",
        lambda: neuron_loss(loss="softmax_cross_entropy"),
        ValueError,
        "n_outputs",
    ),
    ("neuron-bce-tanh", lambda: neuron_loss("tanh", "binary_cross_entropy"), ValueError, "loss"),
    # compositions
    ("compose-empty", lambda: compose(), ValueError, "stages"),
    ("compose-not-a-pair", lambda: compose((z,)), TypeError, r"stages\[0\]"),
    ("compose-bad-name", lambda: compose((3, x)), TypeError, r"stages\[0\]"),
    ("compose-string-expression", lambda: compose(("z", "x + 1")), TypeError, r"stages\[0\]"),
    ("compose-matrix", lambda: compose(("L", sympy.Matrix([x]))), TypeError, r"stages\[0\]"),
    ("compose-repeated-name", lambda: compose(("z", x), ("z", y)), ValueError, "distinct"),
    ("compose-uses-itself", lambda: compose(("z", z + 1)), ValueError, "its own symbol"),
    ("compose-uses-later", lambda: compose(("a", z), ("z", x)), ValueError, "later stage"),
    # chain rule
    ("factors-wrt-string", lambda: chain_rule_factors(NEURON, "w"), TypeError, "wrt"),
    ("factors-wrt-expression", lambda: chain_rule_factors(NEURON, w * x), TypeError, "wrt"),
    ("factors-wrt-unknown", lambda: chain_rule_factors(NEURON, y), ValueError, "wrt"),
    ("factors-not-composition", lambda: chain_rule_factors(x**2, x), TypeError, "composition"),
    ("confirm-n_points", lambda: confirm_chain_rule(NEURON, w, n_points=0), ValueError, "n_points"),
    (
        "confirm-interval",
        lambda: confirm_chain_rule(NEURON, w, low=1.0, high=0.0),
        ValueError,
        "high",
    ),
    ("confirm-nan-low", lambda: confirm_chain_rule(NEURON, w, low=float("nan")), ValueError, "low"),
    ("difference-string-a", lambda: simplify_difference("x", x), TypeError, r"\ba: .*SymPy"),
    ("difference-none-b", lambda: simplify_difference(x, None), TypeError, r"\bb: .*SymPy"),
    (
        "difference-matrix",
        lambda: simplify_difference(sympy.Matrix([x]), x),
        TypeError,
        r"\ba: expected a (scalar )?SymPy expression",
    ),
    # numeric helpers
    ("lambdify-missing-symbol", lambda: lambdify_float(x * y, [x]), ValueError, "symbols"),
    ("lambdify-string-symbol", lambda: lambdify_float(x, ["x"]), TypeError, r"symbols\[0\]"),
    ("lambdify-string-expr", lambda: lambdify_float("x", [x]), TypeError, "exprs"),
    ("lambdify-repeated-symbol", lambda: lambdify_float(x, [x, x]), ValueError, "distinct"),
    ("lambdified-wrong-count", lambda: lambdify_float(x, [x])(1.0, 2.0), TypeError, "values"),
    ("lambdified-nan", lambda: lambdify_float(x, [x])(np.nan), ValueError, "finite"),
    ("evaluate-missing", lambda: evaluate(x * y, {x: 1.0}), ValueError, "values"),
    ("evaluate-nan", lambda: evaluate(x, {x: np.nan}), ValueError, "values"),
    ("evaluate-not-mapping", lambda: evaluate(x, [1.0]), TypeError, "values"),
    ("evaluate-string-value", lambda: evaluate(x, {x: "1"}), TypeError, "values"),
    # tiny networks
    ("mlp-one-size", lambda: mlp_loss_expression((2,)), ValueError, "layer_sizes"),
    ("mlp-zero-size", lambda: mlp_loss_expression((2, 0, 1)), ValueError, r"layer_sizes\[1\]"),
    ("mlp-float-size", lambda: mlp_loss_expression((2, 1.5)), TypeError, r"layer_sizes\[1\]"),
    ("mlp-string-sizes", lambda: mlp_loss_expression("23"), TypeError, "layer_sizes"),
    ("mlp-activation", lambda: mlp_loss_expression((1, 1), "swish"), ValueError, "activation"),
    (
        "mlp-output-activation",
        lambda: mlp_loss_expression((1, 1), output_activation="softmax"),
        ValueError,
        "output_activation",
    ),
    ("mlp-loss", lambda: mlp_loss_expression((1, 1), loss="hinge"), ValueError, "loss"),
    ("mlp-n_samples", lambda: mlp_loss_expression((1, 1), n_samples=0), ValueError, "n_samples"),
    (
        "mlp-softmax-one-output",
        lambda: mlp_loss_expression((2, 1), loss="softmax_cross_entropy"),
        ValueError,
        "layer_sizes",
    ),
    (
        "mlp-bce-identity",
        lambda: mlp_loss_expression((2, 1), loss="binary_cross_entropy"),
        ValueError,
        "loss",
    ),
    (
        "grad-not-a-model",
        lambda: symbolic_mlp_gradients(NotAModel(), X_OK, Y_OK),
        TypeError,
        "model",
    ),
    (
        "grad-model-shapes",
        lambda: symbolic_mlp_gradients(BadShapes(), X_OK, Y_OK),
        ValueError,
        "model",
    ),
    ("grad-X-1d", lambda: symbolic_mlp_gradients(MODEL, X_OK[:, 0], Y_OK), ValueError, "X"),
    ("grad-X-width", lambda: symbolic_mlp_gradients(MODEL, np.ones((4, 3)), Y_OK), ValueError, "X"),
    ("grad-X-empty", lambda: symbolic_mlp_gradients(MODEL, np.ones((0, 2)), Y_OK), ValueError, "X"),
    (
        "grad-X-nan",
        lambda: symbolic_mlp_gradients(MODEL, np.full((4, 2), np.nan), Y_OK),
        ValueError,
        "X",
    ),
    ("grad-y-shape", lambda: symbolic_mlp_gradients(MODEL, X_OK, Y_OK[:, :1]), ValueError, "y"),
    (
        "grad-y-flat-two-outputs",
        lambda: symbolic_mlp_gradients(MODEL, X_OK, Y_OK[:, 0]),
        ValueError,
        "y",
    ),
    (
        "grad-labels-fraction",
        lambda: symbolic_mlp_gradients(MODEL, X_OK, [0, 1.5, 1, 0], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "grad-labels-range",
        lambda: symbolic_mlp_gradients(MODEL, X_OK, [0, 2, 1, 0], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "grad-labels-2d",
        lambda: symbolic_mlp_gradients(MODEL, X_OK, LABELS_OK[:, None], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "grad-loss-not-in-nn",
        lambda: symbolic_mlp_gradients(MODEL, X_OK, Y_OK, "binary_cross_entropy"),
        ValueError,
        "loss",
    ),
    (
        "grad-method",
        lambda: symbolic_mlp_gradients(MODEL, X_OK, Y_OK, method="forward"),
        ValueError,
        "method",
    ),
    ("compare-mlp-y", lambda: compare_with_mlp(MODEL, X_OK, Y_OK[:3]), ValueError, "y"),
    # reverse mode
    ("reverse-string-expr", lambda: reverse_mode_gradient("x**2", [x]), TypeError, "expr"),
    ("reverse-bool-expr", lambda: reverse_mode_gradient(True, [x]), TypeError, "expr"),
    (
        "reverse-matrix-expr",
        lambda: reverse_mode_gradient(sympy.Matrix([x, y]), [x]),
        TypeError,
        "expr",
    ),
    (
        "reverse-matrix-symbol",
        lambda: reverse_mode_gradient(sympy.MatrixSymbol("A", 2, 2), [x]),
        TypeError,
        "expr",
    ),
    ("reverse-wrt-string", lambda: reverse_mode_gradient(x**2, "x"), TypeError, "wrt"),
    ("reverse-wrt-number", lambda: reverse_mode_gradient(x**2, 3), TypeError, "wrt"),
    (
        "reverse-wrt-expression",
        lambda: reverse_mode_gradient(x**2, [x * y]),
        TypeError,
        r"wrt\[0\]",
    ),
    ("reverse-wrt-empty", lambda: reverse_mode_gradient(x**2, []), ValueError, "wrt"),
    ("reverse-wrt-repeated", lambda: reverse_mode_gradient(x**2, [x, x]), ValueError, "wrt"),
    (
        "reverse-derivative-node",
        lambda: reverse_mode_gradient(sympy.Derivative(sympy.Function("f")(x), x), [x]),
        TypeError,
        "Derivative",
    ),
    (
        "reverse-integral-node",
        lambda: reverse_mode_gradient(sympy.Integral(x * y, (y, 0, 1)), [x]),
        TypeError,
        "Integral",
    ),
    (
        "reverse-lambdify-args",
        lambda: reverse_mode_gradient(x * y, [x]).lambdify([x]),
        ValueError,
        "args",
    ),
    ("compare-diff-not-result", lambda: compare_with_diff(x**2), TypeError, "result"),
    (
        "compare-diff-n_points",
        lambda: compare_with_diff(reverse_mode_gradient(x**2, x), n_points=0),
        ValueError,
        "n_points",
    ),
    # the chain and its cost
    ("chain-depth-zero", lambda: chain_expression(0), ValueError, "depth"),
    ("chain-depth-float", lambda: chain_expression(2.0), TypeError, "depth"),
    ("chain-weights-negative", lambda: chain_weights(-1), ValueError, "depth"),
    ("cost-empty", lambda: cost_table([]), ValueError, "depths"),
    ("cost-string-depths", lambda: cost_table("24"), TypeError, "depths"),
    ("cost-depth-zero", lambda: cost_table([0]), ValueError, r"depths\[0\]"),
    ("cost-method", lambda: cost_table([2], methods=["forward"]), ValueError, r"methods\[0\]"),
    ("cost-methods-string", lambda: cost_table([2], methods="reverse"), TypeError, "methods"),
    (
        "cost-max-diff-depth",
        lambda: cost_table([2], max_diff_depth=0),
        ValueError,
        "max_diff_depth",
    ),
    ("cost-repeats", lambda: cost_table([2], repeats=0), ValueError, "repeats"),
    ("plot-not-a-table", lambda: plot_symbolic_cost({}), TypeError, "table"),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), cases(CASES))
def test_error_catalogue(label, call, error, match):
    check_error_case(label, call, error, match, how="regex")
