"""One BLAS thread per kernel or one per core, when other kernels share the cores?

On a class's JupyterHub many users' kernels run on the same cores. OpenBLAS starts as many
threads as the machine has cores, and a product it splits between threads waits until every
thread has run: when other processes hold the cores, that wait is a scheduler's time slice, not
the product's time. ``deploy/jupyterhub_config.py`` therefore gives every user's kernel one
thread (``BPCOURSE_KERNEL_THREADS``). This benchmark measures the choice.

Two workloads of the lessons, each timed with 1 BLAS thread and with one per core:

- ``char model``: lesson 07's character-level RNN trained on the names (embedding 16, hidden 64,
  windows of 25 characters, batch 32), ``--steps`` steps of ``dynamics.train_char_model``;
- ``MLP 784``: training steps of ``bench_mlp``'s 784-128-64-10 network (``loss_and_gradients``,
  tanh, cross-entropy, batch 64), the largest dense products of the course.

each while 0, 1, ... other processes keep cores busy (a pure-Python loop each, as another
user's running cell would). The two thread counts alternate, and the best of ``--repeats`` runs
is kept. Printed: seconds per run and the ratio (one per core) / (one thread): above 1, one
thread is faster.

Run: ``python benchmarks/bench_threads.py [--busy 0,1,2] [--repeats 3] [--steps 100]``. Not a
test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import bench_mlp
import numpy as np
from threadpoolctl import threadpool_limits

from bpcourse import data, dynamics

SPIN = "while True:\n    pass\n"


def char_model_workload(steps: int) -> Callable[[], object]:
    """Lesson 07's character model: ``steps`` training steps on windows of the names."""
    names = data.load_names()
    vocab = data.CharVocab.from_texts(names)
    X, Y = data.names_to_sequences(names[:4600], vocab, length=25)
    model = dynamics.CharRNN.init(vocab.size, embed_dim=16, n_hidden=64, seed=0)

    def run() -> object:
        return dynamics.train_char_model(model, X, Y, steps=steps, batch_size=32, seed=0)

    return run


def mlp_workload(steps: int) -> Callable[[], object]:
    """``steps`` training steps (forward and backward) of ``bench_mlp``'s 784-128-64-10 tanh
    MLP with cross-entropy, on its batch of 64."""
    case = next(c for c in bench_mlp.CASES if c.label == "784-128-64-10 xent")
    step = bench_mlp.bpcourse_step(case, *bench_mlp.make_batch(case))

    def run() -> object:
        out = None
        for _ in range(steps):
            out = step()
        return out

    return run


@contextmanager
def busy_cores(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` processes that keep a core busy each, stopped on leaving (also on errors)."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
    try:
        time.sleep(0.2 if count else 0.0)  # let them reach their loop
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def best_times(
    work: Callable[[], object], thread_counts: Sequence[int], repeats: int
) -> dict[int, float]:
    """Fastest of ``repeats`` runs of ``work`` at each BLAS thread count, counts alternating."""
    times: dict[int, list[float]] = {n: [] for n in thread_counts}
    for rep in range(repeats):
        order = list(thread_counts) if rep % 2 == 0 else list(reversed(thread_counts))
        for n in order:
            with threadpool_limits(limits=n, user_api="blas"):
                start = time.perf_counter()
                work()
                times[n].append(time.perf_counter() - start)
    return {n: min(values) for n, values in times.items()}


def run(
    busy: Sequence[int], repeats: int = 3, steps: int = 100, threads: int | None = None
) -> dict[tuple[str, int], dict[int, float]]:
    """Time every workload at 1 and ``threads`` BLAS threads (default: one per core) with each
    number of busy processes in ``busy``; print a line each and return the best times."""
    many = threads or os.cpu_count() or 1
    counts = sorted({1, many})
    workloads = {
        "char model": char_model_workload(steps),
        "MLP 784": mlp_workload(2 * steps),
    }
    for work in workloads.values():
        work()  # warm up (imports, allocations)
    results: dict[tuple[str, int], dict[int, float]] = {}
    for count in busy:
        with busy_cores(count):
            for name, work in workloads.items():
                best = best_times(work, counts, repeats)
                results[(name, count)] = best
                line = f"{count:4d} busy  {name:10s}" + "".join(
                    f"  {n} thread{'s' if n > 1 else ' '} {best[n]:7.3f} s" for n in counts
                )
                if many > 1:
                    line += f"  ratio {best[many] / best[1]:5.2f}"
                print(line, flush=True)
    return results


def _busy_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(
            f"--busy: expected numbers of busy processes such as 0,1,2, got {text!r}"
        )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=_busy_counts, default=None, help="e.g. 0,1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100, help="char-model steps per run")
    parser.add_argument("--threads", type=int, default=None, help="the many (default: cores)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    busy = args.busy if args.busy is not None else list(range(cores + 1))
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {cores} CPUs")
    print(f"BLAS: {bench_mlp.blas_description()[0]}")
    print("best of", args.repeats, "runs; ratio = (one thread per core) / (one thread)")
    run(busy, args.repeats, args.steps, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
