r"""What a symbolic gradient costs (lesson 06): ``sympy.diff``, ``diff`` followed by
common-subexpression elimination, and :func:`bpcourse.symbolic.reverse_mode_gradient`, timed
on the deep sigmoid chain (:func:`cost_table`).

Importing this module imports SymPy; :mod:`bpcourse.dynamics` loads it only when one of its
names is first used, so the explorers start without SymPy.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy
from sympy import Expr, Symbol
from sympy.core.cache import clear_cache

from bpcourse._validate import (
    check_choice,
    check_positive_int,
    describe,
)
from bpcourse.symbolic.reverse_mode import (
    chain_expression,
    chain_weights,
    count_ops,
    reverse_mode_gradient,
)

# --- the cost of a symbolic gradient: sympy.diff against reverse mode (lesson 06) -------------

#: The methods :func:`cost_table` can time.
COST_METHODS = ("diff", "diff+cse", "reverse")


@dataclass(frozen=True)
class CostTable:
    """Op counts and times of the gradient of :func:`chain_expression` by several methods.

    Attributes:
        depths: the depths $L$, in the order measured.
        methods: the methods measured (names from :data:`COST_METHODS`).
        ops: for each method, one op count per depth (NaN where skipped), counted as in
            :func:`count_ops`.
        seconds: for each method, one time per depth in seconds (NaN where skipped). The
            ``"diff+cse"`` time includes the ``diff`` it starts from.
    """

    depths: tuple[int, ...]
    methods: tuple[str, ...]
    ops: Mapping[str, tuple[float, ...]]
    seconds: Mapping[str, tuple[float, ...]]

    def format(self) -> str:
        """The table as fixed-width text, one row per depth."""
        head = f"{'L':>4}" + "".join(f" | {m + ' ops':>14} {m + ' s':>13}" for m in self.methods)
        lines = [head, "-" * len(head)]
        for i, depth in enumerate(self.depths):
            row = f"{depth:>4}"
            for m in self.methods:
                ops, sec = self.ops[m][i], self.seconds[m][i]
                ops_text = "skipped" if math.isnan(ops) else f"{int(ops):,}"
                sec_text = "" if math.isnan(sec) else f"{sec:.4f}"
                row += f" | {ops_text:>14} {sec_text:>13}"
            lines.append(row)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def cost_table(
    depths: Sequence[int] = (2, 4, 8, 16, 32),
    *,
    methods: Sequence[str] = COST_METHODS,
    max_diff_depth: int | None = None,
    repeats: int = 1,
) -> CostTable:
    """Measure the cost of the chain's gradient by ``sympy.diff``, diff + ``cse`` and reverse
    mode.

    For every depth $L$, the gradient of :func:`chain_expression` (L) with respect to all its
    weights is computed by each method; the op count is :func:`count_ops` of the output (the
    $L$ derivatives for ``"diff"``; the ``cse`` replacements and reduced expressions for
    ``"diff+cse"``; the assignments and gradients for ``"reverse"``). Times are wall-clock
    (best of ``repeats``) of the differentiation alone, after clearing SymPy's cache, and do
    not include counting. ``sympy.diff`` recurses once per level of the expression tree, so
    while it runs Python's recursion limit is raised to at least $1000 + 80L$ (and restored
    afterwards); reverse mode does not recurse.

    Args:
        depths: the depths, each $\\ge 1$.
        methods: which of ``"diff"``, ``"diff+cse"``, ``"reverse"`` to run.
        max_diff_depth: skip ``"diff"`` and ``"diff+cse"`` above this depth (``sympy.diff``
            takes about 20 s at depth 32); ``None`` runs them everywhere.
        repeats: timing repeats, $\\ge 1$.

    Returns:
        A :class:`CostTable`.
    """
    if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence):
        raise TypeError(f"depths: expected a sequence of integers, got {describe(depths)}")
    if not depths:
        raise ValueError("depths: expected at least one depth, got an empty sequence")
    levels = tuple(check_positive_int(f"depths[{i}]", d) for i, d in enumerate(depths))
    if isinstance(methods, (str, bytes)) or not isinstance(methods, Sequence) or not methods:
        raise TypeError(f"methods: expected a non-empty sequence of names, got {describe(methods)}")
    chosen = tuple(check_choice(f"methods[{i}]", m, COST_METHODS) for i, m in enumerate(methods))
    limit = None if max_diff_depth is None else check_positive_int("max_diff_depth", max_diff_depth)
    n_repeats = check_positive_int("repeats", repeats)
    ops: dict[str, list[float]] = {m: [] for m in chosen}
    seconds: dict[str, list[float]] = {m: [] for m in chosen}
    for depth in levels:
        expr, weights = chain_expression(depth), chain_weights(depth)
        row = _measure_depth(expr, weights, chosen, limit is not None and depth > limit, n_repeats)
        for m in chosen:
            ops[m].append(row[m][0])
            seconds[m].append(row[m][1])
    return CostTable(
        levels,
        chosen,
        {m: tuple(v) for m, v in ops.items()},
        {m: tuple(v) for m, v in seconds.items()},
    )


@contextlib.contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    """Raise Python's recursion limit to at least ``limit`` for the block, then restore it."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _best_time(work: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """Run ``work`` ``repeats`` times on a cleared SymPy cache; its last result and best time."""
    best, result = math.inf, None
    for _ in range(repeats):
        clear_cache()
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return result, best


def _measure_depth(
    expr: Expr, weights: tuple[Symbol, ...], methods: tuple[str, ...], skip_diff: bool, repeats: int
) -> dict[str, tuple[float, float]]:
    row: dict[str, tuple[float, float]] = {}
    if "reverse" in methods:
        result, seconds = _best_time(lambda: reverse_mode_gradient(expr, weights), repeats)
        row["reverse"] = (float(result.count_ops()), seconds)
    if skip_diff:
        row["diff"] = row["diff+cse"] = (math.nan, math.nan)
    elif {"diff", "diff+cse"} & set(methods):
        # sympy.diff recurses once per level of the tree, about four levels per layer.
        with _recursion_limit(1000 + 80 * len(weights)):
            derivatives, diff_time = _best_time(
                lambda: [sympy.diff(expr, w) for w in weights], repeats
            )
            row["diff"] = (float(count_ops(derivatives)), diff_time)
            if "diff+cse" in methods:
                (shared, reduced), cse_time = _best_time(lambda: sympy.cse(derivatives), repeats)
                total = count_ops([e for _, e in shared] + list(reduced))
                row["diff+cse"] = (float(total), diff_time + cse_time)
    return {m: row[m] for m in methods}
