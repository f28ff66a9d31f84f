"""How fast is one training step of ``bpcourse.nn.MLP``?

A training step here is one forward and one backward pass (``loss_and_gradients``) in float64,
without the parameter update. It is timed for three shapes of network:

- ``[784, 128, 64, 10]``, batch 64, tanh (an MNIST-sized MLP), with MSE and cross-entropy;
- ``[2, 16, 16, 1]``, batch 32, tanh, MSE (a tiny network: Python overhead dominates);
- ``[32] * 20 + [1]``, batch 64, tanh, MSE (deep and narrow: overhead per layer dominates).

Each is compared with

- the **GEMM floor**: only the matrix products that forward and backward need
  (``A @ W`` per layer, ``A.T @ delta`` per layer, ``delta @ W.T`` per layer but the first),
  written into preallocated arrays, measured in the same run with the same BLAS threads
  (made with ``@``; for small matrices the step's own products, ``ndarray.dot`` with the bias
  folded in, cost a little less, so on small networks the floor is not a strict lower bound);
- **plain numpy**: the GEMM floor's products and the element-wise passes of a plain numpy
  step (bias, tanh, its derivative, the loss and its gradient, the bias gradients), in the
  order of a real step, without checks or other Python (see ``plain_numpy_step``). On a
  large network, where those passes cost what they cost however they are called, it is a
  floor for any numpy step, and the step's excess over it is call overhead and argument
  checks; on a small one, where calls dominate, the step folds passes into the products
  (see ``bpcourse.nn.mlp``) and comes in under it;
- **tanh passes**: only the hidden activation's element-wise passes (tanh forward; 1 - a²
  and the product with the gradient backward) on arrays of the step's shapes, in as few numpy
  calls as a step can make them: beside the floor it shows how much of a target's allowance
  above the floor the activation alone takes on this machine (see ``activation_step``);
- ``MLP.backprop``, the reference pass that keeps every intermediate (plain numpy style);
- PyTorch (CPU, float64), HIPS ``autograd`` and ``micrograd``, each when it can be imported.

All contenders are timed round-robin (one sample of each in turn, many rounds), so slow drift
of a shared machine affects them alike; the table shows medians per step and ratios.

Run it with ``python benchmarks/bench_mlp.py`` (``--help`` for options). It is not a test: the
numbers depend on the machine, its load and the BLAS build.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bpcourse.nn import MLP


@dataclass
class Case:
    """One network shape to time."""

    label: str
    layer_sizes: list[int]
    batch: int
    loss: str
    activation: str = "tanh"
    notes: list[str] = field(default_factory=list)


CASES = [
    Case("784-128-64-10 mse", [784, 128, 64, 10], 64, "mse"),
    Case("784-128-64-10 xent", [784, 128, 64, 10], 64, "softmax_cross_entropy"),
    Case("2-16-16-1 mse", [2, 16, 16, 1], 32, "mse"),
    Case("[32]*20+[1] mse", [32] * 20 + [1], 64, "mse"),
]

Step = Callable[[], Any]


# --- data and contenders ---------------------------------------------------------------------


def make_batch(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((case.batch, case.layer_sizes[0]))
    n_out = case.layer_sizes[-1]
    y: np.ndarray
    if case.loss == "mse":
        y = rng.standard_normal((case.batch, n_out))
    else:
        y = rng.integers(0, n_out, size=case.batch)
    return X, y


def gemm_floor_step(case: Case) -> Step:
    """Only the matrix products of one forward + backward pass, into preallocated outputs."""
    rng = np.random.default_rng(1)
    sizes, N = case.layer_sizes, case.batch
    products = []
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        A = rng.standard_normal((N, n_in))
        W = rng.standard_normal((n_in, n_out))
        delta = rng.standard_normal((N, n_out))
        products.append((A, W, np.empty((N, n_out))))  # Z = A W
        products.append((A.T, delta, np.empty((n_in, n_out))))  # dW = A^T delta
        if l > 0:
            products.append((delta, W.T, np.empty((N, n_in))))  # dA = delta W^T

    def step() -> None:
        for left, right, out in products:
            np.matmul(left, right, out=out)

    return step


def plain_numpy_step(case: Case, X: np.ndarray, y: np.ndarray) -> Step:
    """The GEMM floor's products plus the element-wise passes of a plain numpy training step.

    In the order of a real step, on preallocated arrays, with no checks and no Python around
    them but the loop over layers: per layer the product, the bias, tanh (hidden layers); the
    loss value and its gradient; backward, per hidden layer the derivative 1 - a^2 and the
    multiplication by it, then dW, db (a column sum) and dA. (The parameters are random: this
    times the work; its numbers are not compared with the step's.)
    """
    rng = np.random.default_rng(1)
    sizes, N = case.layer_sizes, case.batch
    L = len(sizes) - 1
    Ws = [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in itertools.pairwise(sizes)]
    bs = [rng.standard_normal(n) for n in sizes[1:]]
    As = [X] + [np.empty((N, n)) for n in sizes[1:]]
    Ds = [np.empty((N, n)) for n in sizes]
    Ss = [np.empty((N, n)) for n in sizes]
    dWs = [np.empty_like(W) for W in Ws]
    dbs = [np.empty_like(b) for b in bs]
    n_out = sizes[-1]
    picked = np.arange(0, N * n_out, n_out) + (y if case.loss != "mse" else 0)
    shift = np.empty((N, 1))

    def step() -> float:
        for l in range(L):
            np.matmul(As[l], Ws[l], out=As[l + 1])
            As[l + 1] += bs[l]
            if l < L - 1:
                np.tanh(As[l + 1], out=As[l + 1])
        out, G = As[L], Ds[L]
        if case.loss == "mse":
            np.subtract(out, y, out=G)
            flat = G.ravel()
            value = float(flat.dot(flat)) / flat.size
            G *= 2.0 / flat.size
        else:
            np.max(out, axis=1, keepdims=True, out=shift)
            np.subtract(out, shift, out=G)
            value = -float(G.take(picked).sum())
            np.exp(G, out=G)
            total = G.sum(axis=1, keepdims=True)
            value = (value + float(np.log(total).sum())) / N
            G /= total * N
            G.ravel()[picked] -= 1.0 / N
        for l in range(L - 1, -1, -1):
            D = Ds[l + 1]
            if l < L - 1:
                S = Ss[l + 1]
                np.multiply(As[l + 1], As[l + 1], out=S)
                np.subtract(1.0, S, out=S)
                np.multiply(D, S, out=D)
            np.matmul(As[l].T, D, out=dWs[l])
            np.add.reduce(D, axis=0, out=dbs[l])
            if l > 0:
                np.matmul(D, Ws[l].T, out=Ds[l])
        return value

    return step


def activation_step(case: Case) -> Step:
    """Only the element-wise passes of the hidden activation, in as few numpy calls as a step
    can make them.

    Forward, tanh once per hidden layer (each layer needs the one before); backward, tanh'
    = 1 - a² for every hidden layer at once (two calls over one array that holds every layer,
    as ``bpcourse.nn.mlp`` does), then once per layer the product with the gradient coming
    back (each needs the layer after it). Arrays have the step's shapes, N x n_l per layer.
    Without a compiled kernel of its own a float64 numpy step cannot do this work in fewer
    calls or passes, so beside the GEMM floor it shows how much of a target's allowance above
    the floor the activation alone takes on this machine.
    """
    if case.activation != "tanh":
        raise ValueError(f"activation_step times tanh only, got {case.activation!r}")
    rng = np.random.default_rng(2)
    N, widths = case.batch, case.layer_sizes[1:-1]
    A_all, S_all = np.empty((sum(widths), N)), np.empty((sum(widths), N))
    bounds = np.cumsum(widths)[:-1]
    A, S = np.split(A_all, bounds), np.split(S_all, bounds)  # views: one block per layer
    D = [rng.standard_normal((n, N)) for n in widths]  # the gradients coming back
    Z = [rng.standard_normal((n, N)) for n in widths]  # the pre-activations
    deltas = [np.empty((n, N)) for n in widths]

    def step() -> list[np.ndarray]:
        for l in range(len(widths)):
            np.tanh(Z[l], out=A[l])  # one read and one write, as tanh in place over the product
        np.multiply(A_all, A_all, out=S_all)
        np.subtract(1.0, S_all, out=S_all)
        for l in reversed(range(len(widths))):
            # The layer's delta (a step writes it over D; here D must stay as it is, or
            # repeated calls would shrink it into subnormal numbers, which are slow).
            np.multiply(D[l], S[l], out=deltas[l])
        return deltas

    return step


def bpcourse_step(case: Case, X: np.ndarray, y: np.ndarray) -> Step:
    net = MLP(case.layer_sizes, activation=case.activation, seed=0)
    return lambda: net.loss_and_gradients(X, y, case.loss)


def bpcourse_reference_step(case: Case, X: np.ndarray, y: np.ndarray) -> Step:
    net = MLP(case.layer_sizes, activation=case.activation, seed=0)
    return lambda: net.backprop(X, y, case.loss)


def torch_step(case: Case, X: np.ndarray, y: np.ndarray, threads: int) -> Step:
    import torch

    torch.set_num_threads(threads)
    net = MLP(case.layer_sizes, activation=case.activation, seed=0)
    layers: list[Any] = []
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if l < net.n_layers - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    params = list(model.parameters())
    Xt = torch.from_numpy(X)
    if case.loss == "mse":
        yt = torch.from_numpy(y)
        loss_fn: Any = torch.nn.MSELoss()
    else:
        yt = torch.from_numpy(y).long()
        loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> Any:
        for p in params:
            p.grad = None
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        return loss

    # Agreement with bpcourse, so that the race is between equal computations.
    step()
    _, dweights, _ = net.loss_and_gradients(X, y, case.loss)
    worst = max(
        float(np.max(np.abs(lin.weight.grad.numpy().T - dW)) / (np.max(np.abs(dW)) + 1e-300))
        for lin, dW in zip(layers[::2], dweights)
    )
    if worst > 1e-10:
        raise AssertionError(f"PyTorch and bpcourse gradients differ (relative {worst:.1e})")
    return step


def autograd_step(case: Case, X: np.ndarray, y: np.ndarray) -> Step:
    import autograd.numpy as anp
    from autograd import value_and_grad

    net = MLP(case.layer_sizes, activation=case.activation, seed=0)
    params = [(W.copy(), b.copy()) for W, b in zip(net.weights, net.biases)]
    L = len(params)

    def loss(params: Any, X: Any, y: Any) -> Any:
        A = X
        for l, (W, b) in enumerate(params):
            Z = anp.dot(A, W) + b
            A = anp.tanh(Z) if l < L - 1 else Z
        if case.loss == "mse":
            return anp.mean((A - y) ** 2)
        S = A - anp.max(A, axis=1, keepdims=True)
        log_p = S - anp.log(anp.sum(anp.exp(S), axis=1, keepdims=True))
        return -anp.mean(log_p[anp.arange(len(y)), y])

    value_and_gradient = value_and_grad(loss)
    return lambda: value_and_gradient(params, X, y)


def micrograd_step(case: Case, X: np.ndarray, y: np.ndarray) -> Step:
    from micrograd import nn as micro_nn

    # micrograd has no tanh: its MLP uses ReLU in the hidden layers (the same number of nodes).
    model = micro_nn.MLP(case.layer_sizes[0], case.layer_sizes[1:])
    rows = X.tolist()
    targets = np.asarray(y, dtype=float).ravel().tolist()

    def step() -> Any:
        model.zero_grad()
        loss = sum((model(row) - t) ** 2 for row, t in zip(rows, targets)) * (1.0 / len(rows))
        loss.backward()
        return loss

    return step


# --- timing ----------------------------------------------------------------------------------


#: The timer: wall time by default; ``--clock cpu`` uses this process's CPU time, which on a
#: machine shared with other busy processes leaves out the time spent waiting for a core. It
#: adds up the CPU time of every thread, so it is a fair clock only with ``--threads 1``.
CLOCK: Callable[[], float] = time.perf_counter


def calibrate(step: Step, target_seconds: float) -> int:
    """How many calls of ``step`` make one sample of about ``target_seconds``."""
    step()  # warm up
    t0 = CLOCK()
    step()
    once = max(CLOCK() - t0, 1e-7)
    return max(1, int(target_seconds / once))


@dataclass
class Timing:
    """Seconds per call: the median and the best (minimum) over the samples."""

    median: float
    best: float


def race(
    steps: dict[str, Step], rounds: int, sample_seconds: float, gap_seconds: float = 0.001
) -> dict[str, Timing]:
    """Seconds per call of each step, sampled round-robin ``rounds`` times.

    Between two samples the benchmark sleeps ``gap_seconds`` (not timed), so that BLAS worker
    threads spinning after one contender's last product have gone idle before the next starts.

    The order changes from round to round (seeded), so that no contender always follows the
    same one: BLAS threads still spinning after a large product would otherwise slow down
    whichever step comes next.
    """
    numbers = {name: calibrate(step, sample_seconds) for name, step in steps.items()}
    samples: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    order_rng = random.Random(0)
    for _ in range(rounds):
        order_rng.shuffle(names)
        for name in names:
            step, number = steps[name], numbers[name]
            time.sleep(gap_seconds)
            t0 = CLOCK()
            for _ in range(number):
                step()
            samples[name].append((CLOCK() - t0) / number)
    return {
        name: Timing(statistics.median(values), min(values)) for name, values in samples.items()
    }


# --- report ----------------------------------------------------------------------------------


def blas_description() -> tuple[str, int]:
    """Which BLAS numpy runs (library, version, kernel) and with how many threads."""
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return "unknown BLAS (threadpoolctl found none)", 1
    info = infos[0]
    text = (
        f"{info.get('internal_api')} {info.get('version')}, kernel "
        f"{info.get('architecture', '?')}, {info.get('num_threads')} threads "
        f"({os.path.basename(str(info.get('filepath')))})"
    )
    return text, int(info.get("num_threads") or 1)


def print_header(threads: int) -> None:
    blas, _ = blas_description()
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print(f"numpy BLAS: {blas}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(
            "  note: OPENBLAS_CORETYPE forces the OpenBLAS kernel named above; it can be slower "
            "than the one OpenBLAS would pick itself"
        )
    print(f"threads used by every contender: {threads}")
    print(f"clock: {'CPU time of this process' if CLOCK is time.process_time else 'wall time'}")
    print(f"load average before the run: {load_text()}")
    print()


def load_text() -> str:
    """The 1-minute load average, with a warning when other processes share the CPUs."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    text = f"{load:.2f} on {cpus} CPUs"
    if load > 0.5 * cpus:
        text += (
            " (busy: other processes compete for the cores, which hurts multi-threaded BLAS "
            "calls interleaved with numpy work more than back-to-back GEMMs; medians are noisy, "
            "the best times and a run with --threads 1 are more telling)"
        )
    return text


def available(module: str) -> bool:
    try:
        __import__(module)
    except Exception as exc:  # ImportError, or a broken install
        print(f"note: {module} not importable ({type(exc).__name__}); its column is skipped")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="samples per contender")
    parser.add_argument("--sample-ms", type=float, default=2.0, help="length of one sample")
    parser.add_argument("--gap-ms", type=float, default=1.0, help="pause between samples")
    parser.add_argument("--threads", type=int, default=None, help="BLAS/torch threads")
    parser.add_argument("--no-peers", action="store_true", help="skip PyTorch/autograd/...")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time, or this process's CPU time (use it with --threads 1)",
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    _, default_threads = blas_description()
    threads = args.threads or default_threads
    with threadpool_limits(limits=threads, user_api="blas"):
        print_header(threads)
        have = {}
        if not args.no_peers:
            have = {m: available(m) for m in ("torch", "autograd", "micrograd")}
            print()
        rows = []
        for case in CASES:
            X, y = make_batch(case)
            steps: dict[str, Step] = {
                "GEMM floor": gemm_floor_step(case),
                "plain numpy": plain_numpy_step(case, X, y),
                "tanh passes": activation_step(case),
                "bpcourse": bpcourse_step(case, X, y),
                "bpcourse backprop()": bpcourse_reference_step(case, X, y),
            }
            if have.get("torch"):
                steps["PyTorch"] = torch_step(case, X, y, threads)
            if have.get("autograd"):
                steps["autograd"] = autograd_step(case, X, y)
            slow: dict[str, Step] = {}
            if have.get("micrograd"):
                if case.loss == "mse" and sum(case.layer_sizes) * case.batch < 5_000:
                    slow["micrograd (ReLU)"] = micrograd_step(case, X, y)
                else:
                    case.notes.append("micrograd skipped: a scalar graph this size takes minutes")
            timings = race(steps, args.rounds, args.sample_ms / 1000, args.gap_ms / 1000)
            if slow:
                timings.update(race(slow, max(3, args.rounds // 10), 0.0))
            rows.append((case, timings))
            print(f"{case.label}: done", file=sys.stderr)

    print("median and best (minimum) time per step over the samples; ratios of each")
    print(
        f"{'network':20s} {'contender':21s} {'median':>11s} {'best':>11s} "
        f"{'x floor':>7s} {'(best)':>6s} {'x torch':>7s} {'(best)':>6s}"
    )
    for case, timings in rows:
        floor = timings["GEMM floor"]
        torch_time = timings.get("PyTorch")
        for name, t in timings.items():
            vs_torch = (
                f"{t.median / torch_time.median:7.2f} {t.best / torch_time.best:6.2f}"
                if torch_time
                else f"{'-':>7s} {'-':>6s}"
            )
            print(
                f"{case.label:20s} {name:21s} {t.median * 1e6:8.1f} us {t.best * 1e6:8.1f} us "
                f"{t.median / floor.median:7.2f} {t.best / floor.best:6.2f} {vs_torch}"
            )
        for note in case.notes:
            print(f"{'':20s} ({note})")
        print()

    print(f"load average after the run: {load_text()}")
    print()
    print("targets (median ratio, best ratio):")
    results = {case.label: timings for case, timings in rows}

    def ratio(label: str, a: str, b: str) -> str:
        ta, tb = results[label][a], results[label][b]
        return f"{ta.median / tb.median:.2f}, {ta.best / tb.best:.2f}"

    # (label, target for step / GEMM floor); every one must also stay faster than PyTorch.
    targets = (
        ("784-128-64-10 mse", 1.15),
        ("784-128-64-10 xent", 1.15),
        ("2-16-16-1 mse", 2.0),
        ("[32]*20+[1] mse", 1.4),
    )
    for label, floor_target in targets:
        print(
            f"  {label}: step / GEMM floor = {ratio(label, 'bpcourse', 'GEMM floor')} "
            f"(<= {floor_target})"
        )
        print(
            f"  {label}: (plain numpy / GEMM floor = "
            f"{ratio(label, 'plain numpy', 'GEMM floor')}; step / plain numpy = "
            f"{ratio(label, 'bpcourse', 'plain numpy')})"
        )
        share = results[label]["tanh passes"].median / results[label]["GEMM floor"].median
        print(
            f"  {label}: (tanh passes alone / GEMM floor = "
            f"{ratio(label, 'tanh passes', 'GEMM floor')}: of the {floor_target - 1:.2f} the "
            f"target allows above the floor, they take {share / (floor_target - 1):.0%})"
        )
        if "PyTorch" in results[label]:
            print(f"  {label}: step / PyTorch = {ratio(label, 'bpcourse', 'PyTorch')} (< 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
