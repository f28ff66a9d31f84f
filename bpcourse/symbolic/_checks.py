"""Argument checks and small helpers shared by the modules of :mod:`bpcourse.symbolic`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import sympy
from sympy import Expr, Symbol

from bpcourse._validate import (
    describe,
)


def _nodes(expr: Any) -> Iterable[Any]:
    """Every distinct sub-expression of ``expr``, without recursion (deep chains are fine)."""
    seen: set[Any] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack += node.args


def _free_symbols(expr: Expr) -> set[Symbol]:
    """``expr.free_symbols`` for expressions without bound variables, found iteratively."""
    return {node for node in _nodes(expr) if isinstance(node, sympy.Symbol)}


def _as_expr(name: str, value: Any) -> Expr:
    """Return ``value`` as a SymPy scalar expression (Python numbers are accepted)."""
    if isinstance(value, bool) or not isinstance(value, (sympy.Basic, int, float)):
        raise TypeError(f"{name}: expected a SymPy expression, got {describe(value)}")
    expr = sympy.sympify(value)
    if not isinstance(expr, sympy.Expr) or isinstance(expr, sympy.MatrixBase):
        raise TypeError(f"{name}: expected a scalar SymPy expression, got {describe(value)}")
    if any(isinstance(node, sympy.MatrixExpr) for node in _nodes(expr)):
        raise TypeError(f"{name}: expected a scalar SymPy expression, got a matrix expression")
    return expr


def _as_symbol(name: str, value: Any) -> Symbol:
    if not isinstance(value, sympy.Symbol):
        raise TypeError(f"{name}: expected a sympy.Symbol, got {describe(value)}")
    return value


def _as_symbols(name: str, values: Any, *, allow_empty: bool = False) -> tuple[Symbol, ...]:
    """Check a Symbol or a sequence of distinct Symbols and return them as a tuple."""
    if isinstance(values, sympy.Symbol):
        return (values,)
    if isinstance(values, (str, bytes, sympy.Basic)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{name}: expected a sympy.Symbol or a sequence of them, got {describe(values)}"
        )
    out = tuple(values)
    for i, item in enumerate(out):
        _as_symbol(f"{name}[{i}]", item)
    if not out and not allow_empty:
        raise ValueError(f"{name}: expected at least one symbol, got an empty sequence")
    repeated = [s for s, n in Counter(out).items() if n > 1]
    if repeated:
        raise ValueError(f"{name}: expected distinct symbols, got {repeated[0]} more than once")
    return out


def _index(*indices: int) -> str:
    """Subscript text for 1-based indices: ``12`` when all are one digit, else ``1,12``."""
    parts = [str(i) for i in indices]
    return "".join(parts) if all(i < 10 for i in indices) else ",".join(parts)
