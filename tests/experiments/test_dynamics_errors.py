"""Catalogue of bad arguments to bpcourse.dynamics: each raises a clear, named error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bpcourse.dynamics import (
    gradient_flow_experiment,
    layer_gradient_norms,
    layer_statistics,
    quadratic_descent,
    quadratic_descent_2d,
    quadratic_regime,
    theoretical_gradient_scale,
    train,
)

from error_catalogue import cases, check_error_case

X = np.zeros((10, 2))

CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("depth zero", lambda: layer_gradient_norms(0, 10), ValueError, "depth"),
    ("depth float", lambda: layer_gradient_norms(2.5, 10), TypeError, "depth"),
    ("width zero", lambda: layer_gradient_norms(3, 0), ValueError, "width"),
    ("unknown activation", lambda: layer_gradient_norms(3, 5, "swish"), ValueError, "activation"),
    ("unknown init", lambda: layer_gradient_norms(3, 5, "relu", "orthogonal"), ValueError, "init"),
    ("seed negative", lambda: layer_gradient_norms(3, 5, seed=-1), ValueError, "seed"),
    ("unknown kind", lambda: layer_gradient_norms(3, 5, kind="bias"), ValueError, "kind"),
    ("unknown loss", lambda: layer_gradient_norms(3, 5, loss="hinge"), ValueError, "loss"),
    ("bias init", lambda: layer_gradient_norms(3, 5, bias_init="ones"), ValueError, "bias_init"),
    ("inputs", lambda: layer_gradient_norms(3, 5, inputs="images"), ValueError, "inputs"),
    ("n_samples zero", lambda: layer_gradient_norms(3, 5, n_samples=0), ValueError, "n_samples"),
    (
        "one class for cross-entropy",
        lambda: layer_gradient_norms(3, 5, loss="softmax_cross_entropy", n_out=1),
        ValueError,
        "n_out",
    ),
    ("statistics depth", lambda: layer_statistics(0), ValueError, "depth"),
    ("statistics activation", lambda: layer_statistics(2, 5, "gelu"), ValueError, "activation"),
    (
        "prediction width",
        lambda: theoretical_gradient_scale(3, "relu", "he", 0),
        ValueError,
        "width",
    ),
    (
        "prediction init",
        lambda: theoretical_gradient_scale(3, "relu", "kaiming", 5),
        ValueError,
        "init",
    ),
    ("train lr zero", lambda: train("iris", lr=0.0), ValueError, "lr"),
    ("train lr nan", lambda: train("iris", lr=float("nan")), ValueError, "lr"),
    ("train optimizer", lambda: train("iris", optimizer="lbfgs"), ValueError, "optimizer"),
    ("train epochs", lambda: train("iris", num_epochs=0), ValueError, "num_epochs"),
    ("train dataset name", lambda: train("mnist"), ValueError, "dataset"),
    ("train dataset type", lambda: train(42), TypeError, "dataset"),
    ("train y rows", lambda: train((X, np.zeros((9, 1)))), ValueError, "dataset[1]"),
    ("train y 1-D float", lambda: train((X, np.zeros(10))), ValueError, "dataset[1]"),
    ("train X nan", lambda: train((np.full((10, 2), np.nan), np.zeros((10, 1)))), ValueError, "X"),
    ("train sizes in", lambda: train("iris", layer_sizes=(3, 8, 3)), ValueError, "layer_sizes"),
    ("train sizes out", lambda: train("iris", layer_sizes=(4, 8, 2)), ValueError, "layer_sizes"),
    ("train sizes string", lambda: train("iris", layer_sizes="4,8,3"), TypeError, "layer_sizes"),
    ("train size zero", lambda: train("iris", layer_sizes=(4, 0, 3)), ValueError, "layer_sizes[1]"),
    ("train clip kind", lambda: train("iris", clip=("max", 1.0)), ValueError, "clip[0]"),
    ("train clip threshold", lambda: train("iris", clip=("norm", -1.0)), ValueError, "clip[1]"),
    ("train clip bare number", lambda: train("iris", clip=1.0), TypeError, "clip"),
    ("train weight decay", lambda: train("iris", weight_decay=-0.1), ValueError, "weight_decay"),
    ("train batch size", lambda: train("iris", batch_size=0), ValueError, "batch_size"),
    ("train val fraction", lambda: train("iris", val_fraction=1.5), ValueError, "val_fraction"),
    (
        "train momentum",
        lambda: train("iris", optimizer="momentum", optimizer_kw={"momentum": 1.0}),
        ValueError,
        "momentum",
    ),
    ("train optimizer kw", lambda: train("iris", optimizer_kw={"beta": 0.9}), TypeError, "beta"),
    (
        "train divergence factor",
        lambda: train("iris", divergence_factor=0.5),
        ValueError,
        "divergence_factor",
    ),
    (
        "train patience",
        lambda: train("iris", early_stopping_patience=0),
        ValueError,
        "early_stopping_patience",
    ),
    ("train progress", lambda: train("iris", progress="bar"), TypeError, "progress"),
    ("train activation", lambda: train("iris", activation="elu"), ValueError, "activation"),
    (
        "experiment dataset",
        lambda: gradient_flow_experiment(3, dataset="iris"),
        ValueError,
        "dataset",
    ),
    ("experiment clip", lambda: gradient_flow_experiment(3, clip=("norm",)), TypeError, "clip"),
    ("experiment lr", lambda: gradient_flow_experiment(3, lr=0), ValueError, "lr"),
    ("quadratic curvature", lambda: quadratic_descent(0.0, 0.1), ValueError, "curvature"),
    ("quadratic lr", lambda: quadratic_descent(1.0, -0.1), ValueError, "lr"),
    ("quadratic steps", lambda: quadratic_descent(1.0, 0.1, steps=0), ValueError, "steps"),
    ("quadratic x0 nan", lambda: quadratic_descent(1.0, 0.1, x0=float("nan")), ValueError, "x0"),
    ("quadratic x0 vector", lambda: quadratic_descent(1.0, 0.1, x0=[1.0, 2.0]), ValueError, "x0"),
    ("regime lr", lambda: quadratic_regime(1.0, 0.0), ValueError, "lr"),
    ("2-D curvatures", lambda: quadratic_descent_2d((1.0, -1.0)), ValueError, "curvatures"),
    (
        "2-D three curvatures",
        lambda: quadratic_descent_2d((1.0, 2.0, 3.0)),
        ValueError,
        "curvatures",
    ),
    ("2-D x0 shape", lambda: quadratic_descent_2d(x0=(1.0, 2.0, 3.0)), ValueError, "x0"),
    ("2-D optimizer", lambda: quadratic_descent_2d(optimizer="newton"), ValueError, "optimizer"),
]


@pytest.mark.parametrize(("label", "call", "exc", "needle"), cases(CASES))
def test_bad_argument_raises_named_error(
    label: str, call: Callable[[], object], exc: type[Exception], needle: str
) -> None:
    check_error_case(label, call, exc, needle)
