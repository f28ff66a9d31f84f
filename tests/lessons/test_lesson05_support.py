"""Package functions that lesson 05 relies on, and the numbers its text states."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import dynamics, gradcheck, nn, optim
from bpcourse.dynamics import gradient_flow, layer_gradient_norms, trace_gradient_norms


def _trace(sizes: list[int], activation: str, seed: int, loss: str = "mse") -> nn.Trace:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, sizes[0]))
    y = (
        rng.integers(0, sizes[-1], size=12)
        if loss == "softmax_cross_entropy"
        else rng.normal(size=(12, sizes[-1]))
    )
    return nn.MLP(sizes, activation=activation, seed=seed).backprop(X, y, loss=loss)


@pytest.mark.parametrize(
    "sizes, activation, loss",
    [
        ([4, 6, 6, 2], "sigmoid", "mse"),
        ([3, 5, 3], "relu", "softmax_cross_entropy"),
        ([2, 1], "tanh", "mse"),
    ],
)
def test_trace_gradient_norms_are_the_bias_gradient_norms(
    sizes: list[int], activation: str, loss: str
) -> None:
    trace = _trace(sizes, activation, seed=3, loss=loss)
    norms = trace_gradient_norms(trace)
    assert norms.shape == (len(sizes) - 1,)
    np.testing.assert_allclose(norms, [np.linalg.norm(db) for db in trace.dbiases], rtol=1e-14)


def test_trace_gradient_norms_match_layer_gradient_norms() -> None:
    """The same network and batch as the probe of layer_gradient_norms give the same numbers."""
    key = gradient_flow._probe_args(
        6, 10, "sigmoid", "xavier", 0, 50, None, 10, "mse", "zeros", "normal", "identity"
    )
    model, X, y, loss = gradient_flow._probe_setup(key)
    norms = trace_gradient_norms(model.backprop(X, y, loss=loss))
    expected = layer_gradient_norms(6, 10, "sigmoid", "xavier", n_samples=50, include_output=True)
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "bad, error",
    [("trace", TypeError), (None, TypeError), (nn.Trace(0.0, [], [], [], [], []), TypeError)],
)
def test_trace_gradient_norms_rejects_non_traces(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="trace"):
        trace_gradient_norms(bad)


def test_trace_gradient_norms_rejects_a_bad_delta() -> None:
    trace = _trace([3, 4, 2], "tanh", seed=0)
    trace.deltas[0] = np.full((12, 4), np.nan)
    with pytest.raises(ValueError, match=r"trace\.deltas\[0\]"):
        trace_gradient_norms(trace)


# --- numbers the lesson's text states ---------------------------------------------------------


def test_deep_sigmoid_gradients_are_real_but_central_differences_struggle() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 30))
    y = np.eye(10)[rng.integers(0, 10, size=100)]
    deep = nn.MLP([30] + [30] * 5 + [10], activation="sigmoid", init="xavier", seed=0)
    norms = trace_gradient_norms(deep.backprop(X, y))
    assert 100 < norms[4] / norms[0] < 1000  # "a few hundred times smaller"
    X_small = rng.normal(size=(20, 10))
    y_small = np.eye(3)[rng.integers(0, 3, size=20)]
    narrow = nn.MLP([10] + [10] * 8 + [3], activation="sigmoid", init="xavier", seed=0)
    norms = trace_gradient_norms(narrow.backprop(X_small, y_small))
    assert norms[-1] / norms[0] > 1e4
    assert gradcheck.check_model_gradients(narrow, X_small, y_small).worst < 1e-12
    assert not gradcheck.check_model_gradients(narrow, X_small, y_small, method="central").ok()


def test_twenty_sigmoid_layers_freeze_the_first() -> None:
    sizes = (2, *[30] * 20, 2)
    frozen = dynamics.train("moons", lr=0.2, num_epochs=20, layer_sizes=sizes, activation="sigmoid")
    moving = dynamics.train(
        "moons", lr=0.2, num_epochs=20, layer_sizes=sizes, activation="relu", init="he"
    )
    assert not frozen.diverged and not moving.diverged
    assert frozen.weight_change[-1, -1] > 1e10 * frozen.weight_change[-1, 0]
    assert moving.weight_change[-1, -1] < 100 * moving.weight_change[-1, 0]


def test_clipping_by_norm_keeps_the_direction_by_value_turns_it() -> None:
    rng = np.random.default_rng(1)
    X, labels = rng.normal(size=(50, 2)), rng.integers(0, 2, size=50)
    wild = nn.MLP([2] + [30] * 6 + [2], activation="relu", init="normal", seed=0)
    _, grads = wild.gradients(X, labels, loss="softmax_cross_entropy")
    flat = np.concatenate([g.ravel() for g in grads])
    by_norm = np.concatenate([g.ravel() for g in optim.clip_grad_norm(grads, 1.0)[0]])
    by_value = np.concatenate([g.ravel() for g in optim.clip_grad_value(grads, 0.1)])
    cosine = lambda a, b: a @ b / (np.linalg.norm(a) * np.linalg.norm(b))  # noqa: E731
    assert cosine(flat, by_norm) == pytest.approx(1.0, abs=1e-12)
    assert 0.3 < cosine(flat, by_value) < 0.7  # "about 60 degrees"


def test_clipping_rescues_the_exploding_network_and_he_needs_none() -> None:
    common = dict(lr=0.1, num_epochs=50, layer_sizes=(2, *[30] * 6, 2), activation="relu")
    plain = dynamics.train("moons", init="normal", **common)
    clipped = dynamics.train("moons", init="normal", clip=("norm", 1.0), **common)
    he = dynamics.train("moons", init="he", **common)
    assert plain.diverged and plain.diverged_epoch == 1
    assert not clipped.diverged and clipped.train_loss[-1] < 0.1 * clipped.train_loss[0]
    assert not he.diverged and he.n_clipped == 0 and he.val_accuracy[-1] > 0.8
    assert he.train_loss[-1] < 0.03 * clipped.train_loss[-1]  # "about a hundred times lower"


def test_tanh_with_plain_normal_weights_saturates_yet_explodes() -> None:
    stats = dynamics.layer_statistics(20, 30, "tanh", "normal")
    assert 0.5 < stats.saturation.mean() < 0.7
    norms = layer_gradient_norms(20, 30, "tanh", "normal")
    assert 1e3 < norms[0] / norms[-1] < 1e5
