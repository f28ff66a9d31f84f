r"""Gradient checking: confirm a backpropagated gradient with numerical derivatives.

Three ways to differentiate a scalar function $f$ of an array $x$ numerically, entry by entry
($e_i$ is the $i$-th unit vector):

- **central differences** (:func:`numerical_gradient`):
  $\partial_i f \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$. The truncation error is
  $O(h^2)$, the rounding error about $\varepsilon |f| / h$; in float64
  ($\varepsilon \approx 2.2 \times 10^{-16}$) the two balance near $h \approx 10^{-5}$, where
  relative errors of $10^{-9}$ to $10^{-10}$ are typical. Smaller $h$ is *worse*.
- **forward differences** ($\frac{f(x + h e_i) - f(x)}{h}$, only in :func:`step_size_sweep`):
  truncation error $O(h)$, best near $h \approx \sqrt{\varepsilon} \approx 10^{-8}$.
- **complex step** (:func:`complex_step_gradient`):
  $\partial_i f \approx \operatorname{Im} f(x + \mathrm{i} h e_i) / h$. There is no
  subtraction, hence no cancellation: with $h = 10^{-20}$ the result is exact to machine
  precision. It needs $f$ written with operations that accept complex numbers and are
  analytic (no ``abs``, no ``np.real``, comparisons on the real part only).

:func:`relative_error` compares the result with the backpropagated gradient (the package's
one definition of relative error; :mod:`bpcourse.grading` keeps its own copy on purpose), and
:func:`check_model_gradients` does all of it for every parameter of any model that follows the
parameter protocol. Every numerical derivative here, and the cost experiment of
:mod:`bpcourse.dynamics`, runs on one loop, :func:`perturb_each_entry`.

One module on purpose (about 670 lines): the relative error, the perturbation kernel, the
three numerical derivatives, the kink handling and the model check build on each other in
that order and are read together in lesson 03; split, each part would import all the others.

ReLU kinks: ReLU is not differentiable at 0. When a pre-activation $z$ lies within the finite
difference step of 0, $f(x + h e_i)$ and $f(x - h e_i)$ sit on two different linear pieces and
the difference quotient is neither one-sided derivative. Such an entry is not a bug in
backprop: :func:`check_model_gradients` detects it (a unit whose pre-activation changes sign
between the two evaluations), leaves the entry out and emits a :class:`KinkWarning`.
"""

from __future__ import annotations

import cmath
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from bpcourse._validate import as_array, check_choice, check_positive_number, describe
from bpcourse.nn.activations import ACTIVATIONS

__all__ = [
    "DEFAULT_STEPS",
    "DEFAULT_TOLERANCES",
    "KINK_ACTIVATIONS",
    "PROTOCOL",
    "RELATIVE_SCALES",
    "TINY",
    "GradCheckResult",
    "KinkWarning",
    "check_model_gradients",
    "complex_step_gradient",
    "kinks_within",
    "numerical_gradient",
    "perturb_each_entry",
    "relative_error",
    "step_size_sweep",
]

Array = np.ndarray

#: The floor of the denominator in :func:`relative_error` (the smallest normal float64).
TINY = float(np.finfo(np.float64).tiny)

#: Default step h per method of :func:`check_model_gradients`.
DEFAULT_STEPS: dict[str, float] = {"complex_step": 1e-20, "central": 1e-5}

#: Default tolerance of :meth:`GradCheckResult.ok` per method: what a correct backward pass
#: reaches on a small float64 network.
DEFAULT_TOLERANCES: dict[str, float] = {"complex_step": 1e-10, "central": 1e-6}


class _KinkActivations(AbstractSet[str]):
    """The names of the registered activations with kinks, read live from
    :data:`bpcourse.nn.ACTIVATIONS` (an activation registered with kinks appears here)."""

    def __contains__(self, name: object) -> bool:
        act = ACTIVATIONS.get(name) if isinstance(name, str) else None
        return act is not None and bool(act.kinks)

    def __iter__(self) -> Iterator[str]:
        return (name for name, act in ACTIVATIONS.items() if act.kinks)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"KinkActivations({sorted(self)})"


#: Activations with a kink (a point where the derivative jumps), from the activation registry:
#: ``"relu"`` and ``"leaky_relu"`` (at z = 0) and any registered with ``kinks``.
KINK_ACTIVATIONS: AbstractSet[str] = _KinkActivations()

