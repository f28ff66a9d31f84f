"""Unit tests of bpcourse.nn: activations, losses, dense layers and the MLP."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from bpcourse.gradcheck import complex_step_gradient, relative_error
from bpcourse.nn import (
    ACTIVATIONS,
    INITS,
    LEAKY_RELU_SLOPE,
    LOSSES,
    MLP,
    Activation,
    Trace,
    activate,
    activation_derivative,
    dense_backward,
    dense_forward,
    init_weights,
    mse,
    mse_grad,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_grad,
)


@pytest.fixture
def no_warnings():
    """Turn every warning (overflow, invalid value, ...) into an error inside the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def small_problem(n_out: int = 2, N: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, 3))
    y = rng.uniform(-1, 1, (N, n_out))
    return X, y


# --- activations -----------------------------------------------------------------------------


def test_registries_hold_the_agreed_names():
    assert set(ACTIVATIONS) == {"identity", "sigmoid", "tanh", "relu", "leaky_relu"}
    assert set(INITS) == {"normal", "lecun", "xavier", "he"}
    assert set(LOSSES) == {"mse", "softmax_cross_entropy"}
    assert all(isinstance(a, Activation) and a.name == k for k, a in ACTIVATIONS.items())


@pytest.mark.parametrize(
    ("name", "z", "expected"),
    [
        ("identity", [-2.0, 0.0, 3.0], [-2.0, 0.0, 3.0]),
        ("sigmoid", [0.0, math.log(3.0), -math.log(3.0)], [0.5, 0.75, 0.25]),
        ("tanh", [0.0, math.atanh(0.5)], [0.0, 0.5]),
        ("relu", [-2.0, 0.0, 3.0], [0.0, 0.0, 3.0]),
        ("leaky_relu", [-2.0, 0.0, 3.0], [-2.0 * LEAKY_RELU_SLOPE, 0.0, 3.0]),
    ],
)
def test_activation_values(name, z, expected):
    np.testing.assert_allclose(activate(name, z), expected, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize(
    ("name", "z", "expected"),
    [
        ("identity", [-2.0, 5.0], [1.0, 1.0]),
        ("sigmoid", [0.0, math.log(3.0)], [0.25, 0.75 * 0.25]),
        ("tanh", [0.0, math.atanh(0.5)], [1.0, 0.75]),
        ("relu", [-1.0, 0.0, 2.0], [0.0, 0.0, 1.0]),  # relu'(0) = 0, as in PyTorch
        ("leaky_relu", [-1.0, 0.0, 2.0], [LEAKY_RELU_SLOPE, LEAKY_RELU_SLOPE, 1.0]),
    ],
)
def test_activation_derivative_table(name, z, expected):
    np.testing.assert_allclose(activation_derivative(name, z), expected, rtol=1e-15)
    Z = np.asarray(z)
    # with A given, or computed: the same
    np.testing.assert_array_equal(
        activation_derivative(name, Z, activate(name, Z)), activation_derivative(name, Z)
    )


@pytest.mark.usefixtures("no_warnings")
def test_sigmoid_and_tanh_do_not_overflow_at_extreme_inputs():
    Z = np.array([-1e308, -1e3, -745.0, -40.0, 0.0, 40.0, 1e3, 1e308])
    s = activate("sigmoid", Z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[4] == 0.5
    # small values keep their relative precision: σ(-40) = e^-40 / (1 + e^-40)
    assert s[3] == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-15)
    t = activate("tanh", Z)
    np.testing.assert_array_equal(t[[0, 1, -2, -1]], [-1.0, -1.0, 1.0, 1.0])
    for name in ("sigmoid", "tanh"):
        d = activation_derivative(name, Z)
        assert np.all(np.isfinite(d)) and np.all(d >= 0)
        # complex input (the complex step) at extreme real parts: no warnings either
        assert np.all(np.isfinite(activate(name, Z[1:-1] + 1e-20j)))


def test_activations_are_complex_analytic_for_the_complex_step():
    Z = np.array([-3.0, -0.5, 0.25, 2.0])
    h = 1e-20
    for name, act in ACTIVATIONS.items():
        derivative = act.f(Z + 1j * h).imag / h
        assert relative_error(derivative, act.df(Z, act.f(Z))) < 1e-14, name


# --- initialisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("init", "std"),
    [
        ("normal", lambda n_in, n_out: 1.0),
        ("lecun", lambda n_in, n_out: math.sqrt(1 / n_in)),
        ("xavier", lambda n_in, n_out: math.sqrt(2 / (n_in + n_out))),
        ("he", lambda n_in, n_out: math.sqrt(2 / n_in)),
    ],
)
def test_init_scales(init, std):
    W = init_weights(init, 400, 300, np.random.default_rng(1))
    assert W.shape == (400, 300) and W.dtype == np.float64
    assert W.std() == pytest.approx(std(400, 300), rel=0.02)
    assert abs(W.mean()) < 0.01 * std(400, 300) * 10
    np.testing.assert_array_equal(init_weights(init, 4, 3, 7), init_weights(init, 4, 3, 7))


