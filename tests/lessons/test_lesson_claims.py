"""Numbers the text of lessons 04 to 06 states, recomputed with the package, so that the
text and the output it describes cannot drift apart again (each test names its cell)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpcourse import data, dynamics, nn

LN2 = math.log(2.0)
DEEP = (2, *[30] * 20, 2)


def _dead_share(model: nn.MLP) -> float:
    """Share of hidden units that are zero on every point of the (standardised) moons."""
    moons = data.load_dataset("moons")
    X, _, _ = data.standardize(moons.X)
    hidden = model.backprop(X, moons.y, loss="softmax_cross_entropy").A[1:-1]
    return float(np.mean([np.all(a == 0, axis=0).mean() for a in hidden]))


def test_l05_exercise1_hint_norms_grow_from_2e4_to_0_28() -> None:
    """05, 'Try it' of exercise 1: six norms from about 1.9e-4 to about 0.28."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 30))
    y = np.eye(10)[rng.integers(0, 10, size=100)]
    deep = nn.MLP([30] + [30] * 5 + [10], activation="sigmoid", init="xavier", seed=0)
    norms = dynamics.trace_gradient_norms(deep.backprop(X, y))
    assert len(norms) == 6
    assert norms[0] == pytest.approx(1.9e-4, rel=0.03)
    assert norms[-1] == pytest.approx(0.28, rel=0.03)
    assert np.all((norms[1:] / norms[:-1] > 3.5) & (norms[1:] / norms[:-1] < 5.5))


def test_l05_depth20_table_oddities() -> None:
    """05, the depth-20 table: sigmoid vanishes less with N(0,1) than with Xavier, and ReLU
    with Xavier vanishes by about sqrt(2)^19 (the order of 1.5e3)."""
    ratio = {
        (a, i): (lambda n: n[-1] / n[0])(dynamics.layer_gradient_norms(20, 30, a, i))
        for a, i in [("sigmoid", "normal"), ("sigmoid", "xavier"), ("relu", "xavier")]
    }
    assert 1e3 < ratio["sigmoid", "normal"] < 1e5
    assert 1e12 < ratio["sigmoid", "xavier"] < 1e14
    assert math.sqrt(2) ** 19 / 2 < ratio["relu", "xavier"] < math.sqrt(2) ** 19 * 4


def test_l05_deep_networks_sigmoid_frozen_relu_learns() -> None:
    """05, 'What this means for training': lr 0.03, 50 epochs, 20 hidden layers."""
    frozen = dynamics.train("moons", lr=0.03, num_epochs=50, layer_sizes=DEEP, activation="sigmoid")
    moving = dynamics.train(
        "moons", lr=0.03, num_epochs=50, layer_sizes=DEEP, activation="relu", init="he"
    )
    assert frozen.weight_change[-1, -1] / frozen.weight_change[-1, 0] > 1e11
    assert frozen.train_loss[-1] == pytest.approx(LN2, abs=0.005)
    assert 10 < moving.weight_change[-1, -1] / moving.weight_change[-1, 0] < 30
    assert 0.10 < moving.train_loss[-1] < 0.15
    assert np.all(moving.train_loss <= moving.train_loss[0] + 1e-12)  # no blow-up on the way


def test_l05_too_large_a_learning_rate_kills_relus() -> None:
    """05, 'Dead ReLUs': at lr 0.2 the loss jumps to about 6 and ends at chance, with about
    half the hidden units dead; at lr 0.03 about a quarter, as in the fresh network."""
    too_fast = dynamics.train(
        "moons", lr=0.2, num_epochs=20, layer_sizes=DEEP, activation="relu", init="he"
    )
    good = dynamics.train(
        "moons", lr=0.03, num_epochs=50, layer_sizes=DEEP, activation="relu", init="he"
    )
    assert too_fast.train_loss.max() > 5.0
    assert too_fast.train_loss[-1] == pytest.approx(LN2, abs=0.01)
    assert 0.45 < _dead_share(too_fast.model) < 0.6
    fresh = _dead_share(nn.MLP(list(DEEP), activation="relu", init="he", seed=0))
    assert 0.2 < fresh < 0.3
    assert abs(_dead_share(good.model) - fresh) < 0.03


