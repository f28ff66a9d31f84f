"""Catalogue of bad arguments to bpcourse.data: each raises a clear, named error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bpcourse.data import (
    load_dataset,
    make_moons,
    make_regression_1d,
    make_spirals,
    standardize,
    train_val_split,
)

from error_catalogue import cases, check_error_case

X10 = np.zeros((10, 2))
Y10 = np.arange(10)

CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("moons n 1", lambda: make_moons(1), ValueError, "n_samples"),
    ("moons n float", lambda: make_moons(10.5), TypeError, "n_samples"),
    ("moons noise negative", lambda: make_moons(10, noise=-0.1), ValueError, "noise"),
    ("moons noise nan", lambda: make_moons(10, noise=float("nan")), ValueError, "noise"),
    ("moons seed negative", lambda: make_moons(10, seed=-1), ValueError, "seed"),
    ("spirals one class", lambda: make_spirals(10, n_classes=1), ValueError, "n_classes"),
    ("spirals too few", lambda: make_spirals(5, n_classes=3), ValueError, "n_samples"),
    ("spirals turns zero", lambda: make_spirals(30, turns=0.0), ValueError, "turns"),
    ("sine n zero", lambda: make_regression_1d(0), ValueError, "n_samples"),
    ("sine range reversed", lambda: make_regression_1d(5, x_range=(1, 0)), ValueError, "x_range"),
    ("sine range scalar", lambda: make_regression_1d(5, x_range=3.0), TypeError, "x_range"),
    ("split X 1-D", lambda: train_val_split(np.zeros(10), Y10), ValueError, "X"),
    ("split y rows", lambda: train_val_split(X10, np.arange(9)), ValueError, "y"),
    ("split y nan", lambda: train_val_split(X10, np.full(10, np.nan)), ValueError, "y"),
    ("split X nan", lambda: train_val_split(np.full((10, 2), np.nan), Y10), ValueError, "X"),
    ("split fraction 0", lambda: train_val_split(X10, Y10, 0.0), ValueError, "val_fraction"),
    ("split fraction 1", lambda: train_val_split(X10, Y10, 1.0), ValueError, "val_fraction"),
    ("split one row", lambda: train_val_split(np.zeros((1, 2)), [0]), ValueError, "X"),
    (
        "stratify float y",
        lambda: train_val_split(X10, np.zeros(10), stratify=True),
        ValueError,
        "stratify",
    ),
    ("standardize 1-D", lambda: standardize(np.zeros(5)), ValueError, "X"),
    ("standardize mean only", lambda: standardize(X10, mean=np.zeros(2)), ValueError, "std"),
    (
        "standardize mean shape",
        lambda: standardize(X10, np.zeros((2, 1)), np.ones(2)),
        ValueError,
        "mean",
    ),
    ("standardize std shape", lambda: standardize(X10, np.zeros(2), np.ones(3)), ValueError, "std"),
    ("standardize std zero", lambda: standardize(X10, np.zeros(2), np.zeros(2)), ValueError, "std"),
    ("unknown dataset", lambda: load_dataset("mnist"), ValueError, "iris"),
    ("iris options", lambda: load_dataset("iris", n_samples=10), TypeError, "iris"),
    ("dataset name not str", lambda: load_dataset(3), TypeError, "name (the dataset)"),
]


@pytest.mark.parametrize(("label", "call", "exc", "needle"), cases(CASES))
def test_bad_argument_raises_named_error(
    label: str, call: Callable[[], object], exc: type[Exception], needle: str
) -> None:
    check_error_case(label, call, exc, needle)