def test_mlp_construction_is_seeded_and_shaped():
    net = MLP([3, 5, 2], activation="relu", init="he", seed=3)
    assert net.layer_sizes == (3, 5, 2) and net.n_layers == 2
    assert (net.activation, net.output_activation, net.init, net.seed) == (
        "relu",
        "identity",
        "he",
        3,
    )
    assert [W.shape for W in net.weights] == [(3, 5), (5, 2)]
    assert [b.shape for b in net.biases] == [(5,), (2,)]
    assert all(W.dtype == np.float64 for W in net.weights)
    assert all(np.all(b == 0) for b in net.biases)
    same = MLP([3, 5, 2], activation="relu", init="he", seed=3)
    other = MLP([3, 5, 2], activation="relu", init="he", seed=4)
    np.testing.assert_array_equal(net.weights[0], same.weights[0])
    assert not np.array_equal(net.weights[0], other.weights[0])
    assert "MLP([3, 5, 2]" in repr(net)


def test_defaults_follow_the_contract():
    net = MLP([2, 1])
    assert (net.activation, net.output_activation, net.init, net.seed) == (
        "tanh",
        "identity",
        "xavier",
        0,
    )


def test_parameters_are_the_live_arrays_and_copy_is_independent():
    net = MLP([3, 4, 2], seed=0)
    params = net.parameters()
    assert [
        p is q
        for p, q in zip(params, [net.weights[0], net.biases[0], net.weights[1], net.biases[1]])
    ] == [True] * 4
    params[0] -= 1.0  # what an optimizer does
    np.testing.assert_array_equal(params[0], net.weights[0])

    twin = net.copy()
    assert type(twin) is MLP and twin.layer_sizes == net.layer_sizes
    twin.weights[0][0, 0] += 100.0
    twin.biases[1][0] = 5.0
    assert net.weights[0][0, 0] != twin.weights[0][0, 0] and net.biases[1][0] == 0.0

    class Sub(MLP):
        pass

    assert type(Sub([2, 1]).copy()) is Sub


# --- losses ----------------------------------------------------------------------------------


def test_mse_by_hand():
    y_hat = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[0.0, 2.0], [3.0, 2.0]])
    assert mse(y_hat, y) == pytest.approx((1 + 0 + 0 + 4) / 4)
    np.testing.assert_allclose(mse_grad(y_hat, y), [[0.5, 0.0], [0.0, 1.0]])


def test_mse_accepts_a_1d_target_for_one_output_without_broadcasting():
    y_hat = np.array([[1.0], [2.0], [4.0]])
    assert mse(y_hat, [0.0, 0.0, 0.0]) == pytest.approx((1 + 4 + 16) / 3)
    assert mse(y_hat, [1.0, 2.0, 4.0]) == 0.0  # a (3, 3) broadcast would not give 0
    assert mse_grad(y_hat, [0.0, 0.0, 0.0]).shape == (3, 1)
    net = MLP([2, 3, 1], seed=1)
    X = np.array([[0.1, 0.2], [0.3, -0.4]])
    one_d = net.loss_and_gradients(X, np.array([0.5, -0.5]))
    two_d = net.loss_and_gradients(X, np.array([[0.5], [-0.5]]))
    assert one_d[0] == two_d[0]
    for a, b in zip(one_d[1] + one_d[2], two_d[1] + two_d[2]):
        np.testing.assert_array_equal(a, b)


