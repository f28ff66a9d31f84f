r"""The activation registry: one :class:`Activation` entry per activation, read by every layer.

An entry holds the function $f$ and its derivative $f'$, the in-place kernels of the MLP's
training fast path, the kink points, the saturation rule and slope factor the experiments
use, and the SymPy form. :data:`ACTIVATIONS` maps names to entries;
:func:`register_activation` adds one; :func:`activate` and :func:`activation_derivative`
evaluate them on arrays (complex input stays complex, so the complex-step check works).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpcourse._validate import as_array, check_choice, check_shape, describe
from bpcourse.nn._checks import Array

#: Slope of leaky ReLU for negative inputs (PyTorch's default).
LEAKY_RELU_SLOPE = 0.01


SaturationRule = Callable[[Array, Array], Array]


@dataclass(frozen=True)
class Activation:
    r"""Everything the course knows about one elementwise activation, in one registry entry.

    Only ``name``, ``f`` and ``df`` are required; every layer of the package reads the rest
    from here (nothing else keeps a table of activations), and a missing field switches off
    only the feature that needs it.

    Attributes:
        name: the registry name, e.g. ``"tanh"``.
        f: $A = f(Z)$, elementwise, any shape; complex input must stay complex (the
            complex-step check), with kinks decided by the real part.
        df: $\partial A / \partial Z = f'(Z)$ elementwise, given both ``Z`` and ``A = f(Z)``
            (some derivatives are cheapest written with the output, e.g.
            $\tanh'(z) = 1 - \tanh^2(z) = 1 - a^2$).
        f_inplace: ``f_inplace(Z)`` overwrites the real float64 array ``Z`` with $f(Z)$ and
            returns it (the training fast path of :class:`bpcourse.nn.MLP`). Without it, and
            without ``df_inplace``, the MLP uses ``f`` and ``df``.
        df_inplace: ``df_inplace(dA, A)`` multiplies ``dA`` in place by $f'(Z)$ using only
            ``A = f(Z)``, and may use ``A`` as scratch.
        df_from_output: ``df_from_output(A, out)`` writes $f'(Z)$ into ``out`` using only
            ``A = f(Z)``, leaving ``A`` as it is (real float64 arrays of one shape). The MLP's
            fast path computes the derivatives of all its hidden layers in one such call;
            without it, :meth:`derivative_from_output` makes do with ``df_inplace``.
        kinks: the points $z$ where $f'$ jumps (``(0.0,)`` for ReLU); central differences
            whose step straddles one are left out by :mod:`bpcourse.gradcheck`.
        saturation: ``(rule, text)``: ``rule(Z, A)`` flags the entries where the derivative is
            (nearly) zero, ``text`` says so in a few words for plot labels
            (:mod:`bpcourse.dynamics`).
        slope: ``(factor, kind, text)``: the typical factor $s$ by which the activation scales
            a backpropagated signal, whether it is an ``"upper bound"`` or an ``"estimate"``,
            and how it was obtained (:func:`bpcourse.dynamics.theoretical_gradient_scale`).
        sympy_f: the same function of a SymPy expression (:mod:`bpcourse.symbolic`); SymPy is
            imported only when it is called.
        formula: the definition in LaTeX, for display.
        in_explorers: offered by the explorers' activation menus (:mod:`bpcourse.widgets`).

    A rule written with ``A`` is as accurate in absolute terms as ``A`` itself (about 1e-16),
    but for a saturated unit, where $1 - |a|$ is tiny ($|z| \gtrsim 8$ for tanh), its
    *relative* accuracy drops to about $10^{-16} / (1 - |a|)$. Such a unit passes almost no
    gradient, so training is unaffected; only a gradient check at a 1e-10 tolerance notices.
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array, Array], Array]
    f_inplace: Callable[[Array], Array] | None = None
    df_inplace: Callable[[Array, Array], None] | None = None
    df_from_output: Callable[[Array, Array], None] | None = None
    kinks: tuple[float, ...] = ()
    saturation: tuple[SaturationRule, str] | None = None
    slope: tuple[float, str, str] | None = None
    sympy_f: Callable[[Any], Any] | None = None
    formula: str = ""
    in_explorers: bool = False

    #: whether both in-place kernels exist (the MLP's training fast path); derived, not given
    has_fast_path: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fast = self.f_inplace is not None and self.df_inplace is not None
        object.__setattr__(self, "has_fast_path", fast)  # frozen: set once, read per step

    def derivative_from_output(self, A: Array, out: Array) -> None:
        """Write $f'(Z)$ into ``out`` given ``A = f(Z)`` (real float64; ``A`` is kept).

        Uses ``df_from_output``; an entry without it but with ``df_inplace`` gets the same
        numbers as ``df_inplace(ones, copy of A)`` (two more passes over the arrays).
        """
        if self.df_from_output is not None:
            self.df_from_output(A, out)
            return
        if self.df_inplace is None:
            raise TypeError(
                f"activation {self.name!r}: expected df_from_output or df_inplace "
                f"(the in-place kernels of the MLP's fast path), got neither"
            )
        out.fill(1.0)
        self.df_inplace(out, A.copy())


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


