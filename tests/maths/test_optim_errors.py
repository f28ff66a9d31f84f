"""Catalogue of bad arguments to bpcourse.optim: each raises a clear, named error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bpcourse.optim import (
    SGD,
    Adam,
    Momentum,
    adam_step,
    clip_grad_norm,
    clip_grad_value,
    make_optimizer,
    momentum_step,
    sgd_step,
)

from error_catalogue import cases, check_error_case

Z2 = np.zeros(2)


def _params() -> list[np.ndarray]:
    return [np.zeros((3, 2)), np.zeros(2)]


CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("lr zero", lambda: sgd_step(Z2, Z2, 0.0), ValueError, "lr"),
    ("lr negative", lambda: SGD(_params(), -0.1), ValueError, "lr"),
    ("lr nan", lambda: SGD(_params(), float("nan")), ValueError, "lr"),
    ("lr inf", lambda: Adam(_params(), float("inf")), ValueError, "lr"),
    ("lr string", lambda: SGD(_params(), "0.1"), TypeError, "lr"),
    ("momentum 1", lambda: Momentum(_params(), 0.1, momentum=1.0), ValueError, "momentum"),
    ("momentum negative", lambda: momentum_step(Z2, Z2, Z2, 0.1, -0.1), ValueError, "momentum"),
    ("beta1 = 1", lambda: Adam(_params(), 0.1, betas=(1.0, 0.999)), ValueError, "betas[0]"),
    ("beta2 > 1", lambda: Adam(_params(), 0.1, betas=(0.9, 1.5)), ValueError, "betas[1]"),
    ("betas not a pair", lambda: Adam(_params(), 0.1, betas=(0.9,)), TypeError, "betas"),
    ("eps zero", lambda: Adam(_params(), 0.1, eps=0.0), ValueError, "eps"),
    ("adam t zero", lambda: adam_step(Z2, Z2, Z2, Z2, t=0), ValueError, "t"),
    ("grad shape", lambda: sgd_step(Z2, np.zeros((2, 1)), 0.1), ValueError, "grad"),
    ("grad nan", lambda: sgd_step(Z2, [np.nan, 0.0], 0.1), ValueError, "grad"),
    ("velocity shape", lambda: momentum_step(Z2, Z2, np.zeros(3), 0.1), ValueError, "velocity"),
    ("adam m shape", lambda: adam_step(Z2, Z2, np.zeros(3), Z2, t=1), ValueError, "m"),
    ("param string", lambda: sgd_step("w", Z2, 0.1), TypeError, "param"),
    ("params not a list", lambda: SGD(np.zeros(3), 0.1), TypeError, "params"),
    ("params empty", lambda: SGD([], 0.1), ValueError, "params"),
    ("params int dtype", lambda: SGD([np.zeros(2, dtype=int)], 0.1), TypeError, "params[0]"),
    ("params a list", lambda: SGD([[1.0, 2.0]], 0.1), TypeError, "params[0]"),
    ("step wrong count", lambda: SGD(_params(), 0.1).step([Z2]), ValueError, "grads"),
    (
        "step wrong shape names index",
        lambda: SGD(_params(), 0.1).step([np.zeros((3, 2)), np.zeros((2, 1))]),
        ValueError,
        "grads[1]",
    ),
    (
        "step nan grad",
        lambda: Adam(_params(), 0.1).step([np.full((3, 2), np.nan), Z2]),
        ValueError,
        "grads[0]",
    ),
    ("step bare array", lambda: SGD([Z2], 0.1).step(Z2), TypeError, "grads"),
    ("unknown optimizer", lambda: make_optimizer("rmsprop", _params(), 0.1), ValueError, "sgd"),
    (
        "unknown hyper-parameter",
        lambda: make_optimizer("sgd", _params(), 0.1, momentum=0.9),
        TypeError,
        "momentum",
    ),
    ("clip norm zero", lambda: clip_grad_norm([Z2], 0.0), ValueError, "max_norm"),
    (
        "lr too large for a float",
        lambda: SGD(_params(), 10**400),
        ValueError,
        "lr: expected a finite",
    ),
    ("clip norm bare array", lambda: clip_grad_norm(Z2, 1.0), TypeError, "grads"),
    ("clip norm nan", lambda: clip_grad_norm([np.array([np.nan])], 1.0), ValueError, "grads[0]"),
    ("clip value negative", lambda: clip_grad_value([Z2], -1.0), ValueError, "clip_value"),
    ("clip value inf", lambda: clip_grad_value([Z2], float("inf")), ValueError, "clip_value"),
]


@pytest.mark.parametrize(("label", "call", "exc", "needle"), cases(CASES))
def test_bad_argument_raises_named_error(
    label: str, call: Callable[[], object], exc: type[Exception], needle: str
) -> None:
    check_error_case(label, call, exc, needle)


def test_failed_step_leaves_params_untouched() -> None:
    W, b = np.ones((3, 2)), np.ones(2)
    opt = SGD([W, b], 0.1)
    with pytest.raises(ValueError):
        opt.step([np.ones((3, 2)), np.array([np.nan, 1.0])])
    np.testing.assert_array_equal(W, 1.0)
    np.testing.assert_array_equal(b, 1.0)