def test_loss_registry_functions_check_their_arguments():
    y_hat = np.array([[1.0], [3.0]])
    assert LOSSES["mse"].value(y_hat, [1.0, 1.0]) == 2.0  # no (2, 2) broadcast
    assert LOSSES["mse"].value_kernel(y_hat, np.array([[1.0], [1.0]])) == 2.0
    with pytest.raises(ValueError, match="y:"):
        LOSSES["mse"].grad(y_hat, np.ones((2, 2)))
    logits = np.array([[0.0, 0.0], [0.0, 0.0]])
    assert LOSSES["softmax_cross_entropy"].value(logits, [0, 1]) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="y:"):
        LOSSES["softmax_cross_entropy"].value(logits, [0, 2])


def test_softmax_cross_entropy_by_hand():
    assert softmax_cross_entropy([[0.0, 0.0]], [1]) == pytest.approx(math.log(2))
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    expected = (-math.log(p[2]) + math.log(3)) / 2  # the mean over the batch
    assert softmax_cross_entropy(logits, [2, 0]) == pytest.approx(expected, rel=1e-14)
    grad = softmax_cross_entropy_grad(logits, [2, 0])
    np.testing.assert_allclose(
        grad, [[p[0] / 2, p[1] / 2, (p[2] - 1) / 2], [1 / 6 - 0.5, 1 / 6, 1 / 6]]
    )
    np.testing.assert_allclose(softmax(logits), [p, [1 / 3] * 3])
    # integral floats are accepted as labels
    assert softmax_cross_entropy(logits, [2.0, 0.0]) == softmax_cross_entropy(logits, [2, 0])


@pytest.mark.usefixtures("no_warnings")
def test_losses_are_stable_at_extreme_logits():
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4]])
    assert softmax_cross_entropy(logits[:1], [0]) == 0.0
    assert softmax_cross_entropy(logits[:1], [2]) == pytest.approx(2e4)
    assert softmax_cross_entropy(logits[1:], [0]) == pytest.approx(math.log(2))
    np.testing.assert_allclose(softmax(logits), [[1, 0, 0], [0.5, 0.5, 0]])
    grad = softmax_cross_entropy_grad(logits, [2, 1])
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.5, 0, -0.5], [0.25, -0.25, 0]])
    net = MLP([2, 3], seed=0)
    net.weights[0][:] = [[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]]
    loss, dweights, _ = net.loss_and_gradients([[1.0, 1.0]], [2], loss="softmax_cross_entropy")
    assert loss == pytest.approx(2e4 + math.log(2)) and np.all(np.isfinite(dweights[0]))


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_gradients_match_the_complex_step(loss):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4, 3))
    y = rng.integers(0, 3, 4) if loss == "softmax_cross_entropy" else rng.normal(size=(4, 3))
    value, grad = (
        (mse, mse_grad) if loss == "mse" else (softmax_cross_entropy, softmax_cross_entropy_grad)
    )
    numeric = complex_step_gradient(lambda Z: value(Z, y), logits)
    assert relative_error(grad(logits, y), numeric) < 1e-13


# --- dense layers ----------------------------------------------------------------------------


def test_dense_forward_and_backward():
    rng = np.random.default_rng(2)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    np.testing.assert_allclose(dense_forward(X, W, b), X @ W + b)
    G = rng.normal(size=(4, 2))  # the upstream gradient: L = sum(G * Z)
    dX, dW, db = dense_backward(G, X, W)
    assert (dX.shape, dW.shape, db.shape) == ((4, 3), (3, 2), (2,))
    loss_of = {
        "X": lambda X_: np.sum(G * dense_forward(X_, W, b)),
        "W": lambda W_: np.sum(G * dense_forward(X, W_, b)),
        "b": lambda b_: np.sum(G * dense_forward(X, W, b_)),
    }
    for name, analytic, at in (("X", dX, X), ("W", dW, W), ("b", db, b)):
        assert relative_error(analytic, complex_step_gradient(loss_of[name], at)) < 1e-13, name