# The same rules once more, for the training fast path of MLP on real float64 arrays. They work
# in place to avoid temporaries: f_inplace(Z) overwrites Z with f(Z) and returns it;
# df_inplace(dA, A) multiplies dA by f'(Z) using only A = f(Z), and uses A as scratch.


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


# tanh in place is np.tanh(Z, Z): NumPy's float64 tanh is vectorised (about 2 ns a number, within
# one unit in the last place). Rewrites with exp measured slower here: 1 - 2 / (e^{2z} + 1) needs
# five passes and loses all relative precision near z = 0 (1 - 2/2 cancels); the accurate
# -expm1(-2|z|) / (expm1(-2|z|) + 2), with its sign restored, needs seven.


def _tanh_df_inplace(dA: Array, A: Array) -> None:
    np.multiply(A, A, out=A)
    np.subtract(1.0, A, out=A)
    np.multiply(dA, A, out=dA)  # dA * (1 - a²)


def _relu_df_inplace(dA: Array, A: Array) -> None:
    np.multiply(dA, A > 0, out=dA)  # a > 0 exactly when z > 0


def _leaky_relu_df_inplace(dA: Array, A: Array) -> None:
    np.multiply(dA, np.where(A > 0, 1.0, LEAKY_RELU_SLOPE), out=dA)  # a > 0 exactly when z > 0


def _identity_df_inplace(dA: Array, A: Array) -> None:
    return None


# And once more as derivatives written into an array of their own: df_from_output(A, out) sets
# out = f'(Z) from A = f(Z) alone (the MLP computes all its hidden layers' at once this way).


def _sigmoid_df_from_output(A: Array, out: Array) -> None:
    np.subtract(1.0, A, out=out)
    np.multiply(out, A, out=out)  # a (1 - a)


def _tanh_df_from_output(A: Array, out: Array) -> None:
    np.multiply(A, A, out=out)
    np.subtract(1.0, out, out=out)  # 1 - a²


def _relu_df_from_output(A: Array, out: Array) -> None:
    np.greater(A, 0.0, out=out)  # 1.0 where a > 0 (exactly where z > 0), else 0.0


def _leaky_relu_df_from_output(A: Array, out: Array) -> None:
    np.greater(A, 0.0, out=out)  # 1 or 0, then 1 or slope: 1 (1 - s) + s is exactly 1.0
    out *= 1.0 - LEAKY_RELU_SLOPE
    out += LEAKY_RELU_SLOPE


def _identity_df_from_output(A: Array, out: Array) -> None:
    out.fill(1.0)


# The SymPy forms (SymPy is imported on first use, so importing bpcourse.nn stays light).


def _sympy_sigmoid(z: Any) -> Any:
    import sympy

    return 1 / (1 + sympy.exp(-z))


def _sympy_tanh(z: Any) -> Any:
    import sympy

    return sympy.tanh(z)


def _sympy_relu(z: Any) -> Any:
    import sympy

    return sympy.Piecewise((z, z > 0), (0, True))


def _sympy_leaky_relu(z: Any) -> Any:
    import sympy

    # the exact rational 1/100, so that SymPy's derivative is exact too
    return sympy.Piecewise((z, z > 0), (sympy.Rational(str(LEAKY_RELU_SLOPE)) * z, True))


_LEAKY_SLOPE_FACTOR = math.sqrt((1.0 + LEAKY_RELU_SLOPE**2) / 2.0)

#: The activations by name: the one registry every layer reads (add one with
#: :func:`register_activation`). ReLU's derivative at exactly 0 is taken as 0 (as in PyTorch).
ACTIVATIONS: dict[str, Activation] = {}


