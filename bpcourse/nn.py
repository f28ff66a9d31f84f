r"""Vectorized dense networks: activations, losses, dense layers and an MLP with backprop.

Conventions (those of lesson 03):

- a batch is a matrix ``X`` of shape (N, n_in), one example per row;
- layer $l = 1, \dots, L$ computes $Z^{(l)} = A^{(l-1)} W^{(l)} + b^{(l)}$ and
  $A^{(l)} = f_l(Z^{(l)})$ with $W^{(l)}$ of shape (n_{l-1}, n_l), $b^{(l)}$ of shape (n_l,)
  and $A^{(0)} = X$; the last activation $A^{(L)}$ is the prediction ``y_hat``;
- a gradient named ``dW`` is $\partial L / \partial W$ and has the shape of ``W``.

The backward pass is the chain rule applied layer by layer, last layer first:

$$\delta^{(L)} = \frac{\partial L}{\partial \hat y} \odot f_L'(Z^{(L)}), \qquad
\delta^{(l-1)} = \big(\delta^{(l)} W^{(l)\top}\big) \odot f_{l-1}'(Z^{(l-1)}),$$
$$\frac{\partial L}{\partial W^{(l)}} = A^{(l-1)\top} \delta^{(l)}, \qquad
\frac{\partial L}{\partial b^{(l)}} = \textstyle\sum_{\text{rows}} \delta^{(l)}.$$

The pieces are available one by one (:func:`dense_forward`, :func:`dense_backward`,
:data:`ACTIVATIONS`, :data:`LOSSES`) and assembled in :class:`MLP`, whose
:meth:`MLP.backprop` returns every intermediate of one pass (a :class:`Trace`).

Complex numbers: the activations and losses are written so that complex weights flow through
them unchanged and the functions stay complex-analytic where the real function is smooth
(ReLU and leaky ReLU decide by the real part). That is what the complex-step gradient check
of :mod:`bpcourse.gradcheck` needs.
"""

from __future__ import annotations

import copy as _copy
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_choice,
    check_clip,
    check_positive_int,
    check_positive_number,
    check_shape,
    describe,
)

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LEAKY_RELU_SLOPE",
    "LOSSES",
    "MLP",
    "RNN",
    "SEQUENCE_CLIPS",
    "Activation",
    "Loss",
    "RNNGradients",
    "RNNTrace",
    "Trace",
    "activate",
    "activation_derivative",
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "dense_backward",
    "dense_forward",
    "init_weights",
    "mse",
    "mse_grad",
    "recurrent_weights",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
]

Array = np.ndarray

#: Slope of leaky ReLU for negative inputs (PyTorch's default).
LEAKY_RELU_SLOPE = 0.01