# --- the MLP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_fast_step_agrees_with_backprop_trace(activation, loss):
    net = MLP([3, 6, 5, 4], activation=activation, output_activation=activation, seed=2)
    X, y = small_problem(n_out=4)
    if loss == "softmax_cross_entropy":
        y = np.array([0, 3, 1, 2, 3])
    X_before = X.copy()
    value, dweights, dbiases = net.loss_and_gradients(X, y, loss)
    trace = net.backprop(X, y, loss)
    assert isinstance(trace, Trace) and isinstance(value, float)
    np.testing.assert_array_equal(X, X_before)
    assert value == pytest.approx(trace.loss, rel=1e-14)
    for a, b in zip(dweights + dbiases, trace.dweights + trace.dbiases):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-16)
    assert value == net.loss(X, y, loss)
    np.testing.assert_allclose(net.forward(X), trace.y_hat, rtol=1e-15)


def test_inputs_as_lists_and_integers_are_converted():
    net = MLP([2, 3, 1], seed=0)
    a = net.loss_and_gradients([[1, 2], [3, 4]], [1, 0])
    b = net.loss_and_gradients(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0], [0.0]]))
    assert a[0] == b[0]
    assert net.forward(np.array([[1, 2]], dtype=np.float32)).dtype == np.float64


def test_complex_weights_flow_through_forward_and_loss():
    net = MLP([3, 4, 2], activation="relu", seed=0)
    X, y = small_problem()
    probe = net.copy()
    probe.weights = [W.astype(complex) for W in probe.weights]
    probe.biases = [b.astype(complex) for b in probe.biases]
    probe.weights[1][2, 1] += 1e-20j
    value = probe.loss(X, y)
    assert isinstance(value, complex) and value.real == pytest.approx(net.loss(X, y), rel=1e-15)
    _, dweights, _ = net.loss_and_gradients(X, y)
    assert value.imag / 1e-20 == pytest.approx(dweights[1][2, 1], rel=1e-12)
    _, complex_grads, _ = probe.loss_and_gradients(X, y)
    assert complex_grads[0].dtype == np.complex128


def test_edited_parameter_of_the_wrong_shape_gets_a_clear_message():
    net = MLP([3, 4, 2], seed=0)
    net.weights[1] = np.zeros((2, 4))  # transposed by mistake
    X, y = small_problem()
    with pytest.raises(ValueError, match=r"weights\[1\]: expected shape \(4, 2\)"):
        net.loss_and_gradients(X, y)
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        net.forward(X)
    twin = net.copy()  # copies what is there, as it is
    assert twin.weights[1].shape == (2, 4) and twin.weights[1] is not net.weights[1]
    net.weights[1] = np.zeros((3, 2))  # a row short: [W; b] would still stack to (4, 2)
    with pytest.raises(ValueError, match=r"weights\[1\]: expected shape \(4, 2\)"):
        net.loss_and_gradients(X, y)
    del net.biases[1]
    with pytest.raises(ValueError, match="weights/biases: expected 2 arrays each"):
        net.loss_and_gradients(X, y)


def test_a_registered_activation_works_through_the_reference_path(monkeypatch):
    softplus = Activation(
        "softplus",
        lambda Z: np.log1p(np.exp(Z)),
        lambda Z, A: 1.0 / (1.0 + np.exp(-Z)),
    )
    monkeypatch.setitem(ACTIVATIONS, "softplus", softplus)
    net = MLP([3, 4, 2], activation="softplus", seed=0)
    X, y = small_problem()
    _, dweights, _ = net.loss_and_gradients(X, y)
    trace = net.backprop(X, y)
    np.testing.assert_allclose(dweights[0], trace.dweights[0])


# --- the fast path: stacked [W; b], transposed work arrays, replaced parameters -------------