_SWEEP_METHODS = ("central", "forward", "complex_step")


class KinkWarning(UserWarning):
    """A finite-difference step crossed a ReLU kink, so that entry cannot be checked."""


# ---------------------------------------------------------------------------------------------
# Relative error
# ---------------------------------------------------------------------------------------------


#: How :func:`relative_error` scales a difference: by the sum or by the larger of the sizes.
RELATIVE_SCALES = ("sum", "max")


def _scale(a: Array, b: Array, how: str) -> Array:
    return np.abs(a) + np.abs(b) if how == "sum" else np.maximum(np.abs(a), np.abs(b))


def _elementwise_relative_error(
    a: Array, b: Array, floor: float = TINY, scale: str = "sum"
) -> Array:
    """$|a - b| / \\max(s(a, b), \\text{floor})$ per entry (s = |a| + |b| or max(|a|, |b|));
    NaN or inf entries give inf."""
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.asarray(np.abs(a - b) / np.maximum(_scale(a, b, scale), floor))
    err[~np.isfinite(err)] = np.inf
    return err


def relative_error(
    a: Any, b: Any, *, floor: float = TINY, norm: bool = False, scale: str = "sum"
) -> float:
    r"""The relative error between two arrays (or numbers): the package's one definition.

    $$\mathrm{rel}(a, b) = \max_i \frac{|a_i - b_i|}{\max(|a_i| + |b_i|,\ \text{floor})}$$

    with floor by default TINY, the smallest normal float64 (about 2.2e-308), so two zeros
    give 0 rather than 0/0. The value is symmetric, lies in [0, 1] and is 1 when the signs
    differ. A rough scale for float64 gradient checks: below about 1e-7 the two agree; between
    1e-7 and 1e-2 look closer (a ReLU kink, an entry far smaller than the others, float32);
    above 1e-2 the backward pass is almost surely wrong.

    Args:
        a: an array or a number (real or complex).
        b: the same shape as ``a`` (no broadcasting).
        floor: the smallest denominator, > 0. A floor of 1 makes the error absolute for
            values below 1 in size (how :mod:`bpcourse.symbolic` compares expressions at
            points where both may vanish).
        norm: compare whole arrays instead of entries: the same formula with Euclidean norms
            over all entries in place of absolute values, which small entries do not
            dominate.
        scale: ``"sum"`` divides by $|a| + |b|$ (the default), ``"max"`` by
            $\max(|a|, |b|)$, so that a gradient half its true size gives 0.5.

    Returns:
        The relative error, a float (0.0 for empty arrays).

    Raises:
        ValueError: if the shapes differ or an entry is NaN or infinite.
    """
    a_arr = as_array("a", a, allow_complex=True)
    b_arr = as_array("b", b, allow_complex=True)
    floor = check_positive_number("floor", floor)
    check_choice("scale", scale, RELATIVE_SCALES)
    if a_arr.shape != b_arr.shape:
        raise ValueError(
            f"b: expected the shape of a, {a_arr.shape}, got shape {b_arr.shape} "
            "(relative_error does not broadcast)"
        )
    if a_arr.size == 0:
        return 0.0
    if norm:
        diff = np.array([np.linalg.norm(a_arr - b_arr)])
        a_arr, b_arr = np.array([np.linalg.norm(a_arr)]), np.array([np.linalg.norm(b_arr)])
        return float(diff[0] / np.maximum(_scale(a_arr, b_arr, scale), floor)[0])
    return float(np.max(_elementwise_relative_error(a_arr, b_arr, floor, scale)))


# ---------------------------------------------------------------------------------------------
# The finite-difference kernel: perturb one entry at a time
# ---------------------------------------------------------------------------------------------

Result = TypeVar("Result")