# ---------------------------------------------------------------------------------------------
# Activations: a table of f and f', like a calculus cheat sheet
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """An elementwise activation function and its derivative.

    Attributes:
        name: the registry name, e.g. ``"tanh"``.
        f: $A = f(Z)$, elementwise, any shape.
        df: $\\partial A / \\partial Z = f'(Z)$ elementwise, given both ``Z`` and ``A = f(Z)``
            (some derivatives are cheapest written with the output, e.g.
            $\\tanh'(z) = 1 - \\tanh^2(z) = 1 - a^2$).

    A rule written with ``A`` is as accurate in absolute terms as ``A`` itself (about 1e-16),
    but for a saturated unit, where $1 - |a|$ is tiny ($|z| \\gtrsim 8$ for tanh), its
    *relative* accuracy drops to about $10^{-16} / (1 - |a|)$. Such a unit passes almost no
    gradient, so training is unaffected; only a gradient check at a 1e-10 tolerance notices.
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array, Array], Array]


def _sigmoid(Z: Array) -> Array:
    r"""$\sigma(z) = 1/(1 + e^{-z})$ without overflow.

    For $z \ge 0$ it uses $1/(1 + e^{-z})$, for $z < 0$ the equal $e^{z}/(1 + e^{z})$: the
    exponent is never positive, so nothing overflows and small values keep full relative
    precision.
    """
    nonneg = Z.real >= 0
    E = np.exp(np.where(nonneg, -Z, Z))  # e^{-|z|}
    return np.where(nonneg, 1.0, E) / (1.0 + E)


def _relu(Z: Array) -> Array:
    return np.where(Z.real > 0, Z, 0.0)


def _leaky_relu(Z: Array) -> Array:
    return np.where(Z.real > 0, Z, LEAKY_RELU_SLOPE * Z)


def _step(Z: Array, low: float) -> Array:
    """1.0 where the real part of z is positive, ``low`` elsewhere (ReLU-type derivatives)."""
    return np.where(Z.real > 0, 1.0, low)


# fmt: off
_ACTIVATION_TABLE = (
    #          name          f(z)          f'(z), given z and a = f(z)
    Activation("identity",   lambda Z: Z,  lambda Z, A: np.ones_like(A)),        # 1
    Activation("sigmoid",    _sigmoid,     lambda Z, A: A * (1.0 - A)),          # σ(z) (1 − σ(z))
    Activation("tanh",       np.tanh,      lambda Z, A: 1.0 - A * A),            # 1 − tanh²(z)
    Activation("relu",       _relu,        lambda Z, A: _step(Z, 0.0)),          # 1 (z > 0) or 0
    Activation("leaky_relu", _leaky_relu,  lambda Z, A: _step(Z, LEAKY_RELU_SLOPE)),  # 1 or slope
)
# fmt: on

#: The activations by name. ReLU's derivative at exactly 0 is taken as 0 (as in PyTorch).
ACTIVATIONS: dict[str, Activation] = {act.name: act for act in _ACTIVATION_TABLE}


def activate(name: str, Z: Any) -> Array:
    """Apply the activation ``name`` elementwise.

    Args:
        name: one of :data:`ACTIVATIONS`.
        Z: pre-activations, any shape (real or complex).

    Returns:
        $f(Z)$, shaped like ``Z``.
    """
    check_choice("name", name, ACTIVATIONS)
    Z = as_array("Z", Z, allow_complex=True)
    return ACTIVATIONS[name].f(Z)


def activation_derivative(name: str, Z: Any, A: Any = None) -> Array:
    """Elementwise derivative $f'(Z)$ of the activation ``name``.

    Args:
        name: one of :data:`ACTIVATIONS`.
        Z: pre-activations, any shape.
        A: ``f(Z)`` if already computed (same shape as ``Z``); computed when omitted.

    Returns:
        $\\partial A / \\partial Z$ elementwise, shaped like ``Z``.
    """
    check_choice("name", name, ACTIVATIONS)
    Z = as_array("Z", Z, allow_complex=True)
    act = ACTIVATIONS[name]
    if A is None:
        A = act.f(Z)
    else:
        A = as_array("A", A, allow_complex=True)
        check_shape("A", A, Z.shape, "(the shape of Z)")
    return act.df(Z, A)


# The same rules once more, for the training fast path of MLP on real float64 arrays. They work
# in place to avoid temporaries: _F_INPLACE[name](Z) overwrites Z with f(Z) and returns it;
# _DF_INPLACE[name](dA, A) multiplies dA by f'(Z) using only A = f(Z), and uses A as scratch.


def _sigmoid_inplace(Z: Array) -> Array:
    nonneg = Z >= 0
    np.abs(Z, out=Z)
    np.negative(Z, out=Z)
    np.exp(Z, out=Z)  # E = e^{-|z|}
    denominator = 1.0 + Z
    np.copyto(Z, 1.0, where=nonneg)  # numerator: 1 for z >= 0, E for z < 0
    np.divide(Z, denominator, out=Z)
    return Z


def _sigmoid_df_inplace(dA: Array, A: Array) -> None:
    np.multiply(dA, A, out=dA)
    np.subtract(1.0, A, out=A)
    np.multiply(dA, A, out=dA)  # dA * a * (1 - a)


def _tanh_df_inplace(dA: Array, A: Array) -> None:
    np.multiply(A, A, out=A)
    np.subtract(1.0, A, out=A)
    np.multiply(dA, A, out=dA)  # dA * (1 - a²)


def _leaky_relu_df_inplace(dA: Array, A: Array) -> None:
    np.multiply(dA, np.where(A > 0, 1.0, LEAKY_RELU_SLOPE), out=dA)  # a > 0 exactly when z > 0


def _identity_df_inplace(dA: Array, A: Array) -> None:
    return None


_F_INPLACE: dict[str, Callable[[Array], Array]] = {
    "identity": lambda Z: Z,
    "sigmoid": _sigmoid_inplace,
    "tanh": lambda Z: np.tanh(Z, out=Z),
    "relu": lambda Z: np.maximum(Z, 0.0, out=Z),
    "leaky_relu": lambda Z: np.maximum(Z, LEAKY_RELU_SLOPE * Z, out=Z),
}
_DF_INPLACE: dict[str, Callable[[Array, Array], None]] = {
    "identity": _identity_df_inplace,
    "sigmoid": _sigmoid_df_inplace,
    "tanh": _tanh_df_inplace,
    "relu": lambda dA, A: np.multiply(dA, A > 0, out=dA),  # a > 0 exactly when z > 0
    "leaky_relu": _leaky_relu_df_inplace,
}


# ---------------------------------------------------------------------------------------------
# Weight initialisation
# ---------------------------------------------------------------------------------------------

InitFn = Callable[[int, int, np.random.Generator], Array]


def _gaussian_init(std: Callable[[int, int], float]) -> InitFn:
    """An init drawing the (n_in, n_out) entries from $N(0, \\sigma^2)$, σ = std(n_in, n_out)."""

    def init(n_in: int, n_out: int, rng: np.random.Generator) -> Array:
        return std(n_in, n_out) * rng.standard_normal((n_in, n_out))

    return init


#: Weight initialisations by name: each maps (n_in, n_out, rng) to an (n_in, n_out) array.
INITS: dict[str, InitFn] = {
    # N(0, 1): ignores the layer width, so signals grow or shrink with depth
    "normal": _gaussian_init(lambda n_in, n_out: 1.0),
    # N(0, 1/n_in): keeps the variance of Z near that of A (LeCun et al., 1998)
    "lecun": _gaussian_init(lambda n_in, n_out: math.sqrt(1.0 / n_in)),
    # N(0, 2/(n_in + n_out)): balances forward and backward variance (Glorot & Bengio, 2010)
    "xavier": _gaussian_init(lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out))),
    # N(0, 2/n_in): makes up for ReLU zeroing half its inputs (He et al., 2015)
    "he": _gaussian_init(lambda n_in, n_out: math.sqrt(2.0 / n_in)),
}


def init_weights(init: str, n_in: int, n_out: int, rng: Any) -> Array:
    """Draw an (n_in, n_out) weight matrix with the initialisation ``init``.

    Args:
        init: one of :data:`INITS` (``"normal"``, ``"lecun"``, ``"xavier"``, ``"he"``).
        n_in: number of inputs of the layer (rows of W).
        n_out: number of outputs of the layer (columns of W).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        W: (n_in, n_out), float64.
    """
    check_choice("init", init, INITS)
    n_in = check_positive_int("n_in", n_in)
    n_out = check_positive_int("n_out", n_out)
    if not isinstance(rng, np.random.Generator):
        seed = check_positive_int("rng", rng, minimum=0)
        rng = np.random.default_rng(seed)
    return INITS[init](n_in, n_out, rng)


# ---------------------------------------------------------------------------------------------
# Argument checks on the training path
# ---------------------------------------------------------------------------------------------


def _as_checked_array(name: str, value: Any, **kwargs: Any) -> Array:
    r"""``as_array`` with a shortcut for the usual case, a finite float64 ndarray.

    The shortcut tests finiteness with one dot product: $\sum_i x_i^2$ is finite only if
    every $x_i$ is (an inf or NaN entry makes it inf or NaN). A finite array whose squares
    overflow fails the shortcut and is then checked entry by entry by ``as_array``.
    """
    if type(value) is np.ndarray and value.dtype == np.float64:
        flat = value.ravel()
        if np.isfinite(np.dot(flat, flat)):
            ndim = kwargs.get("ndim")
            if ndim is None or value.ndim == ndim:
                return value
    return as_array(name, value, **kwargs)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


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


def _check_class_labels(y: Any, output_shape: tuple[int, ...]) -> Array:
    """Targets for softmax cross-entropy: integer labels (N,) in 0..C-1 for (N, C) logits."""
    N, C = output_shape
    expected = f"integer class labels of shape ({N},) with values in 0..{C - 1}"
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"y: expected {expected}, got {describe(y)}")
    arr = np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"y: expected {expected}, got dtype {arr.dtype}")
    if arr.shape != (N,):
        hint = (
            " (one-hot targets are not accepted: pass y.argmax(axis=1))"
            if arr.shape == (N, C) and C > 1
            else ""
        )
        raise ValueError(f"y: expected {expected}, got shape {arr.shape}{hint}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"y: expected {expected}, got NaN or infinite entries")
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise ValueError(f"y: expected {expected}, got a non-integer label {float(bad)!r}")
    labels = arr.astype(np.intp, copy=False)
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= C:
        raise ValueError(
            f"y: expected {expected} (the output has {C} classes), got labels from {low} to {high}"
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
    y_hat = as_array("y_hat", y_hat, ndim=(1, 2), allow_complex=True)
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
    y_hat = as_array("y_hat", y_hat, ndim=(1, 2), allow_complex=True)
    y = _check_regression_target(y, y_hat.shape)
    return _mse_grad(y_hat, y)


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


# ---------------------------------------------------------------------------------------------
# One dense layer (the reference functions, CS231n style)
# ---------------------------------------------------------------------------------------------


def dense_forward(X: Any, W: Any, b: Any) -> Array:
    r"""Affine layer $Z = X W + b$.

    Args:
        X: (N, n_in) inputs, one example per row.
        W: (n_in, n_out) weights.
        b: (n_out,) biases, added to every row.

    Returns:
        Z: (N, n_out) pre-activations.
    """
    W = as_array("W", W, ndim=2, allow_complex=True)
    n_in, n_out = W.shape
    X = as_array("X", X, ndim=2, allow_complex=True)
    check_shape("X", X, (None, n_in), "(N, n_in) with n_in = W.shape[0]")
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (n_out,), "(n_out,) with n_out = W.shape[1]")
    return X @ W + b


def dense_backward(dZ: Any, X: Any, W: Any) -> tuple[Array, Array, Array]:
    r"""Backward pass of :func:`dense_forward`, given $dZ = \partial L / \partial Z$.

    $dX = dZ\,W^\top$, $dW = X^\top dZ$, $db = \sum_{\text{rows}} dZ$: each is the chain rule
    for $Z = XW + b$ written for the whole batch at once.

    Args:
        dZ: (N, n_out) gradient of the loss with respect to the layer output Z.
        X: (N, n_in) the layer's input from the forward pass.
        W: (n_in, n_out) the layer's weights.

    Returns:
        dX: (N, n_in), dW: (n_in, n_out), db: (n_out,).
    """
    W = as_array("W", W, ndim=2, allow_complex=True)
    n_in, n_out = W.shape
    X = as_array("X", X, ndim=2, allow_complex=True)
    check_shape("X", X, (None, n_in), "(N, n_in) with n_in = W.shape[0]")
    dZ = as_array("dZ", dZ, ndim=2, allow_complex=True)
    check_shape("dZ", dZ, (X.shape[0], n_out), "(N, n_out): N = X.shape[0], n_out = W.shape[1]")
    dX = dZ @ W.T
    dW = X.T @ dZ
    db = dZ.sum(axis=0)
    return dX, dW, db


# ---------------------------------------------------------------------------------------------
# The multilayer perceptron
# ---------------------------------------------------------------------------------------------


@dataclass
class Trace:
    """Everything one forward and backward pass of :meth:`MLP.backprop` computed.

    Lists are ordered first layer first; for a network with L layers:

    Attributes:
        loss: the loss value.
        Z: L pre-activations, ``Z[l]`` of shape (N, n_{l+1}).
        A: L + 1 activations: ``A[0]`` is X, ``A[l] = f(Z[l-1])``, ``A[-1]`` is y_hat.
        deltas: L arrays $\\delta = \\partial L / \\partial Z$, shaped like ``Z``.
        dweights: L gradients, shaped like ``MLP.weights``.
        dbiases: L gradients, shaped like ``MLP.biases``.
    """

    loss: Any
    Z: list[Array]
    A: list[Array]
    deltas: list[Array]
    dweights: list[Array]
    dbiases: list[Array]

    @property
    def y_hat(self) -> Array:
        """The network output, ``A[-1]``."""
        return self.A[-1]


class MLP:
    """A fully connected network trained by backpropagation.

    Layer ``l`` computes $A^{(l)} = f(A^{(l-1)} W^{(l)} + b^{(l)})$ with ``activation`` in
    the hidden layers and ``output_activation`` in the last one.

    Args:
        layer_sizes: (n_in, hidden..., n_out), at least two positive integers.
        activation: hidden-layer activation, one of :data:`ACTIVATIONS`.
        output_activation: last-layer activation (``"identity"`` gives raw scores, as
            PyTorch's losses expect).
        init: weight initialisation, one of :data:`INITS`; biases start at zero.
        seed: integer seed of ``numpy.random.default_rng`` for the weights.

    Attributes:
        weights: list of (n_in, n_out) float64 arrays, first layer first.
        biases: list of (n_out,) float64 arrays.

    Example:
        >>> net = MLP([2, 3, 1], seed=0)
        >>> X = np.array([[0.5, -1.0], [2.0, 0.0]])
        >>> loss, dweights, dbiases = net.loss_and_gradients(X, np.array([1.0, 0.0]))
        >>> [dW.shape for dW in dweights]
        [(2, 3), (3, 1)]
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "tanh",
        output_activation: str = "identity",
        init: str = "xavier",
        seed: int = 0,
    ) -> None:
        if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
            raise TypeError(
                f"layer_sizes: expected a sequence of positive integers such as [2, 16, 1], "
                f"got {describe(layer_sizes)}"
            )
        if len(layer_sizes) < 2:
            raise ValueError(
                f"layer_sizes: expected at least 2 sizes (inputs and outputs), "
                f"got {list(layer_sizes)!r}"
            )
        self.layer_sizes: tuple[int, ...] = tuple(
            check_positive_int(f"layer_sizes[{i}]", n) for i, n in enumerate(layer_sizes)
        )
        self.activation: str = check_choice("activation", activation, ACTIVATIONS)
        self.output_activation: str = check_choice(
            "output_activation", output_activation, ACTIVATIONS
        )
        self.init: str = check_choice("init", init, INITS)
        self.seed: int = check_positive_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        sizes = self.layer_sizes
        self.weights: list[Array] = [
            INITS[init](n_in, n_out, rng) for n_in, n_out in itertools.pairwise(sizes)
        ]
        self.biases: list[Array] = [np.zeros(n_out) for n_out in sizes[1:]]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({list(self.layer_sizes)}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, init={self.init!r}, "
            f"seed={self.seed})"
        )

    @property
    def n_layers(self) -> int:
        """Number of weight layers L (one less than ``len(layer_sizes)``)."""
        return len(self.weights)

    def parameters(self) -> list[Array]:
        """The live parameter arrays ``[W1, b1, W2, b2, ...]`` (optimizers update them in place)."""
        params: list[Array] = []
        for W, b in zip(self.weights, self.biases):
            params += (W, b)
        return params

    def copy(self) -> MLP:
        """An independent copy (same class and settings, copied arrays)."""
        new = _copy.copy(self)
        new.weights = [W.copy() for W in self.weights]
        new.biases = [b.copy() for b in self.biases]
        return new

    # --- public entry points: validate once, then run the unchecked passes below -----------

    def forward(self, X: Any) -> Array:
        """Predictions for a batch.

        Args:
            X: (N, n_in) inputs.

        Returns:
            y_hat: (N, n_out).
        """
        X = self._check_input(X)
        return self._run(self._forward, X)

    def loss(self, X: Any, y: Any, loss: str = "mse") -> Any:
        """The loss of the network on a batch (see :data:`LOSSES`).

        Args:
            X: (N, n_in) inputs.
            y: targets: (N, n_out) (or (N,) with one output) for ``"mse"``, integer labels
                (N,) for ``"softmax_cross_entropy"``.
            loss: the loss name.

        Returns:
            The loss as a float (a complex number when the weights are complex).
        """
        X, y, loss_fn = self._check_batch(X, y, loss)
        return loss_fn.value_kernel(self._run(self._forward, X), y)

    def loss_and_gradients(
        self, X: Any, y: Any, loss: str = "mse"
    ) -> tuple[Any, list[Array], list[Array]]:
        """The loss and its gradients with respect to every weight and bias.

        Args:
            X: (N, n_in) inputs.
            y: targets, as for :meth:`loss`.
            loss: the loss name.

        Returns:
            (loss, dweights, dbiases) with ``dweights[l]`` shaped like ``weights[l]`` and
            ``dbiases[l]`` like ``biases[l]``.
        """
        X, y, loss_fn = self._check_batch(X, y, loss)
        if not self._all_float64(X):
            trace = self._run(self._backprop, X, y, loss_fn)
            return trace.loss, trace.dweights, trace.dbiases
        return self._run(self._train_step, X, y, loss_fn)

    def backprop(self, X: Any, y: Any, loss: str = "mse") -> Trace:
        """One forward and backward pass, keeping every per-layer intermediate.

        Slower than :meth:`loss_and_gradients` (it keeps all arrays), but shows the whole
        computation: see :class:`Trace`.

        Args:
            X: (N, n_in) inputs.
            y: targets, as for :meth:`loss`.
            loss: the loss name.

        Returns:
            A :class:`Trace` with loss, Z, A, deltas, dweights and dbiases.
        """
        X, y, loss_fn = self._check_batch(X, y, loss)
        return self._run(self._backprop, X, y, loss_fn)

    # --- argument checks -------------------------------------------------------------------

    def _check_input(self, X: Any) -> Array:
        n_in = self.layer_sizes[0]
        X = _as_checked_array("X", X, ndim=2, allow_complex=True)
        check_shape("X", X, (None, n_in), f"(N, n_in) with n_in = layer_sizes[0] = {n_in}")
        if X.shape[0] == 0:
            raise ValueError(f"X: expected at least one row (example), got shape {X.shape}")
        return X

    def _check_batch(self, X: Any, y: Any, loss: str) -> tuple[Array, Array, Loss]:
        loss_fn = LOSSES[check_choice("loss", loss, LOSSES)]
        X = self._check_input(X)
        y = loss_fn.check_target(y, (X.shape[0], self.layer_sizes[-1]))
        return X, y, loss_fn

    def _check_parameters(self) -> None:
        """Raise a readable error if a weight or bias no longer has its layer's shape."""
        sizes = self.layer_sizes
        if len(self.weights) != len(sizes) - 1 or len(self.biases) != len(sizes) - 1:
            raise ValueError(
                f"weights/biases: expected {len(sizes) - 1} arrays each for layer_sizes "
                f"{sizes}, got {len(self.weights)} weights and {len(self.biases)} biases"
            )
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            check_shape(f"weights[{l - 1}]", np.asarray(W), (sizes[l - 1], sizes[l]))
            check_shape(f"biases[{l - 1}]", np.asarray(b), (sizes[l],))

    def _run(self, method: Callable[..., Any], *args: Any) -> Any:
        """Run a pass; a numpy shape error caused by an edited parameter gets a clear message."""
        try:
            return method(*args)
        except ValueError:
            self._check_parameters()
            raise

    def _all_float64(self, X: Array) -> bool:
        if X.dtype != np.float64:
            return False
        for W, b in zip(self.weights, self.biases):
            if W.dtype != np.float64 or b.dtype != np.float64:
                return False
        return True

    def _layer_activations(self) -> list[str]:
        return [self.activation] * (len(self.weights) - 1) + [self.output_activation]

    # --- the passes (inputs already checked) -----------------------------------------------

    def _forward(self, X: Array) -> Array:
        names = self._layer_activations()
        if not self._all_float64(X) or not all(n in _F_INPLACE for n in names):
            A = X
            for W, b, name in zip(self.weights, self.biases, names):
                A = ACTIVATIONS[name].f(A @ W + b)
            return A
        A = X
        for W, b, name in zip(self.weights, self.biases, names):
            Z = A @ W
            Z += b
            A = _F_INPLACE[name](Z)  # f(Z) written over Z: no temporary
        return A

    def _backprop(self, X: Array, y: Array, loss_fn: Loss) -> Trace:
        """The reference pass: the formulas of the module docstring, keeping everything."""
        names = self._layer_activations()
        L = len(self.weights)
        Z_list: list[Array] = []
        A_list: list[Array] = [X]
        for W, b, name in zip(self.weights, self.biases, names):
            Z = A_list[-1] @ W + b  # dense_forward
            Z_list.append(Z)
            A_list.append(ACTIVATIONS[name].f(Z))
        y_hat = A_list[-1]
        value = loss_fn.value_kernel(y_hat, y)
        dA = loss_fn.grad_kernel(y_hat, y)  # dL/dy_hat
        deltas: list[Array] = [dA] * L
        dweights: list[Array] = [dA] * L
        dbiases: list[Array] = [dA] * L
        for l in reversed(range(L)):
            delta = dA * ACTIVATIONS[names[l]].df(Z_list[l], A_list[l + 1])  # dL/dZ
            deltas[l] = delta
            dweights[l] = A_list[l].T @ delta  # dense_backward
            dbiases[l] = delta.sum(axis=0)
            if l > 0:
                dA = delta @ self.weights[l].T
        return Trace(value, Z_list, A_list, deltas, dweights, dbiases)

    def _train_step(
        self, X: Array, y: Array, loss_fn: Loss
    ) -> tuple[Any, list[Array], list[Array]]:
        """The fast pass for real float64 data: the same formulas with fewer temporaries.

        The forward pass keeps only the activations, since every derivative in the table can
        be written with A alone (tanh' = 1 - a², relu' = [a > 0], ...). Those derivatives are
        then computed in place over A, which the backward pass no longer needs once the layer's
        dW is known. The input layer's dX is not computed at all.
        """
        names = self._layer_activations()
        if not all(n in _F_INPLACE for n in names):
            trace = self._backprop(X, y, loss_fn)
            return trace.loss, trace.dweights, trace.dbiases
        weights = self.weights
        L = len(weights)
        A_list = [X]
        A = X
        for W, b, name in zip(weights, self.biases, names):
            Z = A @ W
            Z += b
            A = _F_INPLACE[name](Z)
            A_list.append(A)
        value = loss_fn.value_kernel(A, y)
        delta = loss_fn.grad_kernel(A, y)  # dL/dy_hat, a fresh array
        _DF_INPLACE[names[-1]](delta, A)  # now dL/dZ of the last layer
        dweights: list[Array] = [delta] * L
        dbiases: list[Array] = [delta] * L
        df_hidden = _DF_INPLACE[self.activation]
        for l in range(L - 1, 0, -1):
            A_prev = A_list[l]
            dweights[l] = A_prev.T @ delta
            dbiases[l] = delta.sum(axis=0)
            delta_prev = delta @ weights[l].T
            df_hidden(delta_prev, A_prev)  # A_prev is used up here
            delta = delta_prev
        dweights[0] = X.T @ delta
        dbiases[0] = delta.sum(axis=0)
        return value, dweights, dbiases


