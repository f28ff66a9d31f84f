"""Package functions that lesson 04 relies on: reference answers of its exercises and a plot."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from matplotlib.figure import Figure

from bpcourse import data, nn, optim
from bpcourse.dynamics import (
    early_stopping_epoch,
    largest_stable_lr,
    quadratic_descent,
    quadratic_descent_2d,
    sgd_epoch,
    train,
)
from bpcourse.plots import figure_to_png, plot_regression_fits

# --- largest_stable_lr ------------------------------------------------------------------------


def test_largest_stable_lr_of_a_curvature_and_of_matrices() -> None:
    assert largest_stable_lr(4.0) == 0.5
    assert largest_stable_lr([[1.0, 0.0], [0.0, 10.0]]) == pytest.approx(0.2)
    assert largest_stable_lr(np.array([[2.0, 1.0], [1.0, 2.0]])) == pytest.approx(2 / 3)
    assert largest_stable_lr(np.array([[5.0]])) == pytest.approx(0.4)


def test_largest_stable_lr_is_invariant_under_rotation() -> None:
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    eigenvalues = np.array([0.3, 1.0, 2.0, 7.5, 12.0])
    H = Q @ np.diag(eigenvalues) @ Q.T
    assert largest_stable_lr(H) == pytest.approx(2 / 12.0, rel=1e-12)


@pytest.mark.parametrize("factor, diverges", [(0.97, False), (1.03, True)])
def test_largest_stable_lr_predicts_the_threshold(factor: float, diverges: bool) -> None:
    curvatures = (1.0, 25.0)
    lr = factor * largest_stable_lr(np.diag(curvatures))
    path = quadratic_descent_2d(curvatures, lr, steps=400)
    assert (np.abs(path[-1, 1]) > 1.0) == diverges
    assert (abs(quadratic_descent(25.0, lr, steps=400)[-1]) > 1.0) == diverges


def test_largest_stable_lr_predicts_linear_regression_on_iris() -> None:
    """The lesson's claim: MSE of a linear model is a quadratic with H = 2 X~^T X~ / N."""
    X, _ = data.load_iris()
    X3, target = X[:, :3], X[:, 3:]
    X_tr, _, _, _ = data.train_val_split(X3, target, val_fraction=0.25, seed=0)
    X_tr, _, _ = data.standardize(X_tr)
    X_tilde = np.hstack([X_tr, np.ones((len(X_tr), 1))])
    lr_max = largest_stable_lr(2 * X_tilde.T @ X_tilde / len(X_tilde))
    below = train((X3, target), lr=0.98 * lr_max, layer_sizes=(3, 1), num_epochs=150)
    above = train((X3, target), lr=1.05 * lr_max, layer_sizes=(3, 1), num_epochs=150)
    assert not below.diverged and below.train_loss[-1] < 0.05
    assert above.diverged


# --- early_stopping_epoch ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "curve, patience, expected",
    [
        ([1.0, 0.8, 0.6, 0.55, 0.58, 0.6, 0.62, 0.63, 0.5], 3, (3, 6)),
        ([1.0, 0.9, 0.8, 0.7], 2, (3, 3)),
        ([1.0, 0.7, 0.7, 0.7, 0.6], 2, (1, 3)),  # an equal loss is no improvement
        ([0.5], 1, (0, 0)),
        ([0.5, 0.6], 1, (0, 1)),
        ([1.0, 2.0, 3.0, 0.1], 2, (0, 2)),
        ([1.0, 2.0, 3.0, 0.1], 3, (3, 3)),
    ],
)
def test_early_stopping_epoch_examples(
    curve: list[float], patience: int, expected: tuple[int, int]
) -> None:
    assert early_stopping_epoch(np.array(curve), patience) == expected