def assert_step_matches_backprop(net, X, y, loss="mse"):
    """The fast step's results equal the reference pass's; returns them."""
    value, dweights, dbiases = net.loss_and_gradients(X, y, loss)
    trace = net.backprop(X, y, loss)
    assert value == pytest.approx(trace.loss, rel=1e-13)
    for fast, ref in zip(dweights + dbiases, trace.dweights + trace.dbiases):
        assert fast.shape == ref.shape and fast.dtype == ref.dtype
        np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-15)
    assert net.loss(X, y, loss) == value
    return value, dweights, dbiases


# [3, 6, 5, 2] and [3, 6, 5, 4, 2]: X copied into a stacked array (n_0 <= n_1); [6, 3, 4, 2],
# [6, 3, 2] and [6, 3, 4, 5, 2]: a wide input, layer 1 in the usual orientation; [3, 2]: no
# hidden layer.
FAST_PATH_SIZES = [
    [3, 6, 5, 2],
    [3, 6, 5, 4, 2],
    [6, 3, 4, 2],
    [6, 3, 2],
    [6, 3, 4, 5, 2],
    [3, 2],
]


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
def test_parameters_are_row_views_of_one_stacked_array_per_layer(sizes):
    net = MLP(sizes, seed=0)
    for W, b, n_in, n_out in zip(net.weights, net.biases, sizes, sizes[1:]):
        assert W.shape == (n_in, n_out) and b.shape == (n_out,)
        assert W.base is not None and W.base is b.base and W.base.shape == (n_in + 1, n_out)
        assert W.flags.c_contiguous and b.flags.c_contiguous and W.flags.writeable
    X, y = small_problem(n_out=2, N=4)
    X = np.random.default_rng(1).uniform(-1, 1, (4, sizes[0]))
    before = assert_step_matches_backprop(net, X, y)
    for p in net.parameters():  # what an optimizer does: in place
        p -= 0.1
    after = assert_step_matches_backprop(net, X, y)
    assert after[0] != before[0]


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
def test_replaced_and_edited_parameter_arrays_are_used(sizes):
    net = MLP(sizes, activation="sigmoid", seed=1)
    rng = np.random.default_rng(2)
    X, y = rng.uniform(-1, 1, (5, sizes[0])), rng.uniform(-1, 1, (5, 2))
    first = assert_step_matches_backprop(net, X, y)
    net.weights[-1] = rng.normal(size=net.weights[-1].shape)  # a new array, not a view
    net.biases[0] = net.biases[0] + 0.5
    second = assert_step_matches_backprop(net, X, y)
    assert second[0] != first[0]
    net.weights[-1][0, 0] += 1.0  # an in-place edit of the replacement is seen too
    third = assert_step_matches_backprop(net, X, y)
    assert third[0] != second[0]
    net.weights = [np.asfortranarray(W) for W in net.weights]  # other layouts work as well
    assert assert_step_matches_backprop(net, X, y)[0] == pytest.approx(third[0], rel=1e-14)


def test_copies_pickles_and_with_parameters_stay_independent_and_live():
    import copy
    import pickle

    net = MLP([3, 6, 5, 2], seed=3)
    X, y = small_problem(n_out=2, N=4, seed=3)
    value = net.loss_and_gradients(X, y)[0]
    twin = net.copy()
    assert twin.weights[0].base is not None and twin.weights[0].base is not net.weights[0].base
    twin.weights[0] += 1.0
    assert net.loss_and_gradients(X, y)[0] == value
    assert_step_matches_backprop(twin, X, y)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.loss_and_gradients(X, y)[0] == value
        other.weights[1][0, 0] += 1.0  # its own arrays, used live
        assert other.loss_and_gradients(X, y)[0] != value
        assert_step_matches_backprop(other, X, y)
    assert net.loss_and_gradients(X, y)[0] == value
    shallow = copy.copy(net)  # shares the parameter arrays: an edit is seen by both
    saved = shallow.weights[1][0, 0]
    shallow.weights[1][0, 0] += 1.0
    assert shallow.loss_and_gradients(X, y)[0] == net.loss_and_gradients(X, y)[0] != value
    assert_step_matches_backprop(shallow, X, y)
    shallow.weights[1][0, 0] = saved
    assert net.loss_and_gradients(X, y)[0] == value
    arrays = [p.copy() for p in net.parameters()]
    probe = net.with_parameters(arrays)
    assert probe.weights[0] is arrays[0]  # used as given, not copied
    arrays[2][1, 1] += 1.0
    assert probe.loss_and_gradients(X, y)[0] != value
    assert_step_matches_backprop(probe, X, y)


