"""Speed of bpcourse.engine against micrograd on the same scalar graphs.

Two workloads, each timed as forward build + backward (``time.perf_counter``; freeing the
graph afterwards is not timed):

- ``mlp``: a small multilayer perceptron on scalars (ReLU hidden layers, linear output,
  squared-error loss summed over a batch): several thousand nodes.
- ``chain``: a long chain ``v = v * w + c`` of ``2 * length`` operations.

The two engines run alternately, so that load on a shared machine hits both alike. The
report gives the fastest and the median time of each; the speed-up is the ratio of the
fastest times (the least disturbed runs, as ``timeit`` advises).

micrograd (``pip install micrograd``) is the reference; if it cannot be imported only
bpcourse is timed. Both are timed with Python's cyclic garbage collector on (as learners run
them; micrograd's closures form reference cycles that the collector has to find) and off (the
arithmetic and bookkeeping alone). micrograd sorts its graph recursively, so the recursion
limit is raised for the chain workload (it would raise ``RecursionError`` past about 1000
nodes otherwise).

Run: ``python benchmarks/bench_engine.py [--repeats 15] [--chain 5000] [--gc both] [--split]``
(``--split`` adds the phases of the MLP workload, building and backward, timed on their own).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bpcourse.engine import Value

try:
    from micrograd.engine import Value as MicrogradValue
except ImportError:  # the reference is optional
    MicrogradValue = None


def make_mlp_workload(
    value_cls: Any,
    sizes: tuple[int, ...] = (6, 16, 16, 1),
    batch: int = 8,
    seed: int = 0,
    backward: bool = True,
) -> Callable[[], Any]:
    """Return a function that builds the MLP loss graph with ``value_cls`` and backpropagates
    (with ``backward=False`` it only builds the graph).

    The parameters and data are drawn once from ``default_rng(seed)`` as plain floats, so both
    engines build exactly the same graph (same operations in the same order).
    """
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0.0, 1.0 / np.sqrt(m), size=(m, n)).tolist()
        for m, n in itertools.pairwise(sizes)
    ]
    biases = [rng.normal(0.0, 0.1, size=n).tolist() for n in sizes[1:]]
    X = rng.normal(size=(batch, sizes[0])).tolist()
    y = rng.normal(size=batch).tolist()

    def run() -> Any:
        W = [[[value_cls(w) for w in row] for row in layer] for layer in weights]
        b = [[value_cls(v) for v in layer] for layer in biases]
        loss = value_cls(0.0)
        for x_row, target in zip(X, y):
            h: list[Any] = [value_cls(v) for v in x_row]
            for layer, (W_l, b_l) in enumerate(zip(W, b)):
                out = []
                for j in range(len(b_l)):
                    act = b_l[j]
                    for i in range(len(h)):
                        act = act + W_l[i][j] * h[i]
                    out.append(act.relu() if layer < len(W) - 1 else act)
                h = out
            diff = h[0] - target
            loss = loss + diff * diff
        if backward:
            loss.backward()
        return loss

    return run


def make_chain_workload(value_cls: Any, length: int = 5000) -> Callable[[], Any]:
    """Return a function that applies ``v = v * 1.0001 + 0.001`` ``length`` times, then backward."""

    def run() -> Any:
        v = value_cls(0.5)
        for _ in range(length):
            v = v * 1.0001 + 0.001
        v.backward()
        return v

    return run


def count_nodes(root: Value) -> int:
    """Number of nodes in a bpcourse graph (for the report)."""
    from bpcourse.engine import topological_order

    return len(topological_order(root))


#: The timer: wall time by default; ``--clock cpu`` uses this process's CPU time instead, which
#: on a machine shared with other busy processes leaves out the time spent waiting for a core
#: (both engines are single-threaded Python, so their CPU time is their work).
CLOCK: Callable[[], float] = time.perf_counter


def time_pair(
    ours: Callable[[], Any], reference: Callable[[], Any] | None, repeats: int
) -> tuple[list[float], list[float] | None]:
    """Times of ``repeats`` runs of ``ours()`` and of ``reference()``, run alternately.

    Which of the two goes first alternates too; each gets one warm-up run. The graph a run
    returns is released after its timer stops: freeing it is not timed. The garbage collector
    runs between timed runs (not timed), so that the next run starts with no garbage left
    from the previous one: with the collector on, a run still pays for the collections its
    own allocations trigger, and with it off memory does not pile up.
    """
    funcs = [ours] if reference is None else [ours, reference]
    for fn in funcs:
        fn()
    times: list[list[float]] = [[] for _ in funcs]
    for rep in range(repeats):
        order = range(len(funcs)) if rep % 2 == 0 else reversed(range(len(funcs)))
        for k in order:
            start = CLOCK()
            root = funcs[k]()
            times[k].append(CLOCK() - start)
            del root
            # Free the graph before the next timed run, also with the collector on: a graph
            # kept alive by reference cycles (micrograd's closures) would otherwise be
            # collected during the next run, which may be the other engine's.
            gc.collect()
    return times[0], (times[1] if reference is not None else None)


def run(
    repeats: int = 15, chain: int = 5000, gc_modes: Sequence[str] = ("on", "off")
) -> dict[str, dict[str, float]]:
    """Time every workload in every garbage-collector mode, print a line each, return rows.

    Returns:
        ``{"<workload> gc <mode>": {"nodes", "bpcourse_min_s", and with micrograd also
        "micrograd_min_s", "speedup"}}``.
    """
    results: dict[str, dict[str, float]] = {}
    workloads = {
        "mlp": lambda cls: make_mlp_workload(cls),
        "chain": lambda cls: make_chain_workload(cls, chain),
    }
    print(f"Python {platform.python_version()}, {reference_description()}")
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 10 * chain + 1000))
    try:
        for mode in gc_modes:
            gc.collect()
            if mode == "off":
                gc.disable()
            for name, make in workloads.items():
                ours_fn = make(Value)
                ref_fn = None if MicrogradValue is None else make(MicrogradValue)
                nodes = count_nodes(ours_fn())
                ours, ref = time_pair(ours_fn, ref_fn, repeats)
                row = {"nodes": float(nodes), "bpcourse_min_s": min(ours)}
                line = (
                    f"gc {mode:3s} {name:5s} {nodes:5d} nodes  bpcourse {min(ours) * 1e3:6.2f} ms"
                    f" (median {statistics.median(ours) * 1e3:6.2f})"
                )
                if ref is not None:
                    speedup = min(ref) / min(ours)
                    row.update(micrograd_min_s=min(ref), speedup=speedup)
                    line += (
                        f"  micrograd {min(ref) * 1e3:6.2f} ms"
                        f" (median {statistics.median(ref) * 1e3:6.2f})  speed-up x{speedup:.2f}"
                    )
                results[f"{name} gc {mode}"] = row
                print(line)
                gc.collect()
            gc.enable()
    finally:
        gc.enable()
        sys.setrecursionlimit(old_limit)
    return results


def split_mlp(repeats: int) -> dict[str, float]:
    """Fastest times of the MLP workload's phases, collector on: building the graph, and
    ``backward`` on a graph just built (for bpcourse also its first part, the ordering).

    Shows what bounds the speed-up: a phase of ours that alone takes longer than the whole
    reference divided by the target cannot meet it, whatever the other phases do.
    """
    from bpcourse.engine import _backward_order

    engines = {"bpcourse": Value}
    if MicrogradValue is not None:
        engines["micrograd"] = MicrogradValue
    phases: dict[str, float] = {}
    for name, cls in engines.items():
        build = make_mlp_workload(cls, backward=False)
        build()  # warm up
        times: dict[str, list[float]] = {"build": [], "backward": [], "order": []}
        for _ in range(repeats):
            gc.collect()
            start = CLOCK()
            root = build()
            times["build"].append(CLOCK() - start)
            start = CLOCK()
            root.backward()
            times["backward"].append(CLOCK() - start)
            if cls is Value:
                start = CLOCK()
                _backward_order(root)
                times["order"].append(CLOCK() - start)
            del root
        for phase, values in times.items():
            if values:
                phases[f"{name} {phase}"] = min(values)
    line = "split (mlp, gc on, fastest):  bpcourse build {:.2f} ms + backward {:.2f} ms".format(
        phases["bpcourse build"] * 1e3, phases["bpcourse backward"] * 1e3
    )
    line += f" (of which ordering {phases['bpcourse order'] * 1e3:.2f} ms)"
    if "micrograd build" in phases:
        total = phases["micrograd build"] + phases["micrograd backward"]
        line += (
            f";  micrograd build {phases['micrograd build'] * 1e3:.2f} ms + backward "
            f"{phases['micrograd backward'] * 1e3:.2f} ms;  5x would leave bpcourse "
            f"{total / 5 * 1e3:.2f} ms for both"
        )
    print(line)
    return phases


def reference_description() -> str:
    """Which micrograd is timed, or why none is."""
    if MicrogradValue is None:
        return "micrograd not importable: timing bpcourse only (pip install micrograd)"
    try:
        from importlib.metadata import version

        return f"micrograd {version('micrograd')}"
    except Exception:  # installed without metadata
        return "micrograd (version unknown)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--chain", type=int, default=5000, help="chain length (steps)")
    parser.add_argument(
        "--gc",
        choices=["on", "off", "both"],
        default="both",
        help="time with Python's cyclic garbage collector on (as users run), off, or both",
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time (time.perf_counter) or this process's CPU time (time.process_time)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="also time the MLP workload's phases (build, backward) on their own",
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {args.clock}")
    run(args.repeats, args.chain, ["on", "off"] if args.gc == "both" else [args.gc])
    if args.split:
        split_mlp(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