def perturb_each_entry(
    P: Array, offsets: Sequence[Any], evaluate: Callable[[], Result]
) -> Iterator[tuple[tuple[int, ...], Any, list[Result], list[Any]]]:
    """Move every entry of ``P`` in place by each offset in turn, and evaluate.

    The one loop behind every numerical derivative of the package (central and forward
    differences, the complex step, the gradient check of a model, the cost experiment of
    :mod:`bpcourse.dynamics`). For entry ``i`` and each offset ``d`` it sets
    ``P[i] = old + d``, records the value ``P[i]`` actually holds (after rounding) and calls
    ``evaluate()``; then it restores ``P[i]``, also when ``evaluate`` raises.

    Args:
        P: a writable array read by ``evaluate`` (for example a model's live weights); for a
            complex offset it must be complex.
        offsets: what to add to each entry, e.g. ``(h, -h)`` or ``(1j * h,)``.
        evaluate: called once per entry and offset, with no arguments.

    Yields:
        ``(index, old, results, taken)``: the entry's index, its original value, the results
        of ``evaluate`` and the values the entry held, one per offset.

    Raises:
        TypeError, ValueError: at the call, for a ``P`` that is not a writable float or
            complex array (an integer array would round every step away), offsets that are
            not numbers, a complex offset on a real ``P``, or an ``evaluate`` that is not
            callable.
    """
    if not isinstance(P, np.ndarray) or P.dtype.kind not in "fc":
        raise TypeError(f"P: expected a float or complex numpy array, got {describe(P)}")
    if not P.flags.writeable:
        raise ValueError("P: expected a writable array (its entries are moved in place)")
    if isinstance(offsets, (str, bytes)) or not isinstance(offsets, (Sequence, np.ndarray)):
        raise TypeError(f"offsets: expected a sequence of numbers, got {describe(offsets)}")
    for k, d in enumerate(offsets):
        if isinstance(d, bool) or not isinstance(d, (numbers.Number, np.number)):
            raise TypeError(f"offsets[{k}]: expected a number, got {describe(d)}")
        if P.dtype.kind == "f" and isinstance(d, (complex, np.complexfloating)) and d.imag != 0:
            raise ValueError(
                f"offsets[{k}]: a complex offset {d!r} needs a complex P, got dtype {P.dtype}"
            )
    if not callable(evaluate):
        raise TypeError(
            f"evaluate: expected a callable with no arguments, got {describe(evaluate)}"
        )
    return _perturb_each_entry(P, offsets, evaluate)


def _perturb_each_entry(
    P: Array, offsets: Sequence[Any], evaluate: Callable[[], Result]
) -> Iterator[tuple[tuple[int, ...], Any, list[Result], list[Any]]]:
    for i in np.ndindex(P.shape):
        old = P[i]
        results: list[Result] = []
        taken: list[Any] = []
        try:
            for d in offsets:
                P[i] = old + d
                taken.append(P[i])
                results.append(evaluate())
        finally:
            P[i] = old
        yield i, old, results, taken


# ---------------------------------------------------------------------------------------------
# Numerical derivatives of a scalar function of an array
# ---------------------------------------------------------------------------------------------


def _check_function(f: Any) -> None:
    if not callable(f):
        raise TypeError(f"f: expected a callable f(x) returning a number, got {describe(f)}")


def _as_number(value: Any, *, allow_complex: bool = False) -> Any:
    """The scalar that ``f`` returned, as a Python float (or complex)."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biufc":
        raise ValueError(f"f: expected f(x) to return a single number, got {describe(value)}")
    number = arr.reshape(()).item()
    if isinstance(number, complex) and not allow_complex:
        raise TypeError(f"f: expected f(x) to return a real number, got {number!r}")
    if not cmath.isfinite(number):
        raise ValueError(
            f"f: expected f(x) to return a finite number, got {number!r} (no gradient can be "
            f"estimated from it: is x, or x moved by the step, outside where f is defined?)"
        )
    return number


def _central_differences(f: Callable[[Array], Any], x: Array, h: float) -> Array:
    """Central differences of f at x, perturbing x in place and restoring it."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for i, old, (f_plus, f_minus), (up, down) in perturb_each_entry(
        x, (h, -h), lambda: _as_number(f(x))
    ):
        step = float(up) - float(down)  # the step actually taken, after rounding
        if step == 0:
            _vanishing_step(h, old)
        grad[i] = (f_plus - f_minus) / step
    return grad


def _vanishing_step(h: float, value: Any) -> None:
    raise ValueError(
        f"h: the step {h:g} vanishes at x = {float(value):g}, where neighbouring numbers of "
        f"this precision are {float(np.spacing(value)):.3g} apart; use a larger h"
    )


def _forward_differences(f: Callable[[Array], Any], x: Array, h: float) -> Array:
    grad = np.zeros(x.shape, dtype=np.float64)
    f_0 = _as_number(f(x))
    for i, old, (f_plus,), (up,) in perturb_each_entry(x, (h,), lambda: _as_number(f(x))):
        step = float(up) - float(old)
        if step == 0:
            _vanishing_step(h, old)
        grad[i] = (f_plus - f_0) / step
    return grad