def test_l05_clipping_wins_on_accuracy_and_loses_on_loss() -> None:
    """05, clipping in training: 90 % and loss ~12 with clipping, 82 % and ~0.13 with He."""
    six = (2, *[30] * 6, 2)
    common = {"lr": 0.1, "num_epochs": 50, "layer_sizes": six, "activation": "relu"}
    assert dynamics.train("moons", init="normal", **common).diverged_epoch == 1
    clipped = dynamics.train("moons", init="normal", clip=("norm", 1.0), **common)
    he = dynamics.train("moons", init="he", **common)
    assert clipped.val_accuracy[-1] == pytest.approx(0.90)
    assert 5 < clipped.train_loss[-1] < 30
    assert clipped.train_loss.min() < 1e-4 and int(np.argmin(clipped.train_loss)) == 48
    assert he.val_accuracy[-1] == pytest.approx(0.82)
    assert 0.1 < he.train_loss[-1] < 0.15


def test_l05_symmetry_is_never_broken_from_equal_weights() -> None:
    """05, 'Why not start from zero?': equal weights stay equal, the loss is ten times higher."""
    moons = data.load_dataset("moons")
    X, _, _ = data.standardize(moons.X)

    def train_full_batch(model: nn.MLP) -> nn.MLP:
        for _ in range(1000):
            trace = model.backprop(X, moons.y, loss="softmax_cross_entropy")
            model.weights = [W - 0.5 * dW for W, dW in zip(model.weights, trace.dweights)]
            model.biases = [b - 0.5 * db for b, db in zip(model.biases, trace.dbiases)]
        return model

    equal = nn.MLP([2, 8, 2], activation="tanh", seed=0)
    equal.weights = [np.full_like(W, 0.5) for W in equal.weights]
    equal = train_full_batch(equal)
    random = train_full_batch(nn.MLP([2, 8, 2], activation="tanh", seed=0))
    assert np.ptp(equal.weights[0], axis=1).max() == 0.0
    loss_equal = equal.loss(X, moons.y, loss="softmax_cross_entropy")
    loss_random = random.loss(X, moons.y, loss="softmax_cross_entropy")
    assert loss_equal == pytest.approx(0.262, abs=0.005)
    assert 8 < loss_equal / loss_random < 15


def test_l04_best_settings_after_forty_steps() -> None:
    """04, 'Why momentum is faster': about 0.3 from the minimum against below 1e-3, and the
    earlier run (lr 0.05, mu 0.6) at 0.80 and 0.775 per step."""
    gd, hb = dynamics.optimal_settings(1.0, 50.0, "sgd"), dynamics.optimal_settings(1.0, 50.0)
    plain = dynamics.quadratic_descent_2d((1.0, 50.0), gd.lr, steps=40)
    heavy = dynamics.quadratic_descent_2d(
        (1.0, 50.0), hb.lr, steps=40, optimizer="momentum", momentum=hb.momentum
    )
    assert 0.25 < np.linalg.norm(plain[-1]) < 0.35
    assert np.linalg.norm(heavy[-1]) < 1e-3
    assert 2.4 < np.abs(heavy[:, 1]).max() < 2.8  # the first swing, further out than the start
    np.testing.assert_allclose(
        dynamics.mode_rate(np.array([1.0, 50.0]), 0.05, 0.6), [0.8, 0.775], atol=5e-4
    )


def test_l06_memory_table() -> None:
    """06, 'The price of reverse mode': 170 MB kept, 78 MB of parameters, 16 MB inference."""
    m = dynamics.backprop_memory((784, *[1000] * 10, 10), 1024)
    assert m.megabytes(m.stored_for_backward) == pytest.approx(170.4, abs=0.05)
    assert m.megabytes(m.parameters) == pytest.approx(78.4, abs=0.05)
    assert m.megabytes(m.inference) == pytest.approx(16.4, abs=0.05)