# ---------------------------------------------------------------------------------------------
# Convolution layers (lesson 06)
# ---------------------------------------------------------------------------------------------
#
# A convolution layer slides a small kernel over its input and, at every position, takes the
# same weighted sum. As in every deep-learning library, "convolution" here is computed as a
# cross-correlation (the kernel is not flipped in the forward pass); stride 1, no padding
# ("valid"). The backward pass of the input is a *full* correlation of the upstream gradient with
# the flipped kernel, i.e. a true convolution: that is the point of lesson 06.

_CONV_AXES = {1: "(N, C_in, L)", 2: "(N, C_in, H, W)"}
_KERNEL_AXES = {1: "(C_out, C_in, k)", 2: "(C_out, C_in, kh, kw)"}


def _check_conv_input_kernel(X: Any, K: Any, d: int) -> tuple[Array, Array]:
    """Validate X and K of a d-dimensional convolution (d = 1 or 2)."""
    X = as_array("X", X, ndim=2 + d, allow_complex=True)
    K = as_array("K", K, ndim=2 + d, allow_complex=True)
    if X.shape[0] == 0:
        raise ValueError(f"X: expected at least one example, got shape {X.shape}")
    if K.shape[0] == 0 or K.shape[1] == 0 or min(K.shape[2:]) == 0:
        raise ValueError(f"K: expected a non-empty kernel {_KERNEL_AXES[d]}, got shape {K.shape}")
    if K.shape[1] != X.shape[1]:
        raise ValueError(
            f"K: expected shape {_KERNEL_AXES[d]} with C_in = X.shape[1] = {X.shape[1]}, got "
            f"shape {K.shape} (C_in = {K.shape[1]})"
        )
    if any(k > n for k, n in zip(K.shape[2:], X.shape[2:])):
        raise ValueError(
            f"K: kernel size {K.shape[2:]} is larger than the input size {X.shape[2:]}; a "
            f"'valid' convolution needs the kernel to fit inside X {_CONV_AXES[d]}"
        )
    return X, K


