"""The catalogue of wrong arguments to bpcourse.nn and bpcourse.gradcheck.

Each case calls a public function with one bad argument and checks the exception type and
that the message names the argument (``"name: ..."``), says what was expected and what came.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import gradcheck, nn

from error_catalogue import cases, check_error_case

NAN = float("nan")
INF = float("inf")

X_OK = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])  # (N, n_in) = (2, 3)
Y2 = np.array([[1.0, 0.0], [0.0, 1.0]])  # targets for 2 outputs
LABELS = np.array([0, 1])


def net(*sizes, **kwargs):
    return nn.MLP(list(sizes) if sizes else [3, 4, 2], **kwargs)


def with_nan(a, index=(0, 0), value=NAN):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def square(x):
    return float(np.sum(x**2))


CASES = [
    # --- MLP construction ---
    ("layers: one size", lambda: nn.MLP([3]), ValueError, "layer_sizes"),
    ("layers: empty", lambda: nn.MLP([]), ValueError, "layer_sizes"),
    ("layers: zero width", lambda: nn.MLP([3, 0, 1]), ValueError, "layer_sizes[1]"),
    ("layers: negative", lambda: nn.MLP([3, -2]), ValueError, "layer_sizes[1]"),
    ("layers: float", lambda: nn.MLP([3, 2.5]), TypeError, "layer_sizes[1]"),
    ("layers: bool", lambda: nn.MLP([True, 2]), TypeError, "layer_sizes[0]"),
    ("layers: string", lambda: nn.MLP("32"), TypeError, "layer_sizes"),
    ("layers: int", lambda: nn.MLP(3), TypeError, "layer_sizes"),
    ("activation: unknown", lambda: net(activation="softplus"), ValueError, "activation"),
    ("activation: wrong case", lambda: net(activation="ReLU"), ValueError, "activation"),
    ("activation: not str", lambda: net(activation=None), TypeError, "activation"),
    ("output: unknown", lambda: net(output_activation="softmax"), ValueError, "output_activation"),
    ("init: unknown", lambda: net(init="glorot"), ValueError, "init"),
    ("seed: negative", lambda: net(seed=-1), ValueError, "seed"),
    ("seed: float", lambda: net(seed=1.5), TypeError, "seed"),
    ("seed: string", lambda: net(seed="0"), TypeError, "seed"),
    # --- inputs X ---
    ("X: wrong n_in", lambda: net().forward(np.ones((2, 4))), ValueError, "X"),
    ("X: 1-D", lambda: net().forward(np.ones(3)), ValueError, "X"),
    ("X: 3-D", lambda: net().forward(np.ones((2, 3, 1))), ValueError, "X"),
    ("X: no rows", lambda: net().forward(np.ones((0, 3))), ValueError, "X"),
    ("X: NaN", lambda: net().forward(with_nan(X_OK)), ValueError, "X"),
    ("X: inf", lambda: net().forward(with_nan(X_OK, value=INF)), ValueError, "X"),
    ("X: string", lambda: net().forward("abc"), TypeError, "X"),
    ("X: ragged", lambda: net().forward([[1, 2, 3], [1]]), TypeError, "X"),
    ("X: NaN in training", lambda: net().loss_and_gradients(with_nan(X_OK), Y2), ValueError, "X"),
    (
        "X: inf in training",
        lambda: net().loss_and_gradients(with_nan(X_OK, value=-INF), Y2),
        ValueError,
        "X",
    ),
    (
        "X: NaN in training, wide input",
        lambda: net(3, 2, 2).loss_and_gradients(with_nan(X_OK, (1, 2)), Y2),
        ValueError,
        "X",
    ),
    (
        "X: inf in training, no hidden layer",
        lambda: net(3, 2).loss_and_gradients(with_nan(X_OK, value=INF), Y2),
        ValueError,
        "X",
    ),
    (
        "X: NaN in training, cross-entropy",
        lambda: net().loss_and_gradients(with_nan(X_OK), LABELS, "softmax_cross_entropy"),
        ValueError,
        "X",
    ),
    ("X: wrong n_in in backprop", lambda: net().backprop(np.ones((2, 2)), Y2), ValueError, "X"),
    # --- targets y, MSE ---
    ("y: (N,) for 2 outputs", lambda: net().loss_and_gradients(X_OK, [1.0, 2.0]), ValueError, "y"),
    ("y: (N, 1) for 2 outputs", lambda: net().loss(X_OK, np.ones((2, 1))), ValueError, "y"),
    ("y: wrong N", lambda: net().loss_and_gradients(X_OK, np.ones((3, 2))), ValueError, "y"),
    ("y: transposed", lambda: net(3, 4, 1).loss(X_OK, np.ones((1, 2))), ValueError, "y"),
    ("y: (N,) wrong N", lambda: net(3, 4, 1).loss(X_OK, np.ones(3)), ValueError, "y"),
    ("y: NaN", lambda: net().loss_and_gradients(X_OK, with_nan(Y2)), ValueError, "y"),
    ("y: inf", lambda: net().backprop(X_OK, with_nan(Y2, value=-INF)), ValueError, "y"),
    # the training step reads y's finiteness from the loss value: still a y error
    (
        "y: inf in training",
        lambda: net().loss_and_gradients(X_OK, with_nan(Y2, value=INF)),
        ValueError,
        "y",
    ),
    (
        "y: NaN, (N,) in training",
        lambda: net(3, 4, 1).loss_and_gradients(X_OK, with_nan([1.0, 2.0], index=1)),
        ValueError,
        "y",
    ),
    (
        "y: NaN, wide input",
        lambda: net(3, 2, 2).loss_and_gradients(X_OK, with_nan(Y2)),
        ValueError,
        "y",
    ),
    # (before any product with it: 0 * inf would warn first; ReLU units give such zeros)
    (
        "y: inf in training, ReLU, X = 0",
        lambda: net(activation="relu").loss_and_gradients(
            np.zeros((2, 3)), with_nan(Y2, value=INF)
        ),
        ValueError,
        "y",
    ),
    (
        "y: NaN in training, ReLU",
        lambda: net(activation="relu").loss_and_gradients(X_OK, with_nan(Y2, (1, 1))),
        ValueError,
        "y",
    ),
    ("y: complex", lambda: net().loss(X_OK, Y2 + 1j), TypeError, "y"),
    # --- targets y, cross-entropy ---
    (
        "labels: out of range",
        lambda: net().loss(X_OK, [0, 2], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "labels: negative",
        lambda: net().loss_and_gradients(X_OK, [-1, 0], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "labels: non-integer",
        lambda: net().loss(X_OK, [0.5, 1.0], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    ("labels: one-hot", lambda: net().loss(X_OK, Y2, "softmax_cross_entropy"), ValueError, "y"),
    (
        "labels: wrong N",
        lambda: net().loss(X_OK, [0, 1, 1], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "labels: NaN",
        lambda: net().loss(X_OK, [0.0, NAN], "softmax_cross_entropy"),
        ValueError,
        "y",
    ),
    (
        "labels: bool",
        lambda: net().loss(X_OK, [True, False], "softmax_cross_entropy"),
        TypeError,
        "y",
    ),
    (
        "labels: strings",
        lambda: net().loss(X_OK, ["a", "b"], "softmax_cross_entropy"),
        TypeError,
        "y",
    ),
    ("labels: None", lambda: net().loss(X_OK, None, "softmax_cross_entropy"), TypeError, "y"),
    # --- loss names ---
    ("loss: unknown", lambda: net().loss(X_OK, Y2, "cross_entropy"), ValueError, "loss"),
    (
        "loss: unknown in training",
        lambda: net().loss_and_gradients(X_OK, Y2, "l1"),
        ValueError,
        "loss",
    ),
    ("loss: unknown in backprop", lambda: net().backprop(X_OK, Y2, "MSE"), ValueError, "loss"),
    # --- loss functions ---
    ("mse: (N,) vs (N, 2)", lambda: nn.mse(Y2, [1.0, 2.0]), ValueError, "y"),
    ("mse: (N, 1) vs (N,)", lambda: nn.mse([1.0, 2.0], [[1.0], [2.0]]), ValueError, "y"),
    ("mse: y_hat 3-D", lambda: nn.mse(np.ones((2, 2, 1)), np.ones((2, 2, 1))), ValueError, "y_hat"),
    ("mse: y_hat NaN", lambda: nn.mse(with_nan(Y2), Y2), ValueError, "y_hat"),
    ("mse_grad: shapes", lambda: nn.mse_grad(Y2, np.ones((2, 3))), ValueError, "y"),
    ("softmax: 3-D", lambda: nn.softmax(np.ones((2, 2, 2))), ValueError, "Z"),
    ("softmax: inf", lambda: nn.softmax([[INF, 0.0]]), ValueError, "Z"),
    ("xent: logits 1-D", lambda: nn.softmax_cross_entropy([1.0, 2.0], [0]), ValueError, "logits"),
    (
        "xent: logits empty",
        lambda: nn.softmax_cross_entropy(np.ones((0, 2)), []),
        ValueError,
        "logits",
    ),
    ("xent: label range", lambda: nn.softmax_cross_entropy(Y2, [0, 2]), ValueError, "y"),
    (
        "xent grad: labels shape",
        lambda: nn.softmax_cross_entropy_grad(Y2, [[0], [1]]),
        ValueError,
        "y",
    ),
    # --- activations and init ---
    ("activate: unknown", lambda: nn.activate("gelu", [1.0]), ValueError, "name"),
    ("activate: NaN", lambda: nn.activate("tanh", [NAN]), ValueError, "Z"),
    ("derivative: unknown", lambda: nn.activation_derivative("swish", [1.0]), ValueError, "name"),
    (
        "derivative: A shape",
        lambda: nn.activation_derivative("tanh", [1.0, 2.0], [0.5]),
        ValueError,
        "A",
    ),
    ("init_weights: unknown", lambda: nn.init_weights("kaiming", 2, 2, 0), ValueError, "init"),
    ("init_weights: n_in 0", lambda: nn.init_weights("he", 0, 2, 0), ValueError, "n_in"),
    ("init_weights: n_out float", lambda: nn.init_weights("he", 2, 2.0, 0), TypeError, "n_out"),
    ("init_weights: rng", lambda: nn.init_weights("he", 2, 2, "seed"), TypeError, "rng"),
    # --- dense layers ---
    (
        "dense_forward: X",
        lambda: nn.dense_forward(np.ones((2, 4)), np.ones((3, 2)), np.ones(2)),
        ValueError,
        "X",
    ),
    (
        "dense_forward: b",
        lambda: nn.dense_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3)),
        ValueError,
        "b",
    ),
    (
        "dense_forward: b 2-D",
        lambda: nn.dense_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones((1, 2))),
        ValueError,
        "b",
    ),
    (
        "dense_forward: W 1-D",
        lambda: nn.dense_forward(np.ones((2, 3)), np.ones(3), np.ones(1)),
        ValueError,
        "W",
    ),
    (
        "dense_backward: dZ",
        lambda: nn.dense_backward(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 2))),
        ValueError,
        "dZ",
    ),
    (
        "dense_backward: dZ rows",
        lambda: nn.dense_backward(np.ones((4, 2)), np.ones((2, 3)), np.ones((3, 2))),
        ValueError,
        "dZ",
    ),
    (
        "dense_backward: X",
        lambda: nn.dense_backward(np.ones((2, 2)), np.ones((2, 5)), np.ones((3, 2))),
        ValueError,
        "X",
    ),
    # --- gradcheck ---
    (
        "relative_error: shapes",
        lambda: gradcheck.relative_error(np.ones(3), np.ones((3, 1))),
        ValueError,
        "b",
    ),
    ("relative_error: NaN", lambda: gradcheck.relative_error([NAN], [1.0]), ValueError, "a"),
    ("relative_error: string", lambda: gradcheck.relative_error("1", 1.0), TypeError, "a"),
    ("numerical: h = 0", lambda: gradcheck.numerical_gradient(square, [1.0], h=0), ValueError, "h"),
    (
        "numerical: h < 0",
        lambda: gradcheck.numerical_gradient(square, [1.0], h=-1e-5),
        ValueError,
        "h",
    ),
    (
        "numerical: h NaN",
        lambda: gradcheck.numerical_gradient(square, [1.0], h=NAN),
        ValueError,
        "h",
    ),
    (
        "numerical: h string",
        lambda: gradcheck.numerical_gradient(square, [1.0], h="small"),
        TypeError,
        "h",
    ),
    ("numerical: f", lambda: gradcheck.numerical_gradient(3.0, [1.0]), TypeError, "f"),
    (
        "numerical: f array",
        lambda: gradcheck.numerical_gradient(lambda x: x, [1.0, 2.0]),
        ValueError,
        "f",
    ),
    ("numerical: x NaN", lambda: gradcheck.numerical_gradient(square, [NAN]), ValueError, "x"),
    (
        "numerical: x inf array",
        lambda: gradcheck.numerical_gradient(square, np.array([INF])),
        ValueError,
        "x",
    ),
    (
        "complex: h = 0",
        lambda: gradcheck.complex_step_gradient(square, [1.0], h=0.0),
        ValueError,
        "h",
    ),
    (
        "complex: not analytic",
        lambda: gradcheck.complex_step_gradient(lambda x: float(np.abs(x).sum()), [1.0]),
        TypeError,
        "f",
    ),
    ("complex: x", lambda: gradcheck.complex_step_gradient(square, [[INF]]), ValueError, "x"),
    (
        "check: method",
        lambda: gradcheck.check_model_gradients(net(), X_OK, Y2, method="forward"),
        ValueError,
        "method",
    ),
    ("check: h", lambda: gradcheck.check_model_gradients(net(), X_OK, Y2, h=-1.0), ValueError, "h"),
    ("check: model", lambda: gradcheck.check_model_gradients(None, X_OK, Y2), TypeError, "model"),
    ("check: X", lambda: gradcheck.check_model_gradients(net(), X_OK[:, :2], Y2), ValueError, "X"),
    (
        "check: y (N,) vs (N,1)",
        lambda: gradcheck.check_model_gradients(net(3, 2, 2), X_OK, [1.0, 2.0]),
        ValueError,
        "y",
    ),
    (
        "check: loss",
        lambda: gradcheck.check_model_gradients(net(), X_OK, Y2, loss="hinge"),
        ValueError,
        "loss",
    ),
    ("kinks: h", lambda: gradcheck.kinks_within([np.ones(2)], 0.0), ValueError, "h"),
    (
        "kinks: Z_list array",
        lambda: gradcheck.kinks_within(np.ones((2, 2)), 1e-5),
        TypeError,
        "Z_list",
    ),
    (
        "kinks: Z_list[1]",
        lambda: gradcheck.kinks_within([np.ones(2), "z"], 1e-5),
        TypeError,
        "Z_list[1]",
    ),
    (
        "sweep: steps empty",
        lambda: gradcheck.step_size_sweep(square, [1.0], [2.0], []),
        ValueError,
        "steps",
    ),
    (
        "sweep: steps <= 0",
        lambda: gradcheck.step_size_sweep(square, [1.0], [2.0], [1e-3, 0.0]),
        ValueError,
        "steps",
    ),
    (
        "sweep: grad_true",
        lambda: gradcheck.step_size_sweep(square, [1.0], [2.0, 1.0], [1e-3]),
        ValueError,
        "grad_true",
    ),
    (
        "sweep: method",
        lambda: gradcheck.step_size_sweep(square, [1.0], [2.0], [1e-3], method="backward"),
        ValueError,
        "method",
    ),
    (
        "sweep: dtype",
        lambda: gradcheck.step_size_sweep(square, [1.0], [2.0], [1e-3], dtype=np.int64),
        ValueError,
        "dtype",
    ),
    (
        "sweep: complex float32",
        lambda: gradcheck.step_size_sweep(
            square, [1.0], [2.0], [1e-3], method="complex_step", dtype=np.float32
        ),
        ValueError,
        "dtype",
    ),
]


@pytest.mark.parametrize(("label", "call", "error", "argument"), cases(CASES))
def test_bad_argument_is_rejected_with_a_clear_message(label, call, error, argument):
    check_error_case(label, call, error, argument, how="argument")


def test_result_ok_rejects_a_bad_tolerance():
    result = gradcheck.check_model_gradients(net(), X_OK, Y2)
    with pytest.raises(ValueError, match="tol:"):
        result.ok(-1.0)
    with pytest.raises(TypeError, match="tol:"):
        result.ok("1e-6")


def test_messages_list_the_options_and_show_the_shapes():
    with pytest.raises(ValueError) as info:
        net(activation="softplus")
    for name in nn.ACTIVATIONS:
        assert name in str(info.value)
    with pytest.raises(ValueError) as info:
        net().loss_and_gradients(X_OK, [1.0, 2.0])
    assert "(2, 2)" in str(info.value) and "(2,)" in str(info.value)
    with pytest.raises(ValueError) as info:
        net().forward(np.ones((2, 4)))
    assert "(N, 3)" in str(info.value) and "(2, 4)" in str(info.value)