@pytest.mark.parametrize("patience", [5, 20])
def test_early_stopping_epoch_agrees_with_train(patience: int) -> None:
    run = train(
        "sine",
        lr=0.01,
        optimizer="adam",
        layer_sizes=(1, 32, 1),
        num_epochs=300,
        dataset_kw={"n_samples": 30, "noise": 0.3},
        val_fraction=0.5,
        early_stopping_patience=patience,
    )
    assert run.stopped_early
    assert early_stopping_epoch(run.val_loss, patience) == (run.best_epoch, run.num_epochs_run)


def test_early_stopping_epoch_without_stop_returns_the_last_epoch() -> None:
    curve = np.linspace(1.0, 0.1, 12)
    assert early_stopping_epoch(curve, 1) == (11, 11)


# --- sgd_epoch ---------------------------------------------------------------------------------


def _iris_batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = data.load_iris()
    rows = np.random.default_rng(seed).permutation(150)[:n]
    return data.standardize(X[rows])[0], y[rows]


def test_sgd_epoch_full_batch_is_one_optimizer_step() -> None:
    X, y = _iris_batch(20)
    model = nn.MLP([4, 6, 3], seed=1)
    twin = model.copy()
    losses = sgd_epoch(model, X, y, lr=0.3, batch_size=20, loss="softmax_cross_entropy")
    loss, grads = twin.gradients(X, y, loss="softmax_cross_entropy")
    optim.SGD(twin.parameters(), lr=0.3).step(grads)
    assert losses == [pytest.approx(loss, rel=1e-15)]
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("batch_size, n_batches", [(1, 11), (4, 3), (11, 1), (50, 1)])
def test_sgd_epoch_walks_the_batches_in_order(batch_size: int, n_batches: int) -> None:
    X, y = _iris_batch(11, seed=2)
    model = nn.MLP([4, 5, 3], seed=0)
    twin = model.copy()
    losses = sgd_epoch(model, X, y, lr=0.1, batch_size=batch_size, loss="softmax_cross_entropy")
    assert len(losses) == n_batches
    expected = []
    for start in range(0, 11, batch_size):
        rows = slice(start, start + batch_size)
        loss, grads = twin.gradients(X[rows], y[rows], loss="softmax_cross_entropy")
        optim.SGD(twin.parameters(), lr=0.1).step(grads)
        expected.append(loss)
    np.testing.assert_allclose(losses, expected, rtol=1e-13)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_sgd_epoch_matches_train_with_full_batches() -> None:
    """One full-batch epoch per call reproduces dynamics.train on the same split."""
    X, y = data.load_iris()
    X_tr, _, y_tr, _ = data.train_val_split(X, y, val_fraction=0.25, seed=0, stratify=True)
    X_tr, _, _ = data.standardize(X_tr)
    model = nn.MLP([4, 16, 3], activation="tanh", seed=0)
    losses = [
        sgd_epoch(model, X_tr, y_tr, 0.5, len(X_tr), "softmax_cross_entropy")[0] for _ in range(20)
    ]
    run = train("iris", lr=0.5, num_epochs=20)
    np.testing.assert_allclose(losses, run.train_loss[:20], rtol=1e-12)


def test_sgd_epoch_regression_targets() -> None:
    X, y = data.make_regression_1d(16, seed=3)
    model = nn.MLP([1, 8, 1], seed=3)
    before = model.loss(X, y)
    for _ in range(30):
        sgd_epoch(model, X, y, lr=0.1, batch_size=4)
    assert model.loss(X, y) < before


# --- plot_regression_fits ------------------------------------------------------------------------


def test_plot_regression_fits_draws_models_and_points() -> None:
    X, y = data.make_regression_1d(20, seed=0)
    X_tr, X_val, y_tr, y_val = data.train_val_split(X, y, val_fraction=0.5, seed=0)
    models = [nn.MLP([1, 4, 1], seed=s) for s in (0, 1)]
    fig = plot_regression_fits(X_tr, y_tr, models, ["a", "b"], X_val, y_val, title="fits")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["a", "b", "training data", "validation data"]
    assert figure_to_png(fig).startswith(b"\x89PNG")