def test_complex_weights_after_a_real_step_and_back():
    net = MLP([3, 4, 2], activation="tanh", seed=0)
    X, y = small_problem()
    value, dweights, _ = net.loss_and_gradients(X, y)
    real_weights = net.weights
    net.weights = [W.astype(complex) for W in real_weights]
    net.weights[0][1, 2] += 1e-20j
    complex_value, complex_grads, _ = net.loss_and_gradients(X, y)
    assert complex_grads[0].dtype == np.complex128
    assert complex_value.imag / 1e-20 == pytest.approx(dweights[0][1, 2], rel=1e-12)
    net.weights = real_weights
    assert net.loss_and_gradients(X, y)[0] == value
    assert net.copy().loss_and_gradients(X, y)[0] == value
    net.weights = [W.astype(complex) for W in real_weights]
    assert net.copy().weights[0].dtype == np.complex128  # copy keeps complex parameters


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
def test_batch_sizes_change_from_call_to_call(sizes):
    net = MLP(sizes, activation="relu", seed=4)
    rng = np.random.default_rng(4)
    for N in [5, 3, 5, 1, 7, 2, 9, 5, 3]:  # more sizes than the work arrays kept
        X = rng.uniform(-1, 1, (N, sizes[0]))
        assert_step_matches_backprop(net, X, rng.integers(0, 2, N), "softmax_cross_entropy")
        assert_step_matches_backprop(net, X, rng.uniform(-1, 1, (N, 2)))
        np.testing.assert_array_equal(net.forward(X), net.backprop(X, np.zeros((N, 2))).y_hat)


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
def test_returned_gradients_are_new_arrays_every_call(sizes):
    net = MLP(sizes, seed=5)
    rng = np.random.default_rng(5)
    X1, X2 = rng.uniform(-1, 1, (2, 4, sizes[0]))
    y = rng.uniform(-1, 1, (4, 2))
    _, dW1, db1 = net.loss_and_gradients(X1, y)
    kept = [g.copy() for g in dW1 + db1]
    _, dW2, db2 = net.loss_and_gradients(X2, y)
    net.forward(X2)
    for g, g_kept in zip(dW1 + db1, kept):
        np.testing.assert_array_equal(g, g_kept)  # not overwritten by the later calls
    first, second = dW1 + db1, dW2 + db2
    for i, g in enumerate(first):
        assert g.flags.c_contiguous and g.flags.writeable
        assert not any(np.shares_memory(g, h) for h in second + net.parameters())
        assert not any(np.shares_memory(g, h) for j, h in enumerate(first) if j != i)
    dW2[0] += 1.0  # the caller may write into them
    assert_step_matches_backprop(net, X2, y)


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
def test_non_contiguous_inputs_and_targets(sizes):
    net = MLP(sizes, seed=6)
    rng = np.random.default_rng(6)
    wide = rng.uniform(-1, 1, (8, 2 * sizes[0]))
    y_wide = rng.uniform(-1, 1, (8, 4))
    X_ref = np.ascontiguousarray(wide[::2, ::2])
    y_ref = np.ascontiguousarray(y_wide[::2, ::2])
    expected = net.loss_and_gradients(X_ref, y_ref)
    for X in (wide[::2, ::2], np.asfortranarray(X_ref), X_ref.T.copy().T):
        for y in (y_wide[::2, ::2], np.asfortranarray(y_ref)):
            value, dweights, dbiases = assert_step_matches_backprop(net, X, y)
            assert value == expected[0]
            for a, b in zip(dweights + dbiases, expected[1] + expected[2]):
                np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(wide[::2, ::2], X_ref)  # X is never written into


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
def test_non_finite_x_is_refused_in_training_and_overflow_is_not(sizes):
    net = MLP(sizes, seed=11)
    rng = np.random.default_rng(11)
    X, y = rng.uniform(-1, 1, (4, sizes[0])), rng.uniform(-1, 1, (4, 2))
    net.weights[0][:] = 0.0  # inf * 0 is NaN: still seen
    for bad in (np.nan, np.inf, -np.inf):
        X_bad = X.copy()
        X_bad[2, -1] = bad
        with pytest.raises(ValueError, match="X: expected"):
            net.loss_and_gradients(X_bad, y)
    net.weights[0][:] = 1e300  # finite X, a product that overflows: no error, as backprop
    with np.errstate(over="ignore", invalid="ignore"):
        value, dweights, _ = net.loss_and_gradients(X, y)
        trace = net.backprop(X, y)
    assert np.isnan(value) == np.isnan(trace.loss)
    for a, b in zip(dweights, trace.dweights):
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))