def register_activation(activation: Activation, *, replace: bool = False) -> Activation:
    """Add ``activation`` to :data:`ACTIVATIONS`, which every layer of the package reads.

    Once registered, the name works in :class:`bpcourse.nn.MLP` (on the fast path when both
    in-place kernels are given), in :mod:`bpcourse.symbolic` (when ``sympy_f`` is given), in
    the experiments of :mod:`bpcourse.dynamics` (saturation and slope when given), in the kink
    handling of :mod:`bpcourse.gradcheck` and, with ``in_explorers=True``, in the explorers'
    menus.

    Args:
        activation: the entry; its ``name`` becomes the registry key.
        replace: allow replacing an entry of the same name.

    Returns:
        ``activation``.
    """
    if not isinstance(activation, Activation):
        raise TypeError(f"activation: expected an Activation, got {describe(activation)}")
    name = activation.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"activation.name: expected a name such as 'softplus', got {name!r}")
    for field_name in ("f", "df"):
        if not callable(getattr(activation, field_name)):
            raise TypeError(
                f"activation.{field_name}: expected a function, "
                f"got {describe(getattr(activation, field_name))}"
            )
    if name in ACTIVATIONS and not replace:
        raise ValueError(
            f"activation.name: expected a name not yet registered, got {name!r} "
            "(pass replace=True to replace it)"
        )
    ACTIVATIONS[name] = activation
    return activation


# fmt: off
for _activation in (
    #          name          f(z)          f'(z), given z and a = f(z)
    Activation("identity",   lambda Z: Z,  lambda Z, A: np.ones_like(A),           # 1
               f_inplace=lambda Z: Z, df_inplace=_identity_df_inplace,
               df_from_output=_identity_df_from_output,
               saturation=(lambda Z, A: np.zeros(Z.shape, dtype=bool), "never saturates"),
               slope=(1.0, "estimate", "slope 1"),
               sympy_f=lambda z: z, formula=r"z"),
    Activation("sigmoid",    _sigmoid,     lambda Z, A: A * (1.0 - A),             # σ(z) (1 − σ(z))
               f_inplace=_sigmoid_inplace, df_inplace=_sigmoid_df_inplace,
               df_from_output=_sigmoid_df_from_output,
               saturation=(lambda Z, A: (A < 0.01) | (A > 0.99), "a < 0.01 or a > 0.99"),
               slope=(0.25, "upper bound", "σ′ ≤ 1/4"),
               sympy_f=_sympy_sigmoid, formula=r"\frac{1}{1 + e^{-z}}", in_explorers=True),
    Activation("tanh",       np.tanh,      lambda Z, A: 1.0 - A * A,               # 1 − tanh²(z)
               f_inplace=lambda Z: np.tanh(Z, Z), df_inplace=_tanh_df_inplace,
               df_from_output=_tanh_df_from_output,
               saturation=(lambda Z, A: np.abs(A) > 0.99, "|a| > 0.99"),
               slope=(1.0, "upper bound", "tanh′ ≤ 1"),
               sympy_f=_sympy_tanh, formula=r"\tanh z", in_explorers=True),
    Activation("relu",       _relu,        lambda Z, A: _step(Z, 0.0),             # 1 (z > 0) or 0
               f_inplace=lambda Z: np.maximum(Z, 0.0, out=Z), df_inplace=_relu_df_inplace,
               df_from_output=_relu_df_from_output,
               kinks=(0.0,),
               saturation=(lambda Z, A: Z <= 0, "a = 0 (unit off)"),
               slope=(math.sqrt(0.5), "estimate", "half the units pass"),
               sympy_f=_sympy_relu,
               formula=r"\begin{cases} z & z > 0 \\ 0 & z \le 0 \end{cases}", in_explorers=True),
    Activation("leaky_relu", _leaky_relu,  lambda Z, A: _step(Z, LEAKY_RELU_SLOPE),  # 1 or slope
               f_inplace=lambda Z: np.maximum(Z, LEAKY_RELU_SLOPE * Z, out=Z),
               df_inplace=_leaky_relu_df_inplace, df_from_output=_leaky_relu_df_from_output,
               kinks=(0.0,),
               saturation=(lambda Z, A: Z <= 0, "z <= 0 (small slope)"),
               slope=(_LEAKY_SLOPE_FACTOR, "estimate", "half the units at a small slope"),
               sympy_f=_sympy_leaky_relu,
               formula=r"\begin{cases} z & z > 0 \\ z/100 & z \le 0 \end{cases}"),
):
    register_activation(_activation)
# fmt: on


def explorer_activations() -> list[str]:
    """The registered activations the explorers offer, in registry order."""
    return [name for name, act in ACTIVATIONS.items() if act.in_explorers]


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