def test_plot_regression_fits_single_model_on_given_axes() -> None:
    X, y = data.make_regression_1d(10, seed=1)
    base = Figure()
    ax = base.add_subplot()
    fig = plot_regression_fits(X, y[:, 0], nn.MLP([1, 3, 1]), ax=ax)
    assert fig is base and len(ax.get_lines()) == 2


# --- bad arguments -------------------------------------------------------------------------------

_MODEL = nn.MLP([1, 2, 1])
_X = np.zeros((4, 1))
_Y = np.zeros((4, 1))

CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("stable lr: zero curvature", lambda: largest_stable_lr(0.0), ValueError, "hessian"),
    ("stable lr: text", lambda: largest_stable_lr("H"), TypeError, "hessian"),
    ("stable lr: 1-D", lambda: largest_stable_lr([1.0, 2.0]), ValueError, "hessian"),
    ("stable lr: not square", lambda: largest_stable_lr(np.ones((2, 3))), ValueError, "square"),
    (
        "stable lr: not symmetric",
        lambda: largest_stable_lr([[1.0, 2.0], [0.0, 1.0]]),
        ValueError,
        "symmetric",
    ),
    ("stable lr: no curvature", lambda: largest_stable_lr(-np.eye(2)), ValueError, "positive"),
    ("stable lr: nan", lambda: largest_stable_lr([[np.nan]]), ValueError, "hessian"),
    ("early: empty", lambda: early_stopping_epoch([], 2), ValueError, "val_loss"),
    ("early: 2-D", lambda: early_stopping_epoch(np.ones((2, 2)), 2), ValueError, "val_loss"),
    ("early: patience 0", lambda: early_stopping_epoch([1.0, 2.0], 0), ValueError, "patience"),
    ("early: patience float", lambda: early_stopping_epoch([1.0], 1.5), TypeError, "patience"),
    ("early: nan", lambda: early_stopping_epoch([1.0, np.nan], 1), ValueError, "val_loss"),
    ("epoch: not a model", lambda: sgd_epoch("net", _X, _Y, 0.1, 2), TypeError, "model"),
    ("epoch: X 1-D", lambda: sgd_epoch(_MODEL, np.zeros(4), _Y, 0.1, 2), ValueError, "X"),
    ("epoch: rows differ", lambda: sgd_epoch(_MODEL, _X, _Y[:3], 0.1, 2), ValueError, "y"),
    ("epoch: lr zero", lambda: sgd_epoch(_MODEL, _X, _Y, 0.0, 2), ValueError, "lr"),
    ("epoch: batch zero", lambda: sgd_epoch(_MODEL, _X, _Y, 0.1, 0), ValueError, "batch_size"),
    ("epoch: batch float", lambda: sgd_epoch(_MODEL, _X, _Y, 0.1, 2.0), TypeError, "batch_size"),
    ("epoch: loss name", lambda: sgd_epoch(_MODEL, _X, _Y, 0.1, 2, "hinge"), ValueError, "loss"),
    ("fits: X 1-D", lambda: plot_regression_fits(np.zeros(4), _Y, _MODEL), ValueError, "X"),
    (
        "fits: two columns",
        lambda: plot_regression_fits(np.zeros((4, 2)), _Y, _MODEL),
        ValueError,
        "X",
    ),
    ("fits: y rows", lambda: plot_regression_fits(_X, _Y[:2], _MODEL), ValueError, "y"),
    (
        "fits: X_val alone",
        lambda: plot_regression_fits(_X, _Y, _MODEL, X_val=_X),
        ValueError,
        "y_val",
    ),
    ("fits: no model", lambda: plot_regression_fits(_X, _Y, [np.ones(3)]), TypeError, "models"),
    (
        "fits: labels",
        lambda: plot_regression_fits(_X, _Y, _MODEL, ["a", "b"]),
        ValueError,
        "labels",
    ),
]


@pytest.mark.parametrize("what, call, error, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_arguments(
    what: str, call: Callable[[], object], error: type[Exception], fragment: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=fragment):
            call()
