r"""Losses of a batch and their gradients with respect to the network output.

"mse" is the mean over all elements of $(\hat y - y)^2$; "softmax_cross_entropy" is the batch
mean of $-\log \mathrm{softmax}(\hat y)_y$ with integer class labels ``y``. :data:`LOSSES`
holds both by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    describe,
)
from bpcourse.nn._checks import Array, _as_checked_array


@dataclass(frozen=True)
class Loss:
    r"""A loss function of the network output and its gradient.

    Attributes:
        name: the registry name.
        value: ``value(y_hat, y)`` -> the scalar loss $L$ (checks its arguments).
        grad: ``grad(y_hat, y)`` -> $\partial L / \partial \hat y$, shaped like ``y_hat``
            (checks its arguments).
        check_target: ``check_target(y, output_shape)`` validates the targets for an output of
            shape (N, n_out) and returns them in the form the kernels expect.
        value_kernel: ``value`` without the checks, for targets that ``check_target`` returned.
        grad_kernel: ``grad`` without the checks, likewise (used by :class:`MLP`, which checks
            its arguments once per call).
    """

    name: str
    value: Callable[[Any, Any], Any]
    grad: Callable[[Any, Any], Array]
    check_target: Callable[[Any, tuple[int, ...]], Array]
    value_kernel: Callable[[Array, Array], Any] = field(repr=False)
    grad_kernel: Callable[[Array, Array], Array] = field(repr=False)


def _scalar(x: Any) -> Any:
    """A numpy scalar as a Python float (or complex, for complex-step checks)."""
    return x.item()


def _mse_value(y_hat: Array, y: Array) -> Any:
    diff = (y_hat - y).ravel()
    return _scalar(np.dot(diff, diff) / diff.size)  # dot, not vdot: no conjugate (analytic)


def _mse_grad(y_hat: Array, y: Array) -> Array:
    grad = y_hat - y
    grad *= 2.0 / grad.size
    return grad


def _log_softmax(Z: Array) -> Array:
    r"""$\log \mathrm{softmax}(Z)$ along the last axis by the log-sum-exp trick.

    Subtracting the row maximum $m$ changes nothing mathematically,
    $\log \frac{e^{z_j}}{\sum_k e^{z_k}} = (z_j - m) - \log \sum_k e^{z_k - m}$, but keeps every
    exponent $\le 0$. The shift uses the real part only, so complex input stays analytic.
    """
    S = Z - Z.real.max(axis=-1, keepdims=True)
    S -= np.log(np.exp(S).sum(axis=-1, keepdims=True))
    return S


def _softmax(Z: Array) -> Array:
    E = Z - Z.real.max(axis=-1, keepdims=True)
    np.exp(E, out=E)
    E /= E.sum(axis=-1, keepdims=True)
    return E


def _softmax_cross_entropy_value(logits: Array, y: Array) -> Any:
    N = logits.shape[0]
    log_p = _log_softmax(logits)
    return _scalar(-log_p[np.arange(N), y].sum() / N)


def _softmax_cross_entropy_grad(logits: Array, y: Array) -> Array:
    N = logits.shape[0]
    grad = _softmax(logits)
    grad[np.arange(N), y] -= 1.0  # softmax - one_hot(y)
    grad /= N
    return grad


def _check_regression_target(y: Any, output_shape: tuple[int, ...]) -> Array:
    """Targets for MSE: shaped like the output; (N,) is accepted for an (N, 1) output."""
    y = _as_checked_array("y", y)
    if y.shape == output_shape:
        return y
    one_output = len(output_shape) == 2 and output_shape[1] == 1
    if one_output and y.shape == output_shape[:1]:
        return y.reshape(output_shape)
    expected = f"shape {output_shape}, the shape of the output y_hat"
    if one_output:
        expected += f", or ({output_shape[0]},)"
    elif y.ndim == 1:
        expected += " (a 1-D y is accepted only when there is one output)"
    raise ValueError(f"y: expected {expected}, got shape {y.shape}")


def _check_class_labels(y: Any, output_shape: tuple[int, ...], name: str = "y") -> Array:
    """Targets for softmax cross-entropy: integer labels (N,) in 0..C-1 for (N, C) logits.

    ``name`` is the argument the labels came in as, for the messages. One class (C = 1) is
    accepted, as PyTorch does: softmax is then 1, the loss 0 and every gradient 0.
    """
    N, C = output_shape
    expected = f"integer class labels of shape ({N},) with values in 0..{C - 1}"
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"{name}: expected {expected}, got {describe(y)}")
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected {expected}, got dtype {arr.dtype}")
    if arr.shape != (N,):
        hint = (
            " (one-hot targets are not accepted: pass y.argmax(axis=1))"
            if arr.shape == (N, C) and C > 1
            else ""
        )
        raise ValueError(f"{name}: expected {expected}, got shape {arr.shape}{hint}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: expected {expected}, got NaN or infinite entries")
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise ValueError(f"{name}: expected {expected}, got a non-integer label {float(bad)!r}")
    labels = arr.astype(np.intp, copy=False)
    # One pass checks 0 <= label < C: read as unsigned, a negative label is a huge number.
    if labels.view(np.uintp).max() >= C:
        low, high = int(labels.min()), int(labels.max())
        raise ValueError(
            f"{name}: expected {expected} (the output has {C} classes), got labels from {low} "
            f"to {high}"
        )
    return labels


def mse(y_hat: Any, y: Any) -> Any:
    r"""Mean squared error $L = \frac{1}{n}\sum_i (\hat y_i - y_i)^2$ over all $n$ elements.

    Like PyTorch's ``MSELoss()`` (mean reduction).

    Args:
        y_hat: predictions, (N,) or (N, n_out).
        y: targets shaped like ``y_hat``; (N,) is also accepted when ``y_hat`` is (N, 1).
            Any other mismatch is a ValueError (never a silent broadcast to (N, N)).

    Returns:
        The loss as a float (complex when ``y_hat`` is complex).
    """
    y_hat = _check_predictions(y_hat)
    y = _check_regression_target(y, y_hat.shape)
    return _mse_value(y_hat, y)


def mse_grad(y_hat: Any, y: Any) -> Array:
    r"""Gradient of :func:`mse`: $\partial L / \partial \hat y = \frac{2}{n}(\hat y - y)$.

    Args:
        y_hat: predictions, (N,) or (N, n_out).
        y: targets, as for :func:`mse`.

    Returns:
        An array shaped like ``y_hat``.
    """
    y_hat = _check_predictions(y_hat)
    y = _check_regression_target(y, y_hat.shape)
    return _mse_grad(y_hat, y)


def _check_predictions(y_hat: Any) -> Array:
    y_hat = as_array("y_hat", y_hat, ndim=(1, 2), allow_complex=True)
    if y_hat.size == 0:  # the mean over no element is not defined
        raise ValueError(f"y_hat: expected at least one prediction, got shape {y_hat.shape}")
    return y_hat


def softmax(Z: Any) -> Array:
    r"""Softmax along the last axis, $\mathrm{softmax}(z)_j = e^{z_j} / \sum_k e^{z_k}$.

    Computed as $e^{z_j - m} / \sum_k e^{z_k - m}$ with $m = \max_k z_k$, which never
    overflows: each row sums to 1 even for logits like 1e4.

    Args:
        Z: logits, (C,) or (N, C).

    Returns:
        Probabilities shaped like ``Z``.
    """
    Z = as_array("Z", Z, ndim=(1, 2), allow_complex=True)
    if Z.shape[-1] == 0:
        raise ValueError(f"Z: expected at least one class (column), got shape {Z.shape}")
    return _softmax(Z)


def _check_logits(logits: Any) -> Array:
    logits = as_array("logits", logits, ndim=2, allow_complex=True)
    if logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits: expected shape (N, C) with N, C >= 1, got {logits.shape}")
    return logits


def softmax_cross_entropy(logits: Any, y: Any) -> Any:
    r"""Mean cross-entropy of softmax probabilities and integer labels.

    $L = -\frac{1}{N}\sum_{i} \log \mathrm{softmax}(z_i)_{y_i}$, computed with log-sum-exp so
    that logits of any size are safe. Like PyTorch's ``CrossEntropyLoss()``.

    Args:
        logits: (N, C) unnormalised scores.
        y: (N,) integer class labels in 0..C-1 (integral floats are accepted).

    Returns:
        The loss as a float.
    """
    logits = _check_logits(logits)
    labels = _check_class_labels(y, logits.shape)
    return _softmax_cross_entropy_value(logits, labels)


def softmax_cross_entropy_grad(logits: Any, y: Any) -> Array:
    r"""Gradient of :func:`softmax_cross_entropy`: $(\mathrm{softmax}(Z) - \mathrm{onehot}(y))/N$.

    Args:
        logits: (N, C).
        y: (N,) integer class labels.

    Returns:
        (N, C), the gradient with respect to the logits.
    """
    logits = _check_logits(logits)
    labels = _check_class_labels(y, logits.shape)
    return _softmax_cross_entropy_grad(logits, labels)


#: The losses by name. "mse" is the mean over all elements of $(\hat y - y)^2$ (PyTorch's
#: ``MSELoss()``); "softmax_cross_entropy" is the batch mean of $-\log \mathrm{softmax}(\hat y)_y$
#: (PyTorch's ``CrossEntropyLoss()``), with ``y`` integer class labels.
LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", mse, mse_grad, _check_regression_target, _mse_value, _mse_grad),
    "softmax_cross_entropy": Loss(
        "softmax_cross_entropy",
        softmax_cross_entropy,
        softmax_cross_entropy_grad,
        _check_class_labels,
        _softmax_cross_entropy_value,
        _softmax_cross_entropy_grad,
    ),
}


def _mse_value_and_grad(y_hat: Array, y: Array) -> tuple[Any, Array]:
    """``(_mse_value, _mse_grad)`` of the same arguments with one difference ``y_hat - y``."""
    grad = y_hat - y
    flat = grad.ravel()
    value = _scalar(flat.dot(flat) / flat.size)  # the same BLAS call as np.dot in _mse_value
    grad *= 2.0 / grad.size
    return value, grad


def _softmax_cross_entropy_value_and_grad(logits: Array, y: Array) -> tuple[Any, Array]:
    """The value and gradient of softmax cross-entropy sharing one softmax.

    The value is computed with the same arithmetic as ``_softmax_cross_entropy_value`` (equal
    to the last bit). The entries $(i, y_i)$ are reached by ``take`` and ``put`` at the flat
    index $i C + y_i$: one index array instead of two (rows and labels) costs less.
    """
    N, C = logits.shape
    picked = np.arange(0, N * C, C) + y  # flat (row-major) index of (i, y_i)
    S = logits - logits.real.max(axis=-1, keepdims=True)
    E = np.exp(S)
    total = E.sum(axis=-1, keepdims=True)
    value = _scalar(-(S.take(picked) - np.log(total)[:, 0]).sum() / N)
    E /= total * N  # softmax / N
    E.put(picked, E.take(picked) - 1.0 / N)  # (softmax - one_hot(y)) / N
    return value, E


#: ``(value, dL/dy_hat)`` in one pass, by loss name, for targets from ``check_target``.
_VALUE_AND_GRAD: dict[str, Callable[[Array, Array], tuple[Any, Array]]] = {
    "mse": _mse_value_and_grad,
    "softmax_cross_entropy": _softmax_cross_entropy_value_and_grad,
}