def _check_conv_bias(b: Any, c_out: int) -> Array:
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (c_out,), "(C_out,) with C_out = K.shape[0]")
    return b


def _correlate(X: Array, K: Array) -> Array:
    r"""Valid cross-correlation of ``X`` (N, C_in, *S) with ``K`` (C_out, C_in, *k).

    $Y_{n,o,p} = \sum_{c} \sum_{j} X_{n,c,p+j} K_{o,c,j}$ over all kernel offsets $j$: the
    windows of X are gathered without copying (``sliding_window_view``, "im2col") and
    contracted with the kernel in one ``tensordot``.
    """
    d = K.ndim - 2
    windows = np.lib.stride_tricks.sliding_window_view(X, K.shape[2:], axis=tuple(range(2, 2 + d)))
    # windows: (N, C_in, *out, *k); contract C_in and the kernel offsets
    out = np.tensordot(windows, K, axes=((1, *range(2 + d, 2 + 2 * d)), (1, *range(2, 2 + d))))
    return np.moveaxis(out, -1, 1)  # (N, *out, C_out) -> (N, C_out, *out)


def _kernel_gradient(dY: Array, X: Array, kernel_size: tuple[int, ...]) -> Array:
    r"""$dK_{o,c,j} = \sum_n \sum_p dY_{n,o,p} X_{n,c,p+j}$: a correlation of X with dY."""
    d = len(kernel_size)
    windows = np.lib.stride_tricks.sliding_window_view(X, kernel_size, axis=tuple(range(2, 2 + d)))
    # contract the batch and every output position: the kernel is shared by all of them
    return np.tensordot(dY, windows, axes=((0, *range(2, 2 + d)), (0, *range(2, 2 + d))))