def test_concurrent_steps_on_one_model_do_not_share_work_arrays():
    from concurrent.futures import ThreadPoolExecutor

    net = MLP([3, 16, 16, 2], seed=7)
    rng = np.random.default_rng(7)
    batches = [(rng.uniform(-1, 1, (6, 3)), rng.uniform(-1, 1, (6, 2))) for _ in range(4)]
    expected = [net.backprop(X, y).dweights for X, y in batches]

    def worker(i):
        X, y = batches[i % 4]
        for _ in range(100):
            dweights = net.loss_and_gradients(X, y)[1]
            for a, b in zip(dweights, expected[i % 4]):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(worker, range(8)))


def test_large_batches_do_not_keep_their_work_arrays():
    net = MLP([2, 300, 300, 1], seed=0)
    X = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
    net.forward(X)
    net.loss_and_gradients(X, np.zeros((2000, 1)))
    net.forward(X[:10])
    assert 10 in (net._workspaces or {}) and 2000 not in (net._workspaces or {})


@pytest.mark.parametrize("sizes", FAST_PATH_SIZES)
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_large_batches_take_the_lean_variants(monkeypatch, sizes, activation):
    import bpcourse.nn.mlp as mlp_module

    net = MLP(sizes, activation=activation, seed=10)
    rng = np.random.default_rng(10)
    X, y = rng.uniform(-1, 1, (6, sizes[0])), rng.uniform(-1, 1, (6, 2))
    kept = net.loss_and_gradients(X, y)
    kept_forward = net.forward(X)
    work = net._take_workspace(6, training=True)
    if work.fold_input and len(sizes) > 4:  # two arrays in turn hold D[l]: D[1] and D[3] share
        assert np.shares_memory(work.D[1], work.D[3])
    monkeypatch.setattr(mlp_module, "_MAX_WORKSPACE_SIZE", 1)  # every batch is "large" now
    net._workspaces = {}
    lean = assert_step_matches_backprop(net, X, y)  # one f' per layer, arrays not kept
    assert all(work.size <= 1 for work in net._workspaces.values())
    assert lean[0] == pytest.approx(kept[0], rel=1e-15)
    for a, b in zip(lean[1] + lean[2], kept[1] + kept[2]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)
    if len(sizes) > 2:  # a forward pass alone: the plain pass, two layers at a time
        assert net._take_workspace(6, training=False) is None
    np.testing.assert_allclose(net.forward(X), kept_forward, rtol=1e-14, atol=1e-16)
    assert net.loss(X, y) == pytest.approx(kept[0], rel=1e-14)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_from_output_agrees_with_df(name):
    act = ACTIVATIONS[name]
    Z = np.random.default_rng(8).normal(scale=3.0, size=(5, 7))
    Z[0, :3] = [0.0, -40.0, 40.0]
    A = act.f(Z)
    A_before = A.copy()
    out = np.full_like(A, np.nan)
    act.derivative_from_output(A, out)
    np.testing.assert_array_equal(out, act.df(Z, A))
    np.testing.assert_array_equal(A, A_before)  # A is left as it was
    bare = Activation(
        name + "_bare", act.f, act.df, f_inplace=act.f_inplace, df_inplace=act.df_inplace
    )  # no df_from_output: made from df_inplace instead
    out2 = np.full_like(A, np.nan)
    bare.derivative_from_output(A, out2)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(A, A_before)
    with pytest.raises(TypeError, match="df_from_output or df_inplace"):
        Activation(name + "_plain", act.f, act.df).derivative_from_output(A, out)


