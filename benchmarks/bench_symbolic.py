"""Expression swell: the gradient of a deep sigmoid chain by sympy.diff, diff + cse and
symbolic reverse mode.

The expression is ``bpcourse.symbolic.chain_expression(L)``,
``(sigmoid(w_L * ... sigmoid(w_1 * x)) - t)**2 / 2``, differentiated with respect to all
``L`` weights. For each depth the table gives

- ``ops``: ``sympy.count_ops`` summed over the output expressions (for diff + cse and reverse
  mode: over the right-hand sides of the shared assignments plus the final expressions);
- ``s``: wall-clock seconds of the differentiation (best of ``--repeats``), SymPy's cache
  cleared before each run; the diff + cse time includes the diff.

``sympy.diff`` takes about 20 s at depth 32 and is not run past that depth; reverse mode
alone is also run at ``--reverse-depths`` (64 by default). ``--skip-diff-above N`` leaves
out diff and diff + cse above depth N (for a quick run: ``--skip-diff-above 16``).

Every reverse-mode gradient is checked against ``bpcourse.engine`` (scalar backpropagation)
at a random point, and against ``sympy.diff`` at random points up to ``--check-diff-up-to``.

Run: ``python benchmarks/bench_symbolic.py [--skip-diff-above 16] [--figure cost.png]``.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time

import numpy as np
import sympy

from bpcourse.dynamics import COST_METHODS, CostTable, cost_table
from bpcourse.engine import Value
from bpcourse.symbolic import (
    chain_expression,
    chain_weights,
    compare_with_diff,
    reverse_mode_gradient,
)


def engine_error(depth: int, seed: int = 0) -> float:
    """Largest relative difference between reverse mode and bpcourse.engine at one point."""
    rng = np.random.default_rng(seed)
    w_values = rng.uniform(-1.5, 1.5, size=depth)
    x_value, t_value = float(rng.uniform(-1, 1)), float(rng.uniform(0, 1))
    weights = [Value(float(v)) for v in w_values]
    a = Value(x_value)
    for w in weights:
        a = (w * a).sigmoid()
    loss = (a - t_value) ** 2 * 0.5
    loss.backward()
    want = np.array([w.grad for w in weights])
    result = reverse_mode_gradient(chain_expression(depth), chain_weights(depth))
    x, t = sympy.symbols("x t")
    got = result.lambdify([*chain_weights(depth), x, t])(*w_values, x_value, t_value)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)))


def merge(first: CostTable, extra: CostTable) -> CostTable:
    """One table: ``first`` followed by the reverse-only rows of ``extra``."""
    nan = (math.nan,) * len(extra.depths)
    ops = {m: tuple(first.ops[m]) + tuple(extra.ops.get(m, nan)) for m in first.methods}
    seconds = {m: tuple(first.seconds[m]) + tuple(extra.seconds.get(m, nan)) for m in first.methods}
    return CostTable(first.depths + extra.depths, first.methods, ops, seconds)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--reverse-depths", type=int, nargs="*", default=[64])
    parser.add_argument("--skip-diff-above", type=int, default=None, metavar="N")
    parser.add_argument("--repeats", type=int, default=1, help="timing repeats (best is kept)")
    parser.add_argument("--check-diff-up-to", type=int, default=16, metavar="N")
    parser.add_argument("--figure", default=None, help="save plot_symbolic_cost to this file")
    args = parser.parse_args(argv)

    print(f"Python {platform.python_version()}, SymPy {sympy.__version__}, {platform.machine()}")
    started = time.perf_counter()
    table = cost_table(
        args.depths, methods=COST_METHODS, max_diff_depth=args.skip_diff_above, repeats=args.repeats
    )
    if args.reverse_depths:
        extra = cost_table(args.reverse_depths, methods=["reverse"], repeats=args.repeats)
        table = merge(table, extra)
    print(table.format())
    print(f"(measured in {time.perf_counter() - started:.1f} s)")

    print("\nreverse mode, per layer and checks:")
    for i, depth in enumerate(table.depths):
        ops = table.ops["reverse"][i]
        line = f"  L={depth:>3}: {ops / depth:.1f} ops per layer"
        line += f", engine rel. error {engine_error(depth):.1e}"
        if depth <= args.check_diff_up_to:
            result = reverse_mode_gradient(chain_expression(depth), chain_weights(depth))
            comparison = compare_with_diff(result, n_points=5, seed=depth)
            line += f", sympy.diff max error {comparison.max_error:.1e}"
        print(line)

    if 32 in table.depths:
        i = table.depths.index(32)
        ops, sec = table.ops["reverse"][i], table.seconds["reverse"][i]
        print(f"\ntarget at L=32: <= 400 ops and < 0.5 s; measured {int(ops)} ops in {sec:.3f} s")
        if not math.isnan(table.ops["diff"][i]):
            print(
                f"swell at L=32: sympy.diff {int(table.ops['diff'][i]):,} ops in "
                f"{table.seconds['diff'][i]:.1f} s, {table.ops['diff'][i] / ops:.0f}x the ops "
                f"and {table.seconds['diff'][i] / sec:.0f}x the time of reverse mode"
            )
    if args.figure:
        from bpcourse.plots import plot_symbolic_cost

        plot_symbolic_cost(table).savefig(args.figure, dpi=100)
        print(f"figure saved to {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