def _input_gradient(dY: Array, K: Array) -> Array:
    r"""$dX$ as a *full* correlation of dY with the flipped, channel-swapped kernel.

    $dX_{n,c,s} = \sum_o \sum_j dY_{n,o,s-j} K_{o,c,j}$ (terms with $s - j$ outside dY are 0).
    Padding dY with $k - 1$ zeros on each side and correlating with $K$ flipped along its
    spatial axes and with C_in and C_out swapped computes exactly that sum.
    """
    d = K.ndim - 2
    pad = [(0, 0), (0, 0)] + [(k - 1, k - 1) for k in K.shape[2:]]
    flipped = np.flip(K, axis=tuple(range(2, 2 + d))).swapaxes(0, 1)  # (C_in, C_out, *k)
    return _correlate(np.pad(dY, pad), flipped)


def _conv_forward(X: Any, K: Any, b: Any, d: int) -> Array:
    X, K = _check_conv_input_kernel(X, K, d)
    b = _check_conv_bias(b, K.shape[0])
    return _correlate(X, K) + b.reshape((-1,) + (1,) * d)


def _conv_backward(dY: Any, X: Any, K: Any, d: int) -> tuple[Array, Array, Array]:
    X, K = _check_conv_input_kernel(X, K, d)
    out_size = tuple(n - k + 1 for n, k in zip(X.shape[2:], K.shape[2:]))
    out_shape = (X.shape[0], K.shape[0], *out_size)
    dY = as_array("dY", dY, ndim=2 + d, allow_complex=True)
    check_shape(
        "dY", dY, out_shape, "(N, C_out, *out): the shape of the forward output, out = in - k + 1"
    )
    dX = _input_gradient(dY, K)
    dK = _kernel_gradient(dY, X, K.shape[2:])
    db = dY.sum(axis=(0, *range(2, 2 + d)))
    return dX, dK, db


def conv1d_forward(X: Any, K: Any, b: Any) -> Array:
    r"""1-D convolution layer (cross-correlation, stride 1, "valid"), as ``torch.nn.Conv1d``.

    $$Y_{n,o,t} = b_o + \sum_{c=1}^{C_\text{in}} \sum_{j=0}^{k-1} X_{n,c,t+j}\,K_{o,c,j},
    \qquad t = 0, \dots, L - k.$$

    Args:
        X: (N, C_in, L) inputs: N sequences of C_in channels and length L.
        K: (C_out, C_in, k) kernels, one (C_in, k) filter per output channel, k <= L.
        b: (C_out,) biases.

    Returns:
        Y: (N, C_out, L - k + 1).
    """
    return _conv_forward(X, K, b, 1)


def conv1d_backward(dY: Any, X: Any, K: Any) -> tuple[Array, Array, Array]:
    r"""Backward pass of :func:`conv1d_forward`, given $dY = \partial L / \partial Y$.

    - $dK_{o,c,j} = \sum_n \sum_t dY_{n,o,t} X_{n,c,t+j}$: the kernel is shared by every
      position and every example, so its gradient **sums** their contributions;
    - $db_o = \sum_n \sum_t dY_{n,o,t}$;
    - $dX_{n,c,s} = \sum_o \sum_j dY_{n,o,s-j} K_{o,c,j}$: a *full* convolution of dY with
      the kernel, i.e. a correlation of the zero-padded dY with the **flipped** kernel.

    Args:
        dY: (N, C_out, L - k + 1) gradient of the loss with respect to the output.
        X: (N, C_in, L) the layer's input.
        K: (C_out, C_in, k) the layer's kernels.

    Returns:
        dX: (N, C_in, L), dK: (C_out, C_in, k), db: (C_out,).
    """
    return _conv_backward(dY, X, K, 1)


def conv2d_forward(X: Any, K: Any, b: Any) -> Array:
    r"""2-D convolution layer (cross-correlation, stride 1, "valid"), as ``torch.nn.Conv2d``.

    $$Y_{n,o,r,s} = b_o + \sum_{c} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1}
    X_{n,c,r+i,s+j}\,K_{o,c,i,j}.$$

    Args:
        X: (N, C_in, H, W) images.
        K: (C_out, C_in, kh, kw) kernels with kh <= H and kw <= W.
        b: (C_out,) biases.

    Returns:
        Y: (N, C_out, H - kh + 1, W - kw + 1).
    """
    return _conv_forward(X, K, b, 2)


