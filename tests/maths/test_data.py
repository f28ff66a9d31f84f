"""Data sets made in code, the shipped Iris data, splitting and standardisation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bpcourse.data import (
    DATASETS,
    IRIS_CLASS_NAMES,
    IRIS_FEATURE_NAMES,
    load_dataset,
    load_iris,
    make_moons,
    make_regression_1d,
    make_spirals,
    standardize,
    train_val_split,
)


def test_iris_shape_dtype_and_balance() -> None:
    X, y = load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float64
    assert y.shape == (150,) and np.issubdtype(y.dtype, np.integer)
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert len(IRIS_FEATURE_NAMES) == 4 and IRIS_CLASS_NAMES[0] == "setosa"


def test_iris_known_values() -> None:
    """Facts of Fisher's table: first row, column means, and petal length separates setosa."""
    X, y = load_iris()
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_allclose(X.mean(axis=0), [5.843333, 3.057333, 3.758, 1.199333], atol=1e-5)
    assert X[y == 0, 2].max() < X[y != 0, 2].min()


def test_iris_is_package_data() -> None:
    from importlib import resources

    assert resources.files("bpcourse").joinpath("datasets/iris.csv").is_file()


def test_moons_shapes_and_balance() -> None:
    X, y = make_moons(101, noise=0.0, seed=3)
    assert X.shape == (101, 2) and y.shape == (101,)
    assert np.bincount(y).tolist() == [50, 51]
    # noise-free points lie on their circles
    upper = X[y == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    lower = X[y == 1]
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)


@pytest.mark.parametrize(
    "maker",
    [
        lambda seed: make_moons(50, seed=seed),
        lambda seed: make_spirals(60, seed=seed),
        lambda seed: make_regression_1d(40, seed=seed),
    ],
    ids=["moons", "spirals", "sine"],
)
def test_seeded_reproducible_and_seed_dependent(maker: Callable) -> None:
    X1, y1 = maker(7)
    X2, y2 = maker(7)
    X3, _ = maker(8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_spirals_classes_and_radius() -> None:
    X, y = make_spirals(301, n_classes=4, noise=0.1, seed=0)
    assert X.shape == (301, 2) and sorted(set(y.tolist())) == [0, 1, 2, 3]
    assert np.bincount(y).min() >= 75
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-12


def test_regression_1d_is_noisy_sine() -> None:
    X, y = make_regression_1d(500, noise=0.1, seed=0)
    assert X.shape == (500, 1) and y.shape == (500, 1)
    resid = y - np.sin(X)
    assert 0.08 < resid.std() < 0.12
    X0, y0 = make_regression_1d(20, noise=0.0, seed=0, x_range=(0.0, 1.0))
    np.testing.assert_allclose(y0, np.sin(X0))
    assert X0.min() >= 0.0 and X0.max() <= 1.0


def test_train_val_split_partitions_rows() -> None:
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.3, seed=1)
    assert X_tr.shape == (7, 2) and X_val.shape == (3, 2)
    assert sorted(np.concatenate([y_tr, y_val]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)  # rows stay paired
    again = train_val_split(X, y, val_fraction=0.3, seed=1)
    np.testing.assert_array_equal(again[3], y_val)


def test_train_val_split_stratified_on_iris() -> None:
    X, y = load_iris()
    _, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.2, seed=0, stratify=True)
    assert np.bincount(y_val).tolist() == [10, 10, 10]
    assert np.bincount(y_tr).tolist() == [40, 40, 40]
    assert X_val.shape == (30, 4)


def test_standardize_fit_and_reuse() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(200, 3))
    X[:, 2] = 4.0  # a constant column is only centred
    Z, mu, sigma = standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1.0)
    assert sigma[2] == 1.0
    Z2, _, _ = standardize(X[:5], mu, sigma)
    np.testing.assert_allclose(Z2, Z[:5])


def test_standardize_features_whose_squares_overflow() -> None:
    """Features near 1e200 (their squares overflow float64) standardize as their scaled-down
    copies do, with mu and sigma in the features' own units, and a training run on them
    works instead of failing on an infinite sigma."""
    rng = np.random.default_rng(1)
    X = rng.normal(5.0, 3.0, size=(50, 2))
    big = X * np.array([1e200, 1.0])
    Z, mu, sigma = standardize(big)
    Z_ref, mu_ref, sigma_ref = standardize(X)
    np.testing.assert_allclose(Z, Z_ref, atol=1e-12)
    np.testing.assert_allclose(mu / [1e200, 1.0], mu_ref)
    np.testing.assert_allclose(sigma / [1e200, 1.0], sigma_ref)
    np.testing.assert_allclose(standardize(big[:5], mu, sigma)[0], Z[:5], atol=1e-12)
    constant = np.column_stack([big[:, 0], np.full(50, 3e300), np.zeros(50)])
    Z, mu, sigma = standardize(constant)  # constant features are only centred: sigma = 1
    assert (Z[:, 1:] == 0).all() and sigma[1:].tolist() == [1.0, 1.0]
    assert mu[1:].tolist() == [3e300, 0.0]
    from bpcourse import dynamics

    X_moons, y_moons = make_moons(40, seed=0)
    assert np.isfinite(dynamics.train((X_moons * 1e200, y_moons), num_epochs=5).train_loss).all()


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_load_dataset_by_name(name: str) -> None:
    ds = load_dataset(name, seed=0)
    assert ds.name == name and ds.X.ndim == 2 and ds.X.shape[0] == ds.y.shape[0]
    if ds.task == "classification":
        assert ds.y.ndim == 1 and ds.y.max() + 1 == ds.n_outputs
        assert ds.loss == "softmax_cross_entropy"
    else:
        assert ds.y.shape == (ds.X.shape[0], ds.n_outputs) and ds.loss == "mse"
    assert ds.n_features == ds.X.shape[1]


def test_load_dataset_passes_options() -> None:
    assert load_dataset("moons", n_samples=30, noise=0.0).X.shape == (30, 2)
