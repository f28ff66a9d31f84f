"""Unit tests of bpcourse.gradcheck: relative error, numerical gradients, kinks, model checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpcourse.gradcheck import (
    TINY,
    GradCheckResult,
    KinkWarning,
    check_model_gradients,
    complex_step_gradient,
    kinks_within,
    numerical_gradient,
    perturb_each_entry,
    relative_error,
    step_size_sweep,
)
from bpcourse.nn import ACTIVATIONS, LOSSES, MLP


def f_smooth(x):
    """A smooth, complex-analytic test function; its gradient is grad_smooth."""
    return np.sum(np.sin(x) * np.exp(x))


def grad_smooth(x):
    return (np.cos(x) + np.sin(x)) * np.exp(x)


# --- relative error --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1.0, 1.0, 0.0),
        (1.0, -1.0, 1.0),  # opposite signs: the maximum
        (0.0, 0.0, 0.0),  # no 0/0
        (0.0, 1e-300, 1.0),
        (2.0, 1.0, 1 / 3),
        ([1.0, 2.0, 0.0], [1.0, 2.2, 0.0], 0.2 / 4.2),  # the worst entry
        ([[3.0]], [[3.0 + 2**-20]], 2**-20 / (6.0 + 2**-20)),
        (1j, 1j, 0.0),
        ([], [], 0.0),
    ],
)
def test_relative_error_definition(a, b, expected):
    assert relative_error(a, b) == pytest.approx(expected, rel=1e-12, abs=0)
    assert relative_error(b, a) == relative_error(a, b)


def test_relative_error_denominator_floor_is_tiny():
    assert relative_error(TINY / 4, 0.0) == pytest.approx(0.25)
    assert np.finfo(np.float64).tiny == TINY


# --- numerical gradients of a function -------------------------------------------------------


def test_central_differences_and_complex_step_on_a_known_function():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4))
    exact = grad_smooth(x)
    central = numerical_gradient(f_smooth, x)
    step = complex_step_gradient(f_smooth, x)
    assert central.shape == step.shape == x.shape
    assert central.dtype == step.dtype == np.float64
    assert relative_error(central, exact) < 1e-8
    assert relative_error(step, exact) < 1e-14


def test_scalar_and_list_inputs():
    assert numerical_gradient(lambda x: x**3, 2.0) == pytest.approx(12.0, rel=1e-9)
    assert complex_step_gradient(lambda x: x**3, 2.0) == pytest.approx(12.0, rel=1e-15)
    np.testing.assert_allclose(numerical_gradient(lambda x: np.sum(x**2), [1, 2]), [2.0, 4.0])
    assert numerical_gradient(lambda x: 1.0, np.zeros(0)).shape == (0,)


def test_x_is_perturbed_in_place_and_restored_so_closures_work():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = W.copy()

    def loss(_):  # reads W through the closure, ignores its argument (the CS231n idiom)
        return float(np.sum(W**3))

    grad = numerical_gradient(loss, W)
    np.testing.assert_allclose(grad, 3 * original**2, rtol=1e-9)
    np.testing.assert_array_equal(W, original)

    calls = []

    def explode(x):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(np.sum(x))

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(explode, W)
    np.testing.assert_array_equal(W, original)  # restored even though f raised


def test_complex_step_never_touches_x():
    x = np.array([0.3, -0.7])
    before = x.copy()
    complex_step_gradient(f_smooth, x)
    np.testing.assert_array_equal(x, before)
    assert x.dtype == np.float64


def test_central_differences_use_the_step_actually_taken():
    # float64 numbers near 1e8 are 1.49e-8 apart: x ± 1e-8 rounds to x ± 1.49e-8
    x = np.array([1e8])
    grad = numerical_gradient(lambda v: float(v[0]), x, h=1e-8)
    assert grad[0] == 1.0  # dividing by 2h instead would give 1.49
    with pytest.raises(ValueError, match=r"h: .*vanishes"):
        numerical_gradient(lambda v: float(v[0]), x, h=1e-9)  # x ± h rounds back to x


# --- the error-versus-step trade-off (lesson 03) ---------------------------------------------


def test_step_size_sweep_shows_the_v_shaped_error():
    x = np.array([0.5, -0.3, 1.1])
    steps = np.logspace(-1, -13, 13)
    errors = step_size_sweep(f_smooth, x, grad_smooth(x), steps)
    assert errors.shape == steps.shape and errors.dtype == np.float64
    best = steps[np.argmin(errors)]
    assert 1e-7 <= best <= 1e-3  # near h ≈ 1e-5
    assert 1e-12 < errors.min() < 1e-8  # about 1e-10 at best (truncation meets rounding)
    assert errors[0] > 1e-4  # h = 0.1: truncation error ~ h²
    assert errors[-1] > 1e-6  # h = 1e-13: rounding error ~ eps / h


def test_step_size_sweep_forward_complex_and_float32():
    x = np.array([0.5, -0.3, 1.1])
    truth = grad_smooth(x)
    steps = np.logspace(-2, -12, 11)
    forward = step_size_sweep(f_smooth, x, truth, steps, method="forward")
    central = step_size_sweep(f_smooth, x, truth, steps, method="central")
    assert forward.min() > central.min()  # O(h) truncation instead of O(h²)
    assert 1e-9 <= steps[np.argmin(forward)] <= 1e-6  # near sqrt(eps) ≈ 1.5e-8
    tiny_steps = np.array([1e-10, 1e-20, 1e-100])
    complex_errors = step_size_sweep(f_smooth, x, truth, tiny_steps, method="complex_step")
    assert np.all(complex_errors < 1e-14)  # machine precision, even for h = 1e-100
    single = step_size_sweep(f_smooth, x, truth, np.logspace(-1, -7, 13), dtype=np.float32)
    assert single.min() > 1e-6  # float32 central differences cannot reach float64 accuracy
    assert single.min() < 1e-2


# --- kinks -----------------------------------------------------------------------------------


def test_kinks_within_counts_per_layer():
    Z = [np.array([[1e-7, -0.5], [2.0, -3e-6]]), np.array([[0.0, 1.0]]), np.array([[1e-6j]])]
    assert kinks_within(Z, 1e-5) == [2, 1, 1]
    assert kinks_within(Z, 1e-6) == [1, 1, 1]


def relu_net_with_a_unit_at_the_kink():
    """A ReLU net where unit 0 of layer 1 has z = 1e-7 for the first example."""
    net = MLP([2, 3, 1], activation="relu", seed=0)
    X = np.array([[0.5, -0.25], [1.0, 0.75]])
    y = np.array([0.3, -0.2])
    z = X[0] @ net.weights[0][:, 0]
    net.biases[0][0] = 1e-7 - z
    return net, X, y


def test_a_kink_inside_the_step_is_reported_not_counted_as_a_bug():
    net, X, y = relu_net_with_a_unit_at_the_kink()
    assert kinks_within(net.backprop(X, y).Z, 1e-5) == [1, 0]
    with pytest.warns(KinkWarning, match=r"layer 1: up to 1") as record:
        result = check_model_gradients(net, X, y, method="central", h=1e-5)
    assert "b1" in str(record[0].message)
    assert result.skipped["b1"] >= 1 and result.skipped["W1"] >= 1
    assert result.kink_units == {1: 1}
    assert result.ok(), result.table()
    assert "at a kink skipped" in result.table()
    # the complex step decides ReLU by the real part, as backprop does: no kink problem
    with warnings.catch_warnings():
        warnings.simplefilter("error", KinkWarning)
        exact = check_model_gradients(net, X, y, method="complex_step")
    assert exact.ok(1e-12) and sum(exact.skipped.values()) == 0


def test_without_kink_detection_the_same_entry_would_look_wrong():
    net, X, y = relu_net_with_a_unit_at_the_kink()
    _, _, dbiases = net.loss_and_gradients(X, y)
    naive = numerical_gradient(lambda _: net.loss(X, y), net.biases[0], h=1e-5)
    assert relative_error(dbiases[0][:1], naive[:1]) > 1e-3


def test_no_kink_warning_for_smooth_activations():
    net = MLP([3, 4, 2], activation="tanh", seed=1)
    X = np.random.default_rng(1).uniform(-1, 1, (4, 3))
    y = np.random.default_rng(2).uniform(-1, 1, (4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = check_model_gradients(net, X, y, method="central", h=0.5)
    assert result.kink_units == {} and sum(result.skipped.values()) == 0


# --- checking a model ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["complex_step", "central"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_check_model_gradients_passes_a_correct_model(method, loss):
    net = MLP([3, 5, 4], activation="sigmoid", output_activation="tanh", seed=4)
    X = np.random.default_rng(3).uniform(-1, 1, (6, 3))
    y = np.array([0, 1, 3, 2, 1, 0]) if loss == "softmax_cross_entropy" else np.ones((6, 4))
    before = [p.copy() for p in net.parameters()]
    result = check_model_gradients(net, X, y, loss=loss, method=method)
    assert isinstance(result, GradCheckResult)
    assert list(result.errors) == ["W1", "b1", "W2", "b2"]
    assert result.ok() and result.worst < (1e-12 if method == "complex_step" else 1e-7)
    assert result.h == (1e-20 if method == "complex_step" else 1e-5)
    for p, q in zip(before, net.parameters()):
        np.testing.assert_array_equal(p, q)  # the model is untouched
        assert q.dtype == np.float64
    text = repr(result)
    assert "W1" in text and "b2" in text and "PASS" in text
    assert not result.ok(1e-300) or result.worst == 0.0


class BuggyMLP(MLP):
    """An MLP whose backward pass carries one planted bug (as learners write them).

    The backward pass is written out again here, step by step; ``bug`` names the mistake.
    """

    bug = "none"

    def loss_and_gradients(self, X, y, loss="mse"):
        assert loss == "mse"
        act = ACTIVATIONS[self.activation]
        A_list, Z_list = [np.asarray(X, dtype=float)], []
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = A_list[-1] @ W + b
            Z_list.append(Z)
            A_list.append(act.f(Z) if l < self.n_layers - 1 else Z)
        y_hat, y = A_list[-1], np.asarray(y, dtype=float).reshape(A_list[-1].shape)
        value = float(np.mean((y_hat - y) ** 2))
        if self.bug == "sign error":
            dA = 2 * (y - y_hat) / y_hat.size
        elif self.bug == "missing 1/N":
            dA = 2 * (y_hat - y) / y_hat.shape[1]
        else:
            dA = 2 * (y_hat - y) / y_hat.size
        dweights, dbiases = [None] * self.n_layers, [None] * self.n_layers
        for l in reversed(range(self.n_layers)):
            if l < self.n_layers - 1 and self.bug != "missing activation derivative":
                delta = dA * act.df(Z_list[l], A_list[l + 1])
            else:
                delta = dA
            if self.bug == "transposed weight gradient":
                dweights[l] = delta.T @ A_list[l]  # (n_out, n_in): square layers hide it
            else:
                dweights[l] = A_list[l].T @ delta
            dbiases[l] = delta.sum(axis=0)
            dA = delta @ self.weights[l].T
        return value, dweights, dbiases


BUGS = ["sign error", "missing activation derivative", "transposed weight gradient", "missing 1/N"]


@pytest.mark.parametrize("method", ["complex_step", "central"])
@pytest.mark.parametrize("bug", BUGS)
def test_planted_backprop_bugs_are_caught(bug, method):
    X = np.random.default_rng(6).uniform(-1, 1, (5, 4))
    y = np.random.default_rng(7).uniform(-1, 1, (5, 4))
    net = BuggyMLP([4, 4, 4, 4], activation="tanh", seed=8)  # square layers
    assert check_model_gradients(net, X, y, method=method).ok()  # bug == "none": clean
    net.bug = bug
    result = check_model_gradients(net, X, y, method=method)
    assert not result.ok(), f"{bug} was not caught:\n{result.table()}"
    assert result.worst > 1e-3
    assert "MISMATCH" in result.table() and "FAIL" in result.table()


def test_a_gradient_of_the_wrong_shape_is_reported_as_a_mismatch():
    X = np.random.default_rng(6).uniform(-1, 1, (5, 3))
    y = np.random.default_rng(7).uniform(-1, 1, (5, 2))
    net = BuggyMLP([3, 4, 2], activation="tanh", seed=8)
    net.bug = "transposed weight gradient"
    result = check_model_gradients(net, X, y)
    assert result.errors["W1"] == np.inf and "shape" in result.notes["W1"]
    assert not result.ok()


def test_relative_error_over_whole_arrays_and_with_a_floor():
    a = np.array([3.0, 4.0])
    b = np.array([0.0, 0.0])
    assert relative_error(a, b, norm=True) == pytest.approx(1.0)
    assert relative_error(a, a / 2, norm=True, scale="max") == pytest.approx(0.5)
    assert relative_error(a, a / 2, norm=True) == pytest.approx(1 / 3)
    assert relative_error(np.zeros(3), np.zeros(3), norm=True) == 0.0
    # a floor of 1 turns tiny values into an absolute comparison
    assert relative_error(np.array([1e-12]), np.array([0.0])) == 1.0
    assert relative_error(np.array([1e-12]), np.array([0.0]), floor=1.0) == pytest.approx(1e-12)
    with pytest.raises(ValueError, match=r"scale: expected one of \['sum', 'max'\], got 'min'"):
        relative_error(a, a, scale="min")


def test_perturb_each_entry_moves_one_entry_at_a_time_and_restores_it():
    P = np.arange(6.0).reshape(2, 3)
    seen = []
    for index, old, results, taken in perturb_each_entry(P, (0.5, -0.5), lambda: P.sum()):
        seen.append(index)
        assert results == [15.5, 14.5] and taken == [old + 0.5, old - 0.5]
    assert seen == list(np.ndindex(2, 3))
    np.testing.assert_array_equal(P, np.arange(6.0).reshape(2, 3))

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        for _ in perturb_each_entry(P, (1.0,), fail):
            pass
    np.testing.assert_array_equal(P, np.arange(6.0).reshape(2, 3))