def conv2d_backward(dY: Any, X: Any, K: Any) -> tuple[Array, Array, Array]:
    r"""Backward pass of :func:`conv2d_forward`, given $dY = \partial L / \partial Y$.

    As in 1-D: $dK$ correlates the input with dY (summing over examples and positions),
    $db$ sums dY over everything but the channel, and $dX$ is the full convolution of dY with
    the kernel, flipped in both spatial directions, with input and output channels swapped.

    Args:
        dY: (N, C_out, H - kh + 1, W - kw + 1) gradient with respect to the output.
        X: (N, C_in, H, W) the layer's input.
        K: (C_out, C_in, kh, kw) the layer's kernels.

    Returns:
        dX: (N, C_in, H, W), dK: (C_out, C_in, kh, kw), db: (C_out,).
    """
    return _conv_backward(dY, X, K, 2)


# ---------------------------------------------------------------------------------------------
# A vanilla recurrent network and backpropagation through time (lesson 06)
# ---------------------------------------------------------------------------------------------
#
# Batches are rows, as for the dense layer: x_t is (N, n_in), h_t is (N, n_h) and
#     h_t = tanh(x_t W_xh + h_{t-1} W_hh + b),
# the row form of h_t = tanh(W_xh x_t + W_hh h_{t-1} + b). A sequence batch X is (N, T, n_in).
# The same W_xh, W_hh and b are used at every time step, so, exactly like a convolution kernel,
# their gradients are sums over the time steps.

#: How :func:`rnn_backward` may clip the gradient flowing back into each hidden state.
SEQUENCE_CLIPS: dict[str, Any] = {
    # rescale the whole (N, n_h) array so that its norm is at most c (direction kept)
    "norm": lambda g, c: g * min(1.0, c / max(float(np.sqrt(np.sum(np.abs(g) ** 2))), 1e-300)),
    # clamp every entry to [-c, c] (direction may change)
    "value": lambda g, c: np.clip(g.real, -c, c) + (1j * g.imag if np.iscomplexobj(g) else 0.0),
}


def recurrent_weights(n_hidden: int, spectral_radius: float, rng: Any) -> Array:
    r"""A random (n_hidden, n_hidden) recurrent matrix with a given spectral radius.

    A random orthogonal matrix $Q$ (from the QR factorisation of a Gaussian matrix, signs
    fixed so that it is uniformly distributed) times $\rho$: every eigenvalue and every
    singular value of $\rho Q$ has modulus $\rho$, so $\|(\rho Q)^k v\| = \rho^k \|v\|$ exactly.
    Through a linear recurrence a gradient is multiplied by $\rho$ per time step: it vanishes
    for $\rho < 1$ and explodes for $\rho > 1$.

    Args:
        n_hidden: size of the hidden state, >= 1.
        spectral_radius: $\rho > 0$.
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        W_hh: (n_hidden, n_hidden), float64.
    """
    n = check_positive_int("n_hidden", n_hidden)
    rho = check_positive_number("spectral_radius", spectral_radius)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(check_positive_int("rng", rng, minimum=0))
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    Q *= np.where(np.diag(R) < 0, -1.0, 1.0)  # Haar-distributed orthogonal matrix
    return rho * Q


def _check_rnn_weights(W_xh: Any, W_hh: Any) -> tuple[Array, Array]:
    W_xh = as_array("W_xh", W_xh, ndim=2, allow_complex=True)
    n_h = W_xh.shape[1]
    W_hh = as_array("W_hh", W_hh, ndim=2, allow_complex=True)
    check_shape("W_hh", W_hh, (n_h, n_h), "(n_h, n_h) with n_h = W_xh.shape[1]")
    return W_xh, W_hh


def rnn_step_forward(x: Any, h_prev: Any, W_xh: Any, W_hh: Any, b: Any) -> Array:
    r"""One step of a vanilla RNN: $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$.

    Args:
        x: (N, n_in) inputs at this time step.
        h_prev: (N, n_h) previous hidden state.
        W_xh: (n_in, n_h) input-to-hidden weights.
        W_hh: (n_h, n_h) hidden-to-hidden weights.
        b: (n_h,) bias.

    Returns:
        h: (N, n_h) the new hidden state.
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    x = as_array("x", x, ndim=2, allow_complex=True)
    check_shape("x", x, (None, n_in), "(N, n_in) with n_in = W_xh.shape[0]")
    h_prev = as_array("h_prev", h_prev, ndim=2, allow_complex=True)
    check_shape(
        "h_prev", h_prev, (x.shape[0], n_h), "(N, n_h): N = x.shape[0], n_h = W_hh.shape[0]"
    )
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (n_h,), "(n_h,)")
    return np.tanh(x @ W_xh + h_prev @ W_hh + b)


def rnn_step_backward(
    dh: Any, x: Any, h_prev: Any, h: Any, W_xh: Any, W_hh: Any
) -> tuple[Array, Array, Array, Array, Array]:
    r"""Backward pass of :func:`rnn_step_forward`, given $dh = \partial L / \partial h_t$.

    With $dz = dh \odot (1 - h_t^2)$ (the tanh derivative written with the output):
    $dx = dz\,W_{xh}^\top$, $dh_\text{prev} = dz\,W_{hh}^\top$, $dW_{xh} = x^\top dz$,
    $dW_{hh} = h_\text{prev}^\top dz$, $db = \sum_\text{rows} dz$: a dense layer's backward
    pass (lesson 03) with two inputs.

    Args:
        dh: (N, n_h) gradient of the loss with respect to the new state h.
        x: (N, n_in) the step's input.
        h_prev: (N, n_h) the previous state.
        h: (N, n_h) the new state, ``rnn_step_forward(x, h_prev, W_xh, W_hh, b)``.
        W_xh: (n_in, n_h).
        W_hh: (n_h, n_h).

    Returns:
        dx: (N, n_in), dh_prev: (N, n_h), dW_xh: (n_in, n_h), dW_hh: (n_h, n_h), db: (n_h,).
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    x = as_array("x", x, ndim=2, allow_complex=True)
    check_shape("x", x, (None, n_in), "(N, n_in) with n_in = W_xh.shape[0]")
    hint = "(N, n_h): N = x.shape[0], n_h = W_hh.shape[0]"
    checked = [
        as_array(n, v, ndim=2, allow_complex=True)
        for n, v in (("dh", dh), ("h_prev", h_prev), ("h", h))
    ]
    for name, arr in zip(("dh", "h_prev", "h"), checked):
        check_shape(name, arr, (x.shape[0], n_h), hint)
    dh, h_prev, h = checked
    return _rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh)


def _rnn_step_backward(
    dh: Array, x: Array, h_prev: Array, h: Array, W_xh: Array, W_hh: Array
) -> tuple[Array, Array, Array, Array, Array]:
    dz = dh * (1.0 - h * h)
    return dz @ W_xh.T, dz @ W_hh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def _check_sequence(X: Any, n_in: int) -> Array:
    X = as_array("X", X, ndim=3, allow_complex=True)
    check_shape("X", X, (None, None, n_in), f"(N, T, n_in) with n_in = W_xh.shape[0] = {n_in}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X: expected at least one sequence of at least one step, got {X.shape}")
    return X


