"""Latency of the gradient-flow explorer: slider change -> updated figure (PNG) ready.

For every depth from 1 to 50 the depth slider of ``gradient_flow_explorer()`` (default width,
activation and initialisation) is moved onto that depth from a neighbouring one, several
times, and the time until the explorer's image holds the new PNG is measured. The result
caches of :mod:`bpcourse.dynamics` are cleared before every timed change, so each one pays
the full price: the gradient probe, the short training run, the redraw and the PNG encoding.
(A change back to a setting seen before is served from the cache and is much faster.)

Setting a control's ``value`` runs the same observer a browser's slider message triggers, so
this is the kernel-side latency; the browser adds only the transfer and display of a PNG of
a few tens of kilobytes.

Both wall-clock and CPU time of this process are reported: on a machine shared with other
work the wall-clock time includes waiting for a core, the CPU time does not.

Run: ``python benchmarks/bench_widgets.py [--repeats 5] [--max-depth 50] [--target 100]``.
It is not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bpcourse.dynamics import gradient_flow
from bpcourse.widgets import (
    GRADIENT_FLOW_DEFAULTS,
    LEARNING_RATE_DEFAULTS,
    gradient_flow_explorer,
    learning_rate_explorer,
)


def _blas_note() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (threadpoolctl not installed)"
    parts = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return "BLAS: " + (", ".join(parts) or "none found")


def _clear_caches() -> None:
    gradient_flow._gradient_flow_cached.cache_clear()
    gradient_flow._probe_norms.cache_clear()


def measure(max_depth: int, repeats: int) -> list[tuple[int, float, float]]:
    """Return ``(depth, median wall ms, median cpu ms)`` for depths 1..max_depth."""
    explorer = gradient_flow_explorer(depth=1, max_depth=max(max_depth, 2))
    slider = explorer.controls["depth"]
    rows = []
    for depth in range(1, max_depth + 1):
        walls, cpus = [], []
        for r in range(repeats):
            neighbour = depth + 1 if (r % 2 == 0 or depth == 1) and depth < max_depth else depth - 1
            slider.value = max(neighbour, 1)  # untimed: move away first
            _clear_caches()
            before = bytes(explorer.image.value)
            w0, c0 = time.perf_counter(), time.process_time()
            slider.value = depth
            w1, c1 = time.perf_counter(), time.process_time()
            if explorer.last_error is not None:
                raise RuntimeError(f"update failed at depth {depth}: {explorer.last_error!r}")
            if bytes(explorer.image.value) == before:
                raise RuntimeError(f"the picture did not change at depth {depth}")
            walls.append(1e3 * (w1 - w0))
            cpus.append(1e3 * (c1 - c0))
        rows.append((depth, statistics.median(walls), statistics.median(cpus)))
    return rows


def measure_learning_rate(repeats: int) -> list[tuple[float, float, float]]:
    """``(lr, median wall ms, median cpu ms)`` of the learning-rate explorer (default epochs)."""
    explorer = learning_rate_explorer()
    slider = explorer.controls["learning rate"]
    rows = []
    for lr in (0.001, 0.01, 0.1, 0.3, 0.7, 2.0, 20.0):
        walls, cpus = [], []
        for _ in range(repeats):
            slider.value = 1.0  # untimed: move away first (training runs are not cached)
            w0, c0 = time.perf_counter(), time.process_time()
            slider.value = lr
            w1, c1 = time.perf_counter(), time.process_time()
            if explorer.last_error is not None:
                raise RuntimeError(f"update failed at lr {lr}: {explorer.last_error!r}")
            walls.append(1e3 * (w1 - w0))
            cpus.append(1e3 * (c1 - c0))
        rows.append((lr, statistics.median(walls), statistics.median(cpus)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="changes per depth (median)")
    parser.add_argument("--max-depth", type=int, default=50)
    parser.add_argument("--target", type=float, default=100.0, help="target median in ms")
    args = parser.parse_args()

    d = GRADIENT_FLOW_DEFAULTS
    print(
        f"gradient_flow_explorer: width {d['width']}, {d['activation']}, {d['init']}, "
        f"short run of {d['num_epochs']} steps on {d['n_samples']} samples"
    )
    print(_blas_note())
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = measure(args.max_depth, args.repeats)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"\n{'depth':>5}  {'wall ms':>8}  {'cpu ms':>7}    (median of {args.repeats} changes)")
    for depth, wall, cpu in rows:
        flag = "  > target" if wall > args.target else ""
        print(f"{depth:>5}  {wall:>8.1f}  {cpu:>7.1f}{flag}")
    worst_wall = max(rows, key=lambda row: row[1])
    worst_cpu = max(rows, key=lambda row: row[2])
    print(
        f"\nworst median: wall {worst_wall[1]:.1f} ms (depth {worst_wall[0]}), "
        f"cpu {worst_cpu[2]:.1f} ms (depth {worst_cpu[0]})"
    )
    lr_rows = measure_learning_rate(args.repeats)
    verdict = "met" if worst_wall[1] <= args.target else "NOT met"
    print(
        f"target {args.target:.0f} ms at every depth: {verdict} (wall clock); "
        f"1-minute load average {load_before:.2f} before, {load_after:.2f} after"
    )
    d = LEARNING_RATE_DEFAULTS
    print(
        f"\nlearning_rate_explorer ({d['dataset']}, {d['num_epochs']} epochs, full batch; "
        "training and figure redone on every change):"
    )
    print(f"{'lr':>7}  {'wall ms':>8}  {'cpu ms':>7}")
    for lr, wall, cpu in lr_rows:
        print(f"{lr:>7g}  {wall:>8.1f}  {cpu:>7.1f}")


if __name__ == "__main__":
    main()
