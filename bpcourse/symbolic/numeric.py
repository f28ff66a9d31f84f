"""Numeric evaluation of SymPy expressions in float64 (``lambdify`` with a safety net)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy
from sympy import Symbol

from bpcourse._validate import (
    as_array,
    check_finite_number,
    describe,
)
from bpcourse.gradcheck import relative_error
from bpcourse.symbolic._checks import _as_expr, _as_symbols


def lambdify_float(exprs: Any, symbols: Any, *, cse: bool = True) -> Callable[..., np.ndarray]:
    """Compile SymPy expressions into a NumPy function that returns float64.

    A thin wrapper around ``sympy.lambdify``: the returned function takes one value (a number
    or an array; arrays broadcast) per symbol, in the order of ``symbols``, and returns

    - for a single expression: a float64 array of the broadcast shape of the inputs;
    - for a sequence of $m$ expressions: a float64 array of shape ``(m, *broadcast_shape)``.

    Constant expressions are broadcast too, so the result always has that shape.

    Args:
        exprs: a SymPy expression or a sequence of them.
        symbols: a Symbol or a sequence of distinct Symbols, the arguments of the function.
        cse: let ``lambdify`` share common subexpressions (faster for large expressions).

    Expressions that contain ``Piecewise`` (``"relu"``, ``"leaky_relu"``) are compiled for
    scalars with the ``math`` module and evaluated point by point: NumPy's code printer is
    very slow on the nested conditions that SymPy builds for them. Where an expression is
    undefined (``log`` of a negative number, division by zero) the result is NaN.

    Returns:
        The compiled function.

    Raises:
        TypeError: if an expression or a symbol is not a SymPy object.
        ValueError: if an expression has a free symbol that is not among ``symbols``.
    """
    single = not isinstance(exprs, (list, tuple))
    items = (
        [_as_expr("exprs", exprs)]
        if single
        else [_as_expr(f"exprs[{i}]", e) for i, e in enumerate(exprs)]
    )
    args = _as_symbols("symbols", symbols, allow_empty=True)
    free = set().union(*(e.free_symbols for e in items)) if items else set()
    missing = sorted(free - set(args), key=str)
    if missing:
        raise ValueError(
            f"symbols: expected every free symbol of the expressions, got {missing} missing"
        )
    if any(e.has(sympy.Piecewise) for e in items):
        # NumPy's printer of nested Piecewise conditions can take many seconds (and with cse
        # it may produce a float-valued condition that NumPy rejects): compile for scalars.
        scalar = sympy.lambdify(args, items, modules=["math", "mpmath", "sympy"])
        return _float_wrapper(_pointwise(scalar, len(items)), len(args), single)
    fn = sympy.lambdify(args, items, modules="numpy", cse=cse)
    return _float_wrapper(fn, len(args), single)


def _pointwise(scalar: Callable[..., Any], n_out: int) -> Callable[..., list[np.ndarray]]:
    """Vectorize a scalar function of several outputs; NaN where it is undefined or not real."""

    def vectorized(*arrays: np.ndarray) -> list[np.ndarray]:
        grid = np.broadcast_arrays(*arrays) if arrays else []
        shape = grid[0].shape if grid else ()
        out = np.full((*shape, n_out), np.nan)
        for idx in np.ndindex(*shape):
            # a domain error, a division by zero or a complex value leaves NaN
            with contextlib.suppress(ArithmeticError, ValueError, TypeError):
                out[idx] = [float(v) for v in scalar(*(float(a[idx]) for a in grid))]
        return list(np.moveaxis(out, -1, 0))

    return vectorized


def _float_wrapper(fn: Callable[..., Any], n_args: int, single: bool) -> Callable[..., np.ndarray]:
    def evaluate_float(*values: Any) -> np.ndarray:
        if len(values) != n_args:
            raise TypeError(
                f"values: expected {n_args} argument values (one per symbol), got {len(values)}"
            )
        arrays = [as_array(f"values[{i}]", v) for i, v in enumerate(values)]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            raw = fn(*arrays)
        outs = [np.asarray(r) for r in raw]
        for r in outs:
            if np.iscomplexobj(r) and np.any(r.imag != 0):
                raise ValueError("the expression is not real at these values (complex result)")
        result = np.stack([np.broadcast_to(np.real(r).astype(np.float64), shape) for r in outs])
        return result[0] if single else result

    return evaluate_float


def evaluate(expr: Any, values: Mapping[Symbol, Any]) -> float:
    """Evaluate a SymPy expression at a point and return a Python float.

    Args:
        expr: a SymPy expression.
        values: a value for every free symbol of ``expr`` (extra entries are ignored).

    Returns:
        The value as a float64 number.

    Raises:
        ValueError: if a free symbol has no value, a value is not finite, or the result is not
            a finite real number (``sqrt(-1)``, ``1/0``, ``log(0)``).
    """
    e = _as_expr("expr", expr)
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values: expected a mapping from symbols to numbers, got {describe(values)}"
        )
    missing = sorted(e.free_symbols - set(values), key=str)
    if missing:
        raise ValueError(f"values: expected a value for every free symbol, got {missing} missing")
    symbols = sorted(e.free_symbols, key=str)
    numbers = [check_finite_number(f"values[{s}]", values[s]) for s in symbols]
    out = float(lambdify_float(e, symbols)(*numbers))
    if not math.isfinite(out):
        at = ", ".join(f"{s} = {v!r}" for s, v in zip(symbols, numbers))
        raise ValueError(
            f"expr: expected a finite real value at {at or 'this point'}, got {out!r} ({e} is "
            f"not defined there as a real number)"
        )
    return out


def _random_points(
    symbols: Sequence[Symbol], rng: np.random.Generator, n_points: int, low: float, high: float
) -> list[np.ndarray]:
    return [rng.uniform(low, high, size=n_points) for _ in symbols]


def _scaled_error(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`bpcourse.gradcheck.relative_error` with a floor of 1 (absolute below 1 in size,
    where an expression and its rival may both vanish); infinite when a side is not finite."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.inf
    return relative_error(a, b, floor=1.0)