def _complex_step(f: Callable[[Array], Any], x: Array, h: float) -> Array:
    xc = x.astype(np.complex128)
    grad = np.zeros(x.shape, dtype=np.float64)
    for i, _, (value,), _ in perturb_each_entry(xc, (1j * h,), lambda: f(xc)):
        if not np.iscomplexobj(np.asarray(value)):
            raise TypeError(
                "f: expected a complex result for complex input (the complex step reads the "
                "derivative from it), got a real number; write f with operations that keep "
                "complex numbers (no abs, no np.real, no float())"
            )
        grad[i] = _as_number(value, allow_complex=True).imag / h
    return grad


def numerical_gradient(f: Callable[[Array], Any], x: Any, h: float = 1e-5) -> Array:
    r"""Gradient of a scalar function by central differences.

    $\partial_i f \approx \big(f(x + h e_i) - f(x - h e_i)\big) / (2h)$ for every entry $i$
    (the denominator is the step actually taken after rounding $x_i \pm h$).

    If ``x`` is a writable float64 array, its entries are perturbed in place one at a time and
    restored, so ``f`` may also read ``x`` through a closure (for instance a model's live
    weight array: ``numerical_gradient(lambda _: net.loss(X, y), net.weights[0])``). On return
    ``x`` holds its original values, also when ``f`` raises. Anything else is copied first.

    Args:
        f: a function of one array (shaped like ``x``) returning a real number.
        x: the point, any shape (a number is a 0-d array).
        h: the step, > 0.

    Returns:
        The gradient, float64, shaped like ``x``.
    """
    _check_function(f)
    h = check_positive_number("h", h)
    if isinstance(x, np.ndarray) and x.dtype == np.float64 and x.flags.writeable:
        as_array("x", x)  # finiteness check only
        return _central_differences(f, x, h)
    return _central_differences(f, np.array(as_array("x", x), dtype=np.float64), h)


def complex_step_gradient(f: Callable[[Array], Any], x: Any, h: float = 1e-20) -> Array:
    r"""Gradient of a scalar function by the complex step.

    $\partial_i f = \operatorname{Im} f(x + \mathrm{i} h e_i) / h + O(h^2)$: with no
    subtraction there is no cancellation, so a tiny $h$ such as 1e-20 gives the derivative to
    machine precision. ``f`` must accept a complex array and be complex-analytic (the numpy
    functions ``exp``, ``tanh``, ``log``, ``@``, ``**`` are; ``abs`` and ``np.real`` are not).

    ``x`` itself is never modified: ``f`` receives a complex copy.

    Args:
        f: a function of one complex array (shaped like ``x``) returning a number.
        x: the real point, any shape.
        h: the imaginary step, > 0.

    Returns:
        The gradient, float64, shaped like ``x``.
    """
    _check_function(f)
    h = check_positive_number("h", h)
    return _complex_step(f, as_array("x", x), h)


def step_size_sweep(
    f: Callable[[Array], Any],
    x: Any,
    grad_true: Any,
    steps: Any,
    method: str = "central",
    dtype: Any = np.float64,
) -> Array:
    """Relative error of a numerical gradient for each step size (the error-vs-h curve).

    Too large a step suffers truncation error (it shrinks like h² for central, h for forward
    differences), too small a step suffers rounding error (it grows like ε/h); the curve is a
    V with its best point near $\\varepsilon^{1/3}$ (central) or $\\varepsilon^{1/2}$
    (forward), where ε is the machine epsilon of ``dtype``. The complex step has no rounding
    branch and stays at machine precision for tiny h.

    Args:
        f: a scalar function of an array, evaluated in the given ``dtype`` (for float32 it
            receives float32 arrays and should compute in float32).
        x: the point, any shape.
        grad_true: the exact gradient at ``x``, shaped like ``x``.
        steps: 1-D sequence of positive step sizes.
        method: "central", "forward" or "complex_step".
        dtype: np.float64 (default) or np.float32: the precision of x and of the steps.

    Returns:
        (len(steps),) float64 relative errors, :func:`relative_error` of each estimate.
    """
    _check_function(f)
    check_choice("method", method, _SWEEP_METHODS)
    dt = np.dtype(dtype) if isinstance(dtype, (type, np.dtype, str)) else None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype: expected np.float64 or np.float32, got {describe(dtype)}")
    if method == "complex_step" and dt != np.dtype(np.float64):
        raise ValueError(f"dtype: expected np.float64 for the complex step, got {describe(dtype)}")
    x_arr = as_array("x", x)
    truth = as_array("grad_true", grad_true)
    if truth.shape != x_arr.shape:
        raise ValueError(
            f"grad_true: expected the shape of x, {x_arr.shape}, got shape {truth.shape}"
        )
    step_arr = as_array("steps", steps, ndim=1)
    if step_arr.size == 0 or np.any(step_arr <= 0):
        raise ValueError(f"steps: expected a non-empty list of positive numbers, got {steps!r}")
    errors = np.empty(step_arr.size)
    for k, h in enumerate(step_arr):
        point = x_arr.astype(dt, copy=True)
        if method == "central":
            estimate = _central_differences(f, point, float(h))
        elif method == "forward":
            estimate = _forward_differences(f, point, float(h))
        else:
            estimate = _complex_step(f, point, float(h))
        errors[k] = float(np.max(_elementwise_relative_error(estimate, truth), initial=0.0))
    return errors


