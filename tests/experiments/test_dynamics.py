"""The experiments behind the explorers: gradient norms, statistics, predictions, training."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpcourse import nn
from bpcourse.data import load_dataset
from bpcourse.dynamics import (
    GradientScalePrediction,
    gradient_flow_experiment,
    layer_gradient_norms,
    layer_statistics,
    quadratic_descent,
    quadratic_descent_2d,
    quadratic_regime,
    theoretical_gradient_scale,
    train,
)

# --- layer_gradient_norms -------------------------------------------------------------------


def test_norms_one_per_hidden_layer_first_first() -> None:
    norms = layer_gradient_norms(7, 12, "tanh", "xavier")
    assert norms.shape == (7,) and norms.dtype == np.float64
    assert layer_gradient_norms(7, 12, "tanh", "xavier", include_output=True).shape == (8,)


def test_norms_match_a_direct_backward_pass() -> None:
    """kind='delta' is ||dL/db^l|| and kind='weight' is ||dL/dW^l||_F of the same network."""
    depth, width, seed = 4, 9, 3
    delta = layer_gradient_norms(depth, width, "sigmoid", "he", seed, n_samples=20, n_out=3)
    weight = layer_gradient_norms(
        depth, width, "sigmoid", "he", seed, n_samples=20, n_out=3, kind="weight"
    )
    model = nn.MLP((width, *[width] * depth, 3), "sigmoid", init="he", seed=seed)
    rng = np.random.default_rng([seed, 1])
    X = rng.standard_normal((20, width))
    y = np.eye(3)[rng.integers(0, 3, size=20)]
    _, dW, db = model.loss_and_gradients(X, y)
    np.testing.assert_allclose(delta, [np.linalg.norm(g) for g in db[:-1]], rtol=1e-12)
    np.testing.assert_allclose(weight, [np.linalg.norm(g) for g in dW[:-1]], rtol=1e-12)


def test_norms_seeded_and_returned_as_fresh_arrays() -> None:
    a = layer_gradient_norms(5, 10, "relu", "he", seed=1)
    a[:] = -1.0  # must not corrupt the cache
    b = layer_gradient_norms(5, 10, "relu", "he", seed=1)
    assert np.all(b > 0)
    assert not np.allclose(b, layer_gradient_norms(5, 10, "relu", "he", seed=2))


def test_norms_with_cross_entropy_and_uniform_inputs() -> None:
    norms = layer_gradient_norms(
        3, 8, "tanh", "lecun", loss="softmax_cross_entropy", inputs="uniform", n_in=5, n_out=4
    )
    assert norms.shape == (3,) and np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_normal_bias_init_changes_the_probe() -> None:
    zeros = layer_gradient_norms(3, 10, "sigmoid", "lecun")
    normal = layer_gradient_norms(3, 10, "sigmoid", "lecun", bias_init="normal")
    assert not np.allclose(zeros, normal)


# --- layer_statistics -----------------------------------------------------------------------


def test_statistics_shapes_and_ranges() -> None:
    stats = layer_statistics(6, 20, "tanh", "xavier")
    for arr in (stats.mean, stats.std, stats.saturation, stats.dead_units, stats.derivative_rms):
        assert arr.shape == (6,)
    assert np.all((stats.saturation >= 0) & (stats.saturation <= 1))
    assert stats.saturation_rule == "|a| > 0.99" and stats.activation == "tanh"


def test_relu_he_has_half_the_units_off() -> None:
    stats = layer_statistics(5, 200, "relu", "he", n_samples=200)
    np.testing.assert_allclose(stats.saturation, 0.5, atol=0.1)
    np.testing.assert_allclose(stats.derivative_rms, np.sqrt(0.5), atol=0.1)


def test_tanh_with_unit_variance_weights_saturates() -> None:
    """N(0, 1) weights on 50 inputs give pre-activations of std ~6.5: tanh sits at +-1."""
    stats = layer_statistics(5, 50, "tanh", "normal")
    calm = layer_statistics(5, 50, "tanh", "xavier")
    assert np.all(stats.saturation[1:] > 0.6)
    assert np.all(calm.saturation < 0.05)
    assert np.all(stats.derivative_rms[1:] < 0.5 * calm.derivative_rms[1:])


def test_sigmoid_mean_near_half() -> None:
    stats = layer_statistics(4, 30, "sigmoid", "xavier")
    np.testing.assert_allclose(stats.mean, 0.5, atol=0.1)
    assert np.all(stats.derivative_rms <= 0.25)


# --- theoretical_gradient_scale -------------------------------------------------------------


def test_prediction_relu_he_is_constant() -> None:
    pred = theoretical_gradient_scale(12, "relu", "he", 30)
    assert isinstance(pred, GradientScalePrediction)
    assert pred.factor == pytest.approx(1.0)
    np.testing.assert_allclose(pred.scale, 1.0)
    assert pred.kind == "estimate"


def test_prediction_sigmoid_quarter_per_layer() -> None:
    pred = theoretical_gradient_scale(5, "sigmoid", "xavier", 30)
    assert pred is not None and pred.kind == "upper bound"
    np.testing.assert_allclose(pred.scale, 0.25 ** np.arange(4, -1, -1))
    assert "1/4" in pred.description


def test_prediction_normal_init_grows_with_width() -> None:
    pred = theoretical_gradient_scale(3, "identity", "normal", 16)
    assert pred is not None and pred.factor == pytest.approx(4.0)


@pytest.mark.parametrize("init", ["normal", "lecun", "xavier", "he"])
@pytest.mark.parametrize("activation", sorted(nn.ACTIVATIONS))
def test_prediction_known_for_every_registered_pair(activation: str, init: str) -> None:
    pred = theoretical_gradient_scale(4, activation, init, 10)
    assert pred is not None and pred.scale.shape == (4,) and pred.scale[-1] == 1.0


def test_sigmoid_measurement_obeys_the_quarter_bound() -> None:
    depth = 15
    norms = layer_gradient_norms(depth, 30, "sigmoid", "xavier")
    pred = theoretical_gradient_scale(depth, "sigmoid", "xavier", 30)
    assert pred is not None
    # measured first/last no larger than the bound (1/4)^(depth-1), with slack for sampling
    assert norms[0] / norms[-1] <= 10 * pred.scale[0]


# --- train ----------------------------------------------------------------------------------


def test_train_good_lr_learns_iris() -> None:
    res = train("iris", lr=0.5, num_epochs=150)
    assert not res.diverged and res.diverged_epoch is None
    assert res.train_loss.shape == (151,) and res.val_loss.shape == (151,)
    assert res.train_loss[-1] < 0.2 * res.train_loss[0]
    assert res.val_accuracy is not None and res.val_accuracy[-1] >= 0.9
    assert res.grad_norms.shape == (150, 2) and res.weight_change.shape == (151, 2)
    assert np.all(res.weight_change[0] == 0) and res.task == "classification"
    assert res.model is not None and res.config["lr"] == 0.5


def test_train_divergence_is_clean() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = train("sine", lr=5.0, num_epochs=100)
    assert res.diverged and res.diverged_epoch is not None and res.diverged_epoch <= 10
    assert len(res.train_loss) == res.diverged_epoch  # epochs 0 .. k-1 recorded
    assert np.all(np.isfinite(res.train_loss)) and np.all(np.isfinite(res.val_loss))
    assert res.grad_norms.shape[0] == len(res.train_loss) - 1


def test_train_clipping_prevents_divergence() -> None:
    plain = train("sine", lr=2.0, num_epochs=60)
    clipped = train("sine", lr=2.0, num_epochs=60, clip=("norm", 1.0))
    by_value = train("sine", lr=2.0, num_epochs=60, clip=("value", 0.1))
    assert plain.diverged
    assert not clipped.diverged and clipped.n_clipped > 0
    assert not by_value.diverged and by_value.n_clipped > 0
    assert clipped.config["clip"] == ("norm", 1.0)


def test_train_optimizers_and_minibatches() -> None:
    for optimizer, kw in (("momentum", {"momentum": 0.8}), ("adam", {})):
        res = train("moons", lr=0.05, optimizer=optimizer, optimizer_kw=kw, num_epochs=40)
        assert res.train_loss[-1] < res.train_loss[0]
    mini = train("iris", lr=0.1, batch_size=16, num_epochs=20)
    assert mini.train_loss[-1] < 0.5 * mini.train_loss[0]


def test_train_weight_decay_shrinks_weights() -> None:
    kw = {"lr": 0.05, "optimizer": "adam", "num_epochs": 200, "layer_sizes": (1, 32, 1)}
    plain = train("sine", **kw)
    decayed = train("sine", weight_decay=0.1, **kw)
    norm = [sum(float(np.sum(W * W)) for W in r.model.weights) for r in (plain, decayed)]
    assert norm[1] < norm[0]


def test_train_early_stopping() -> None:
    res = train(
        "sine",
        lr=0.05,
        optimizer="adam",
        num_epochs=2000,
        layer_sizes=(1, 64, 64, 1),
        dataset_kw={"n_samples": 20, "noise": 0.3},
        early_stopping_patience=50,
    )
    assert res.stopped_early
    assert res.num_epochs_run == res.best_epoch + 50
    assert res.val_loss[res.best_epoch] == res.val_loss.min()


def test_train_accepts_arrays_and_datasets() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    reg = train((X, X[:, :1] * 2.0), lr=0.1, num_epochs=30)
    assert reg.task == "regression" and reg.loss == "mse" and reg.train_accuracy is None
    cls = train((X, (X[:, 0] > 0).astype(int)), lr=0.5, num_epochs=30)
    assert cls.task == "classification" and cls.train_loss[-1] < cls.train_loss[0]
    ds = train(load_dataset("spirals", n_samples=60), lr=0.5, num_epochs=5)
    assert ds.config["dataset"] == "spirals"


def test_train_progress_callback() -> None:
    seen: list[tuple[int, int]] = []
    train("iris", lr=0.1, num_epochs=7, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(k, 7) for k in range(1, 8)]


def test_train_is_deterministic() -> None:
    a = train("moons", lr=0.3, num_epochs=10, batch_size=32)
    b = train("moons", lr=0.3, num_epochs=10, batch_size=32)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)


# --- gradient_flow_experiment ---------------------------------------------------------------


def test_gradient_flow_experiment_cached_and_read_only() -> None:
    a = gradient_flow_experiment(6, 12, "sigmoid", "xavier", 0.2)
    b = gradient_flow_experiment(6, 12, "sigmoid", "xavier", 0.2)
    assert a is b
    assert a.norms.shape == (6,) and not a.norms.flags.writeable
    assert not a.run.train_loss.flags.writeable and a.run.model is None
    assert a.run.weight_change.shape[1] == 7 and a.settings["depth"] == 6
    clipped = gradient_flow_experiment(6, 12, "sigmoid", "xavier", 0.2, ("norm", 0.5))
    assert clipped is not a and clipped.settings["clip"] == ("norm", 0.5)


# --- quadratics -----------------------------------------------------------------------------


def test_quadratic_closed_form() -> None:
    traj = quadratic_descent(curvature=3.0, lr=0.1, steps=10, x0=2.0)
    np.testing.assert_allclose(traj, 2.0 * 0.7 ** np.arange(11))


@pytest.mark.parametrize(
    ("lr", "regime"),
    [
        (0.2, "converges monotonically"),
        (0.5, "converges in one step"),
        (0.8, "oscillates and converges"),
        (1.0, "oscillates forever"),
        (1.2, "diverges"),
    ],
)
def test_quadratic_regimes(lr: float, regime: str) -> None:
    assert quadratic_regime(2.0, lr) == regime
    traj = quadratic_descent(2.0, lr, steps=30)
    if regime == "diverges":
        assert abs(traj[-1]) > 100
    elif regime == "oscillates forever":
        np.testing.assert_allclose(np.abs(traj), 1.0)
    else:
        assert abs(traj[-1]) < 1e-2
    if regime.startswith("oscillates"):
        assert np.all(np.sign(traj[1:]) == -np.sign(traj[:-1]))


def test_quadratic_overflow_truncates_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = quadratic_descent(1.0, 1e6, steps=200)
        traj2 = quadratic_descent_2d((1.0, 10.0), 1e5, steps=200)
    assert 1 < len(traj) < 201 and np.all(np.isfinite(traj))
    assert 1 < len(traj2) < 201 and np.all(np.isfinite(traj2))


def test_quadratic_2d_limited_by_the_largest_curvature() -> None:
    ok = quadratic_descent_2d((1.0, 10.0), lr=0.19, steps=100)
    bad = quadratic_descent_2d((1.0, 10.0), lr=0.21, steps=100)
    assert ok.shape == (101, 2) and np.linalg.norm(ok[-1]) < 1e-3
    assert abs(bad[-1, 1]) > 1.0 and abs(bad[-1, 0]) < 1e-3  # steep axis explodes, flat converges


def test_quadratic_2d_with_adam() -> None:
    traj = quadratic_descent_2d((1.0, 100.0), lr=0.05, steps=300, optimizer="adam")
    assert np.linalg.norm(traj[-1]) < 0.05