def test_a_registered_activation_with_only_df_inplace_takes_the_fast_path(monkeypatch):
    tanh = ACTIVATIONS["tanh"]
    custom = Activation("my_tanh", tanh.f, tanh.df, tanh.f_inplace, tanh.df_inplace)
    assert custom.has_fast_path and custom.df_from_output is None
    monkeypatch.setitem(ACTIVATIONS, "my_tanh", custom)
    net = MLP([3, 5, 4, 2], activation="my_tanh", seed=0)
    X, y = small_problem()
    value, dweights, _ = assert_step_matches_backprop(net, X, y)
    reference = MLP([3, 5, 4, 2], activation="tanh", seed=0).loss_and_gradients(X, y)
    assert value == reference[0]
    for a, b in zip(dweights, reference[1]):
        np.testing.assert_array_equal(a, b)


def test_label_dtypes_and_layouts_give_the_same_step():
    net = MLP([3, 5, 4], seed=9)
    X, _ = small_problem(n_out=4, N=5)
    labels = np.array([0, 3, 1, 2, 3])
    expected = assert_step_matches_backprop(net, X, labels, "softmax_cross_entropy")
    for y in (
        labels.astype(np.int32),
        labels.astype(np.uint8),
        labels.astype(float),
        np.repeat(labels, 2)[::2],
        list(labels),
    ):
        value, dweights, _ = net.loss_and_gradients(X, y, "softmax_cross_entropy")
        assert value == expected[0]
        for a, b in zip(dweights, expected[1]):
            np.testing.assert_array_equal(a, b)
    for bad in ([0, 3, 1, 2, 4], [0, -1, 1, 2, 3], np.array([0, 3, 1, 2, 200], dtype=np.uint8)):
        with pytest.raises(ValueError, match="y: expected integer class labels"):
            net.loss_and_gradients(X, bad, "softmax_cross_entropy")


def test_agrees_with_pytorch_when_available():
    torch = pytest.importorskip("torch")
    X, _ = small_problem(n_out=3, N=6, seed=4)
    for loss in sorted(LOSSES):
        for activation in ("tanh", "sigmoid", "relu", "leaky_relu"):
            net = MLP([3, 5, 4, 3], activation=activation, seed=1)
            rng = np.random.default_rng(9)
            for b in net.biases:
                b[:] = rng.normal(size=b.shape)
            if loss == "mse":
                y = rng.normal(size=(6, 3))
                loss_fn, target = torch.nn.MSELoss(), torch.from_numpy(y)
            else:
                y = rng.integers(0, 3, 6)
                loss_fn, target = torch.nn.CrossEntropyLoss(), torch.from_numpy(y).long()
            torch_act = {
                "tanh": torch.tanh,
                "sigmoid": torch.sigmoid,
                "relu": torch.relu,
                "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, LEAKY_RELU_SLOPE),
            }[activation]
            params = [torch.tensor(p, requires_grad=True) for p in net.parameters()]
            A = torch.from_numpy(X)
            for l in range(net.n_layers):
                A = A @ params[2 * l] + params[2 * l + 1]
                if l < net.n_layers - 1:
                    A = torch_act(A)
            torch_loss = loss_fn(A, target)
            torch_loss.backward()
            value, ours = net.gradients(X, y, loss)
            assert value == pytest.approx(torch_loss.item(), rel=1e-12)
            for mine, p in zip(ours, params):
                np.testing.assert_allclose(mine, p.grad.numpy(), rtol=1e-10, atol=1e-14)