def rnn_forward(X: Any, W_xh: Any, W_hh: Any, b: Any, h0: Any = None) -> Array:
    r"""Run a vanilla RNN over a batch of sequences.

    $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$ for $t = 1, \dots, T$.

    Args:
        X: (N, T, n_in) N sequences of T steps.
        W_xh: (n_in, n_h).
        W_hh: (n_h, n_h).
        b: (n_h,).
        h0: (N, n_h) initial state (zeros when omitted).

    Returns:
        H: (N, T + 1, n_h) every hidden state, ``H[:, 0]`` = h0 and ``H[:, t]`` = $h_t$.
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    X = _check_sequence(X, n_in)
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (n_h,), "(n_h,) with n_h = W_xh.shape[1]")
    N = X.shape[0]
    if h0 is None:
        h0 = np.zeros((N, n_h))
    h0 = as_array("h0", h0, ndim=2, allow_complex=True)
    check_shape("h0", h0, (N, n_h), "(N, n_h)")
    return _rnn_forward(X, W_xh, W_hh, b, h0)


def _rnn_forward(X: Array, W_xh: Array, W_hh: Array, b: Array, h0: Array) -> Array:
    N, T, _ = X.shape
    dtype = np.result_type(X, W_xh, W_hh, b, h0)
    H = np.empty((N, T + 1, W_hh.shape[0]), dtype=dtype)
    H[:, 0] = h0
    inputs = X @ W_xh + b  # all input terms at once: (N, T, n_h)
    for t in range(T):
        H[:, t + 1] = np.tanh(inputs[:, t] + H[:, t] @ W_hh)
    return H


@dataclass(frozen=True)
class RNNGradients:
    r"""What :func:`rnn_backward` returns.

    Attributes:
        dX: (N, T, n_in) gradient with respect to the inputs.
        dW_xh: (n_in, n_h), summed over the time steps.
        dW_hh: (n_h, n_h), summed over the time steps.
        db: (n_h,), summed over the time steps and the batch.
        dh0: (N, n_h) gradient with respect to the initial state.
        dH: (N, T, n_h) the total gradient $\partial L / \partial h_t$ for $t = 1..T$ (what
            flowed into each state from its own output and from the later steps, after
            clipping if any).
    """

    # the names of the maths (dX = dL/dX), as for the arguments of the layer functions
    dX: Array  # noqa: N815
    dW_xh: Array  # noqa: N815
    dW_hh: Array  # noqa: N815
    db: Array
    dh0: Array
    dH: Array  # noqa: N815

    @property
    def grad_norms(self) -> Array:
        r"""(T,) $\|\partial L / \partial h_t\|$ (Frobenius norm over the batch), $t = 1..T$."""
        return np.sqrt(np.sum(np.abs(self.dH) ** 2, axis=(0, 2)))


def _check_sequence_clip(clip: Any) -> tuple[str, float] | None:
    return check_clip(clip, SEQUENCE_CLIPS)


def rnn_backward(
    dH_out: Any, X: Any, H: Any, W_xh: Any, W_hh: Any, clip: tuple[str, float] | None = None
) -> RNNGradients:
    r"""Backpropagation through time for :func:`rnn_forward`.

    Walking back from $t = T$ to 1, the gradient reaching $h_t$ is what the loss sends to it
    directly (``dH_out[:, t-1]``, e.g. from a readout) plus what comes back from $h_{t+1}$:

    $$\frac{\partial L}{\partial h_t} = \text{dH\_out}_t
    + \Big(\frac{\partial L}{\partial h_{t+1}} \odot (1 - h_{t+1}^2)\Big) W_{hh}^\top .$$

    Each step is :func:`rnn_step_backward`; the weight gradients of all steps are added up.
    Over many steps the gradient is multiplied again and again by $\mathrm{diag}(1 - h^2)
    W_{hh}^\top$: it shrinks geometrically when that factor is small and grows when it is
    large (vanishing and exploding gradients through time).

    Args:
        dH_out: (N, T, n_h) gradient of the loss with respect to each $h_t$ from outside the
            recurrence (zeros except the last step for a many-to-one model).
        X: (N, T, n_in) the inputs.
        H: (N, T + 1, n_h) the states from :func:`rnn_forward`.
        W_xh: (n_in, n_h).
        W_hh: (n_h, n_h).
        clip: ``None``, ``("norm", c)`` or ``("value", c)``: clip $\partial L/\partial h_t$ at
            every step before passing it further back (rescale its norm over the batch to at
            most c, or clamp every entry to [-c, c]; see :data:`SEQUENCE_CLIPS`).

    Returns:
        An :class:`RNNGradients` (with the per-step gradients ``dH`` and ``grad_norms``).
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    X = _check_sequence(X, n_in)
    N, T, _ = X.shape
    H = as_array("H", H, ndim=3, allow_complex=True)
    check_shape("H", H, (N, T + 1, n_h), "(N, T + 1, n_h): the states from rnn_forward")
    dH_out = as_array("dH_out", dH_out, ndim=3, allow_complex=True)
    check_shape("dH_out", dH_out, (N, T, n_h), "(N, T, n_h)")
    return _rnn_backward(dH_out, X, H, W_xh, W_hh, _check_sequence_clip(clip))


def _rnn_backward(
    dH_out: Array,
    X: Array,
    H: Array,
    W_xh: Array,
    W_hh: Array,
    clip: tuple[str, float] | None,
) -> RNNGradients:
    T = X.shape[1]
    dtype = np.result_type(dH_out, X, H, W_xh, W_hh)
    dX = np.zeros(X.shape, dtype=dtype)
    dH = np.zeros(dH_out.shape, dtype=dtype)
    dW_xh = np.zeros(W_xh.shape, dtype=dtype)
    dW_hh = np.zeros(W_hh.shape, dtype=dtype)
    db = np.zeros(W_hh.shape[0], dtype=dtype)
    carry = np.zeros(dH_out.shape[::2], dtype=dtype)  # dL/dh_t from step t + 1: (N, n_h)
    clip_fn = None if clip is None else SEQUENCE_CLIPS[clip[0]]
    for t in range(T, 0, -1):
        dh = dH_out[:, t - 1] + carry
        if clip_fn is not None and clip is not None:
            dh = clip_fn(dh, clip[1])
        dH[:, t - 1] = dh
        dx, carry, dWx, dWh, db_t = _rnn_step_backward(
            dh, X[:, t - 1], H[:, t - 1], H[:, t], W_xh, W_hh
        )
        dX[:, t - 1] = dx
        dW_xh += dWx
        dW_hh += dWh
        db += db_t
    return RNNGradients(dX, dW_xh, dW_hh, db, carry, dH)


@dataclass
class RNNTrace:
    """Everything one forward and backward pass of :meth:`RNN.backprop` computed.

    Attributes:
        loss: the loss value.
        H: (N, T + 1, n_h) hidden states, ``H[:, 0]`` the (zero) initial state.
        y_hat: (N, n_out) predictions.
        grads: the gradients by parameter name, shaped like :attr:`RNN.params`.
        dH: (N, T, n_h) $\\partial L/\\partial h_t$, $t = 1..T$.
    """

    loss: Any
    H: Array
    y_hat: Array
    grads: dict[str, Array]
    dH: Array  # noqa: N815

    @property
    def grad_norms(self) -> Array:
        """(T,) $\\|\\partial L/\\partial h_t\\|$ per time step, first step first."""
        return np.sqrt(np.sum(np.abs(self.dH) ** 2, axis=(0, 2)))


