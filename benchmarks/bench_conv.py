"""How fast is the convolution layer of lesson 07's digit CNN, forward and backward?

The layer: 8 kernels of 3 × 3 on one-channel 8 × 8 images (the UCI digits), float64, stride 1,
valid. One step is the forward pass and the full backward pass (dX, dK and db; dX is what the
saliency maps need). Two batch sizes: 32 (a training mini-batch) and 1,347 (the whole
training set, as when the saliency of every image is computed at once).

Contenders, timed round-robin in the same run:

- **GEMM floor**: only the three matrix products an im2col layer cannot avoid, on ready-made
  matrices, into preallocated outputs: ``K @ cols`` (forward), ``dY @ colsᵀ`` (dK) and
  ``Kᵀ @ dY`` (the window gradients of dX), positions as columns;
- **im2col (model path)**: what :class:`bpcourse.dynamics.digits.DigitCNN` runs: the im2col
  matrix built by one slice copy per kernel entry, one product each way, col2im by slice additions;
- **im2col (checked API)**: :func:`bpcourse.dynamics.digits.conv2d_im2col_forward` and
  ``_backward`` with their argument checks;
- **nn.conv2d (lesson 06)**: :func:`bpcourse.nn.conv2d_forward` and ``conv2d_backward``;
- **PyTorch** (CPU, float64, ``torch.nn.functional.conv2d`` with autograd), when importable.

A second table measures the digit explorer (:func:`bpcourse.widgets.digit_explorer`): the
kernel-side time of one update (saliency, kernel responses, figure, PNG) when a control moves.

Run ``python benchmarks/bench_conv.py`` (``--help`` for options). Not a test: the numbers
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bpcourse import dynamics, nn
from bpcourse.dynamics import digits as cnn

Step = Callable[[], Any]
C_OUT, K_SIZE, SIDE = 8, 3, 8


def make_data(N: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((N, 1, SIDE, SIDE))
    K = rng.normal(size=(C_OUT, 1, K_SIZE, K_SIZE))
    b = rng.normal(size=C_OUT)
    out = SIDE - K_SIZE + 1
    dY = rng.normal(size=(N, C_OUT, out, out))
    return X, K, b, dY


def gemm_floor(N: int) -> Step:
    """The three products of an im2col layer, in the layout of bpcourse.dynamics.digits
    (positions as columns): Y = K cols, dK = dY colsᵀ, dcols = Kᵀ dY."""
    rng = np.random.default_rng(1)
    positions, k = N * (SIDE - K_SIZE + 1) ** 2, K_SIZE * K_SIZE
    cols = rng.normal(size=(k, positions))
    Km = rng.normal(size=(C_OUT, k))
    dY = rng.normal(size=(C_OUT, positions))
    out_y, out_dk, out_dcols = (
        np.empty((C_OUT, positions)),
        np.empty((C_OUT, k)),
        np.empty((k, positions)),
    )
    cols_t, Km_t = cols.T, Km.T

    def step() -> None:
        np.matmul(Km, cols, out=out_y)
        np.matmul(dY, cols_t, out=out_dk)
        np.matmul(Km_t, dY, out=out_dcols)

    return step


def model_path(X: np.ndarray, K: np.ndarray, b: np.ndarray, dY: np.ndarray) -> Step:
    def step() -> Any:
        _, cols = cnn._conv_forward(X, K, b)
        return cnn._conv_backward(dY, cols, K, X.shape, need_dX=True)

    return step


def checked_api(X: np.ndarray, K: np.ndarray, b: np.ndarray, dY: np.ndarray) -> Step:
    def step() -> Any:
        cnn.conv2d_im2col_forward(X, K, b)
        return cnn.conv2d_im2col_backward(dY, X, K)

    return step


def lesson06(X: np.ndarray, K: np.ndarray, b: np.ndarray, dY: np.ndarray) -> Step:
    def step() -> Any:
        nn.conv2d_forward(X, K, b)
        return nn.conv2d_backward(dY, X, K)

    return step


def torch_step(X: np.ndarray, K: np.ndarray, b: np.ndarray, dY: np.ndarray, threads: int) -> Step:
    import torch

    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X).requires_grad_(True)
    Kt = torch.from_numpy(K.copy()).requires_grad_(True)
    bt = torch.from_numpy(b.copy()).requires_grad_(True)
    dYt = torch.from_numpy(dY)
    conv = torch.nn.functional.conv2d

    def step() -> Any:
        Xt.grad = Kt.grad = bt.grad = None
        Y = conv(Xt, Kt, bt)
        Y.backward(dYt)
        return Xt.grad, Kt.grad, bt.grad

    # the race is between equal computations
    mine = nn.conv2d_backward(dY, X, K)
    for ours, theirs in zip(mine, step()):
        err = np.max(np.abs(ours - theirs.numpy())) / (np.max(np.abs(ours)) + 1e-300)
        if err > 1e-12:
            raise AssertionError(f"PyTorch and bpcourse gradients differ (relative {err:.1e})")
    return step


def calibrate(step: Step, target: float) -> int:
    step()
    t0 = time.perf_counter()
    step()
    return max(1, int(target / max(time.perf_counter() - t0, 1e-7)))


def race(steps: dict[str, Step], rounds: int, sample_seconds: float) -> dict[str, list[float]]:
    numbers = {name: calibrate(s, sample_seconds) for name, s in steps.items()}
    samples: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    order = random.Random(0)
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            t0 = time.perf_counter()
            for _ in range(numbers[name]):
                steps[name]()
            samples[name].append((time.perf_counter() - t0) / numbers[name])
    return samples


def explorer_latency(updates: int) -> list[float]:
    """Seconds per update of the digit explorer, kernel side (the render, no browser)."""
    from bpcourse import data, widgets

    X, y = data.load_digits()
    model = dynamics.DigitCNN.init(seed=0)
    explorer = widgets.digit_explorer(model, X[:200], y[:200])
    times = []
    moves = [("digit", i % 200) for i in range(1, updates)] + [("blank patch", True)]
    moves += [("patch row", r % 7) for r in range(updates)]
    for name, value in moves:
        t0 = time.perf_counter()
        explorer.controls[name].value = value
        times.append(time.perf_counter() - t0)
        if explorer.last_error is not None:
            raise explorer.last_error
    return times


def load_text() -> str:
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="samples per contender")
    parser.add_argument("--sample-ms", type=float, default=5.0, help="length of one sample")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads")
    parser.add_argument("--updates", type=int, default=30, help="explorer updates to time")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401

        have_torch = True
    except Exception as exc:
        print(f"note: torch not importable ({type(exc).__name__}); its column is skipped")
        have_torch = False
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print(f"threads of every contender: {args.threads}; load average before: {load_text()}")
    print()
    print("median and best time per forward + full backward; ratios to the GEMM floor and to")
    print("PyTorch (median, best)")
    print(
        f"{'batch':>6s} {'contender':24s} {'median':>10s} {'best':>10s} "
        f"{'x floor':>13s} {'x torch':>13s}"
    )
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for N in (32, 1347):
            X, K, b, dY = make_data(N)
            steps: dict[str, Step] = {
                "GEMM floor": gemm_floor(N),
                "im2col (model path)": model_path(X, K, b, dY),
                "im2col (checked API)": checked_api(X, K, b, dY),
                "nn.conv2d (lesson 06)": lesson06(X, K, b, dY),
            }
            if have_torch:
                steps["PyTorch"] = torch_step(X, K, b, dY, args.threads)
            samples = race(steps, args.rounds, args.sample_ms / 1000)
            med = {k: statistics.median(v) for k, v in samples.items()}
            best = {k: min(v) for k, v in samples.items()}
            for name in steps:
                floor = (
                    f"{med[name] / med['GEMM floor']:6.2f} {best[name] / best['GEMM floor']:6.2f}"
                )
                torch_r = (
                    f"{med[name] / med['PyTorch']:6.2f} {best[name] / best['PyTorch']:6.2f}"
                    if have_torch
                    else f"{'-':>6s} {'-':>6s}"
                )
                print(
                    f"{N:6d} {name:24s} {med[name] * 1e6:7.1f} us {best[name] * 1e6:7.1f} us "
                    f"{floor} {torch_r}"
                )
            print()
        times = explorer_latency(args.updates)
    print(
        f"digit explorer, kernel side, {len(times)} updates: median "
        f"{statistics.median(times) * 1e3:.1f} ms, best {min(times) * 1e3:.1f} ms, "
        f"worst {max(times) * 1e3:.1f} ms (target < 100 ms)"
    )
    print(f"load average after the run: {load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