# ---------------------------------------------------------------------------------------------
# Kinks
# ---------------------------------------------------------------------------------------------


def kinks_within(Z_list: Sequence[Any], h: float) -> list[int]:
    """How many pre-activations lie within ``h`` of the kink at 0, per layer.

    A unit with $|z| < h$ may cross the kink when a finite-difference step moves it (by about
    $h\\,\\partial z / \\partial \\theta$), which spoils the difference quotient of ReLU-type
    activations. Complex input counts by its real part.

    Args:
        Z_list: pre-activation arrays, one per layer (e.g. ``net.backprop(X, y).Z``).
        h: the distance from 0 to count, > 0.

    Returns:
        One count per layer, first layer first.
    """
    h = check_positive_number("h", h)
    if isinstance(Z_list, np.ndarray) or not isinstance(Z_list, Sequence):
        raise TypeError(f"Z_list: expected a list of arrays, one per layer, got {describe(Z_list)}")
    counts = []
    for l, Z in enumerate(Z_list):
        Z_arr = as_array(f"Z_list[{l}]", Z, allow_complex=True, finite=False)
        counts.append(int(np.count_nonzero(np.abs(Z_arr.real) < h)))
    return counts


def _kinked_layers(model: Any) -> dict[int, tuple[float, ...]]:
    """0-based index -> kink points, for the model's layers whose activation has kinks."""
    n_layers = len(getattr(model, "weights", []))
    hidden = getattr(model, "activation", None)
    output = getattr(model, "output_activation", None)
    names = [hidden] * (n_layers - 1) + [output]
    return {
        l: ACTIVATIONS[name].kinks
        for l, name in enumerate(names)
        if isinstance(name, str) and name in KINK_ACTIVATIONS
    }


def _sides(Z: Array, kinks: tuple[float, ...]) -> Array:
    """For every entry of Z, on which side of each kink its real part lies (a bool stack)."""
    return np.stack([Z.real > k for k in kinks])


# ---------------------------------------------------------------------------------------------
# Checking a whole model
# ---------------------------------------------------------------------------------------------