class RNN:
    r"""A many-to-one vanilla RNN: read a sequence, predict from the last hidden state.

    $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$ with $h_0 = 0$, then
    $\hat y = h_T W_{hy} + b_y$, and the loss is :func:`mse` of $\hat y$.

    Args:
        n_in: input features per time step.
        n_hidden: size of the hidden state.
        n_out: outputs.
        spectral_radius: $\rho$ of the initial $W_{hh}$ (a scaled random orthogonal matrix,
            see :func:`recurrent_weights`).
        init: initialisation of $W_{xh}$ and $W_{hy}$, one of :data:`INITS`.
        seed: seed of ``numpy.random.default_rng``.

    Attributes:
        params: the parameters by name, ``"W_xh"`` (n_in, n_h), ``"W_hh"`` (n_h, n_h), ``"b"``
            (n_h,), ``"W_hy"`` (n_h, n_out), ``"b_y"`` (n_out,).
        names: the parameter names in the order of :meth:`parameters`.
        sizes: ``(n_in, n_hidden, n_out)``.

    Example:
        >>> model = RNN(n_in=2, n_hidden=8, spectral_radius=0.9, seed=0)
        >>> trace = model.backprop(np.zeros((4, 10, 2)), np.ones(4))
        >>> trace.grads["W_hh"].shape, trace.grad_norms.shape
        ((8, 8), (10,))
    """

    names = ("W_xh", "W_hh", "b", "W_hy", "b_y")

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int = 1,
        spectral_radius: float = 1.0,
        init: str = "xavier",
        seed: int = 0,
    ) -> None:
        n_in = check_positive_int("n_in", n_in)
        n_h = check_positive_int("n_hidden", n_hidden)
        n_out = check_positive_int("n_out", n_out)
        rho = check_positive_number("spectral_radius", spectral_radius)
        check_choice("init", init, INITS)
        self.seed = check_positive_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        self.params: dict[str, Array] = {
            "W_xh": INITS[init](n_in, n_h, rng),
            "W_hh": recurrent_weights(n_h, rho, rng),
            "b": np.zeros(n_h),
            "W_hy": INITS[init](n_h, n_out, rng),
            "b_y": np.zeros(n_out),
        }
        self.sizes = (n_in, n_h, n_out)

    def __repr__(self) -> str:
        n_in, n_h, n_out = self.sizes
        return f"{type(self).__name__}({n_in}, {n_h}, {n_out}, seed={self.seed})"

    def parameters(self) -> list[Array]:
        """The live parameter arrays in the order of :attr:`names` (for the optimizers)."""
        return [self.params[name] for name in self.names]

    def copy(self) -> RNN:
        """An independent copy."""
        new = _copy.copy(self)
        new.params = {name: P.copy() for name, P in self.params.items()}
        return new

    def _check_input(self, X: Any) -> Array:
        return _check_sequence(X, self.sizes[0])

    def forward(self, X: Any) -> Array:
        """Predictions for a batch of sequences.

        Args:
            X: (N, T, n_in).

        Returns:
            y_hat: (N, n_out).
        """
        X = self._check_input(X)
        return self._forward(X)[1]

    def _forward(self, X: Array) -> tuple[Array, Array]:
        p = self.params
        h0 = np.zeros((X.shape[0], self.sizes[1]))
        H = _rnn_forward(X, p["W_xh"], p["W_hh"], p["b"], h0)
        return H, H[:, -1] @ p["W_hy"] + p["b_y"]

    def loss(self, X: Any, y: Any) -> Any:
        """Mean squared error of the predictions (a complex number for complex parameters).

        Args:
            X: (N, T, n_in).
            y: (N, n_out) targets, or (N,) when n_out = 1.
        """
        X = self._check_input(X)
        y = _check_regression_target(y, (X.shape[0], self.sizes[2]))
        y_hat = self._forward(X)[1]
        diff = (y_hat - y).ravel()
        return (np.dot(diff, diff) / diff.size).item()

    def backprop(self, X: Any, y: Any, clip: tuple[str, float] | None = None) -> RNNTrace:
        """Forward pass, loss and backpropagation through time.

        Args:
            X: (N, T, n_in).
            y: (N, n_out) targets, or (N,) when n_out = 1.
            clip: per-step clipping of $\\partial L/\\partial h_t$, as in :func:`rnn_backward`.

        Returns:
            An :class:`RNNTrace` with the gradients of every parameter.
        """
        X = self._check_input(X)
        y = _check_regression_target(y, (X.shape[0], self.sizes[2]))
        clip_rule = _check_sequence_clip(clip)
        p = self.params
        H, y_hat = self._forward(X)
        diff = (y_hat - y).ravel()
        value = (np.dot(diff, diff) / diff.size).item()
        dy = _mse_grad(y_hat, y)  # (N, n_out)
        dH_out = np.zeros((X.shape[0], X.shape[1], self.sizes[1]), dtype=np.result_type(dy, H))
        dH_out[:, -1] = dy @ p["W_hy"].T
        back = _rnn_backward(dH_out, X, H, p["W_xh"], p["W_hh"], clip_rule)
        grads = {
            "W_xh": back.dW_xh,
            "W_hh": back.dW_hh,
            "b": back.db,
            "W_hy": H[:, -1].T @ dy,
            "b_y": dy.sum(axis=0),
        }
        return RNNTrace(value, H, y_hat, grads, back.dH)


# --- lesson 07: max pooling, embeddings, the digit CNN and the character model ----------------
# Defined in their own modules, which import this one; so they are loaded on first use
# (PEP 562) rather than imported here, and ``<face>.<name>`` works as for every other name.
_LESSON07: dict[str, str] = {
    "CharRNN": "bpcourse.charmodel",
    "CharTrace": "bpcourse.charmodel",
    "CharTrainingHistory": "bpcourse.charmodel",
    "sequence_cross_entropy": "bpcourse.charmodel",
    "sequence_cross_entropy_grad": "bpcourse.charmodel",
    "train_char_model": "bpcourse.charmodel",
    "CNNTrace": "bpcourse.cnn",
    "DigitCNN": "bpcourse.cnn",
    "TrainingHistory": "bpcourse.cnn",
    "confusion_matrix": "bpcourse.cnn",
    "conv2d_im2col_backward": "bpcourse.cnn",
    "conv2d_im2col_forward": "bpcourse.cnn",
    "protocol_gradient_check": "bpcourse.cnn",
    "train_digit_cnn": "bpcourse.cnn",
    "embedding_backward": "bpcourse.embedding",
    "embedding_forward": "bpcourse.embedding",
    "maxpool2d_argmax": "bpcourse.pool",
    "maxpool2d_backward": "bpcourse.pool",
    "maxpool2d_forward": "bpcourse.pool",
}


def __getattr__(name: str) -> Any:
    if name not in _LESSON07:
        raise AttributeError(f"module 'bpcourse.nn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LESSON07[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LESSON07])
