r"""Activations: each a function $f$ and its derivative $f'$, plus in-place fast kernels.

:data:`ACTIVATIONS` maps a name to an :class:`Activation`; :func:`activate` and
:func:`activation_derivative` evaluate them on arrays (complex input stays complex, so the
complex-step check works). The in-place kernels are what :class:`bpcourse.nn.MLP` uses on its
fast path; :meth:`bpcourse.nn.MLP.backprop` uses the plain functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_choice,
    check_shape,
)
from bpcourse.nn._checks import Array

#: Slope of leaky ReLU for negative inputs (PyTorch's default).
LEAKY_RELU_SLOPE = 0.01


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