@dataclass
class GradCheckResult:
    """The outcome of :func:`check_model_gradients`.

    Attributes:
        method: "complex_step" or "central".
        h: the step used.
        loss: the loss name.
        errors: worst relative error per parameter array ("W1", "b1", "W2", ...), over the
            entries that could be checked (inf for a gradient of the wrong shape or with NaN).
        worst_index: where that worst error occurs in each array.
        skipped: per parameter array, the number of entries left out because a ReLU kink lay
            inside the finite-difference step.
        kink_units: layer number (1 = first) -> the most units of that layer that crossed a
            kink in any one perturbed evaluation.
        notes: per parameter array, anything unusual (e.g. a gradient of the wrong shape).
        analytic: the gradients from the model's ``loss_and_gradients``.
        numeric: the numerical gradients.
    """

    method: str
    h: float
    loss: str
    errors: dict[str, float]
    worst_index: dict[str, tuple[int, ...]]
    skipped: dict[str, int]
    kink_units: dict[int, int]
    notes: dict[str, str] = field(default_factory=dict)
    analytic: dict[str, Array] = field(default_factory=dict, repr=False)
    numeric: dict[str, Array] = field(default_factory=dict, repr=False)

    @property
    def worst(self) -> float:
        """The largest relative error over all parameter arrays."""
        return max(self.errors.values(), default=0.0)

    def ok(self, tol: float | None = None) -> bool:
        """True when every checked entry agrees to relative error ``tol``.

        Args:
            tol: the tolerance; by default 1e-10 for the complex step, 1e-6 for central
                differences (:data:`DEFAULT_TOLERANCES`).
        """
        tol = DEFAULT_TOLERANCES[self.method] if tol is None else check_positive_number("tol", tol)
        return all(err <= tol for err in self.errors.values())

    def table(self) -> str:
        """A readable table: one row per parameter array."""
        tol = DEFAULT_TOLERANCES[self.method]
        lines = [
            f"gradient check: {self.method.replace('_', ' ')}, h = {self.h:.0e}, "
            f"loss = {self.loss!r}",
            f"{'param':<6} {'shape':<12} {'rel. error':>10}  verdict",
        ]
        for name, err in self.errors.items():
            shape = str(tuple(self.analytic[name].shape)) if name in self.analytic else "?"
            verdict = "ok" if err <= tol else "MISMATCH"
            extra = []
            if self.skipped.get(name):
                extra.append(f"{self.skipped[name]} entries at a kink skipped")
            if name in self.notes:
                extra.append(self.notes[name])
            tail = f" ({'; '.join(extra)})" if extra else ""
            lines.append(f"{name:<6} {shape:<12} {err:>10.1e}  {verdict}{tail}")
        if self.kink_units:
            where = ", ".join(f"layer {l}: {n}" for l, n in sorted(self.kink_units.items()))
            lines.append(f"ReLU kinks inside the step (most units per evaluation): {where}")
        verdict = "PASS" if self.ok() else "FAIL"
        lines.append(f"worst {self.worst:.1e} -> {verdict} at tolerance {tol:.0e}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.table()

    __str__ = __repr__


#: What :func:`check_model_gradients` needs of a model: the parameter protocol.
PROTOCOL = ("named_parameters", "with_parameters", "loss", "gradients")


def _complex_step_of_parameter(P: Array, h: float, loss: Callable[[], Any]) -> Array:
    """Im L(P + ih e_i) / h for every entry of the complex parameter array P (restored)."""
    numeric = np.zeros(P.shape)
    for i, _, (value,), _ in perturb_each_entry(P, (1j * h,), loss):
        numeric[i] = np.imag(value) / h
    return numeric


def _central_differences_of_parameter(
    P: Array,
    h: float,
    evaluate: Callable[[], tuple[Any, list[Array]]],
    kinked: Iterable[int],
    kink_units: dict[int, int],
) -> tuple[Array, Array]:
    """Central differences for every entry of P, and which entries straddle a kink.

    ``evaluate()`` returns the loss and, for each layer in ``kinked``, the sides of its kinks
    its pre-activations lie on; a unit whose side differs between P + h e_i and P - h e_i
    crossed a kink. ``kink_units`` (layer number -> most units crossed at once) is updated in
    place.
    """
    numeric = np.zeros(P.shape)
    straddles = np.zeros(P.shape, dtype=bool)
    layers = list(kinked)
    for i, old, (plus, minus), (up, down) in perturb_each_entry(P, (h, -h), evaluate):
        step = up - down  # the step actually taken, after rounding
        if step == 0:
            _vanishing_step(h, old)
        numeric[i] = (plus[0] - minus[0]) / step
        for l, s_plus, s_minus in zip(layers, plus[1], minus[1]):
            crossed = int(np.count_nonzero(np.any(s_plus != s_minus, axis=0)))
            if crossed:
                straddles[i] = True
                kink_units[l + 1] = max(kink_units.get(l + 1, 0), crossed)
    return numeric, straddles


def _record(result: GradCheckResult, name: str, G: Array, numeric: Array, straddles: Array) -> None:
    """Store one parameter array's comparison in ``result``."""
    result.analytic[name] = G
    result.numeric[name] = numeric
    result.skipped[name] = int(np.count_nonzero(straddles))
    if G.shape != numeric.shape:
        result.errors[name] = float("inf")
        result.worst_index[name] = ()
        result.notes[name] = f"gradient has shape {G.shape}, the parameter {numeric.shape}"
        return
    if not np.all(np.isfinite(G)):
        result.notes[name] = "gradient contains NaN or inf"
    err = _elementwise_relative_error(G, numeric)
    err[straddles] = 0.0  # not checkable: a kink lies inside the step
    if err.size == 0:
        result.errors[name], result.worst_index[name] = 0.0, ()
        return
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    result.worst_index[name] = tuple(int(k) for k in worst)
    result.errors[name] = float(err[worst])


def check_model_gradients(
    model: Any,
    X: Any,
    y: Any,
    loss: str = "mse",
    method: str = "complex_step",
    h: float | None = None,
    **kw: Any,
) -> GradCheckResult:
    """Compare a model's backpropagated gradients with numerical ones, entry by entry.

    Works for every model that follows the package's parameter protocol (:class:`bpcourse.nn.
    MLP`, :class:`bpcourse.nn.RNN`, ...): ``named_parameters()``, ``with_parameters(arrays)``,
    ``loss(X, y, **kw)`` and ``gradients(X, y, **kw)`` returning the loss and the gradients in
    the named order. Every parameter entry is perturbed in turn on a new model holding copies
    of the parameters (complex ones for the complex step), the loss is re-evaluated, and the
    numerical derivative is compared with the model's gradient by :func:`relative_error`. The
    model itself is not changed.

    With central differences and activations with kinks (ReLU-type: :data:`KINK_ACTIVATIONS`),
    an entry whose perturbation moves some pre-activation across a kink is left out and
    reported, with a :class:`KinkWarning`, instead of being shown as a backprop bug. The
    complex step does not suffer from kinks: both it and backprop decide by the real part.

    Args:
        model: a model following the parameter protocol.
        X: its inputs.
        y: targets for the loss.
        loss: the loss name, passed to the model as ``loss=``.
        method: "complex_step" (default) or "central".
        h: the step; by default 1e-20 for the complex step and 1e-5 for central differences.
        **kw: anything else the model's ``loss`` and ``gradients`` take.

    Returns:
        A :class:`GradCheckResult`; ``result.ok()`` says whether the gradients agree.
    """
    check_choice("method", method, DEFAULT_STEPS)
    h = DEFAULT_STEPS[method] if h is None else check_positive_number("h", h)
    for attr in PROTOCOL:
        if not callable(getattr(model, attr, None)):
            raise TypeError(
                f"model: expected a model with .{attr}() (the parameter protocol: "
                f"{', '.join(PROTOCOL)}), got {describe(model)}"
            )
    kw["loss"] = loss
    _, grads = model.gradients(X, y, **kw)  # also validates X, y and the keywords
    named = model.named_parameters()
    if len(grads) != len(named):
        raise ValueError(
            f"model.gradients: expected {len(named)} gradients, one per parameter of "
            f"named_parameters(), got {len(grads)}"
        )
    dtype = np.complex128 if method == "complex_step" else np.float64
    probe = model.with_parameters([np.array(P, dtype=dtype) for _, P in named])
    params = [P for _, P in probe.named_parameters()]
    kinked = _kinked_layers(model) if method == "central" else {}

    def evaluate() -> tuple[Any, list[Array]]:
        """The loss at the probe's current parameters, and the sides of the kinked layers' Z."""
        if not kinked:
            return probe.loss(X, y, **kw), []
        trace = probe.backprop(X, y, **kw)
        return trace.loss, [_sides(trace.Z[l], kinks) for l, kinks in kinked.items()]

    result = GradCheckResult(method, h, loss, {}, {}, {}, {})
    for (name, _), P, G in zip(named, params, grads):
        if method == "complex_step":
            numeric = _complex_step_of_parameter(P, h, lambda: probe.loss(X, y, **kw))
            straddles = np.zeros(P.shape, dtype=bool)
        else:
            numeric, straddles = _central_differences_of_parameter(
                P, h, evaluate, kinked, result.kink_units
            )
        _record(result, name, np.asarray(G), numeric, straddles)

    n_skipped = sum(result.skipped.values())
    if n_skipped:
        per_param = ", ".join(f"{n} of {name}" for name, n in result.skipped.items() if n)
        per_layer = ", ".join(f"layer {l}: up to {n}" for l, n in sorted(result.kink_units.items()))
        warnings.warn(
            f"central differences with h={h:g} crossed a ReLU kink for {n_skipped} "
            f"parameter entries ({per_param}); units crossing 0 per evaluation: {per_layer}. "
            "Those entries were left out of the comparison: a kink inside the step is not a "
            "backprop bug (try a smaller h or the complex step).",
            KinkWarning,
            stacklevel=2,
        )
    return result
