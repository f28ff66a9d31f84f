r"""What a gradient costs (lesson 06): backpropagation against finite differences
(:func:`gradient_cost`), and symbolic differentiation against symbolic reverse mode
(:func:`cost_table`: ``sympy.diff``, ``diff`` followed by common-subexpression elimination, and
:func:`bpcourse.symbolic.reverse_mode_gradient`, timed on the deep sigmoid chain).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy import Expr, Symbol
from sympy.core.cache import clear_cache

from bpcourse import nn
from bpcourse._validate import (
    check_choice,
    check_positive_int,
    describe,
)
from bpcourse.dynamics._checks import _check_seed
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


# --- the cost of a gradient: backpropagation against finite differences (lesson 06) -----------


@dataclass(frozen=True)
class GradientCost:
    r"""Timings of one gradient by backpropagation and by central differences, per network size.

    Attributes:
        hidden: the hidden width of each network measured.
        n_params: number of weights and biases P of each network.
        forward_seconds: time of one forward pass with the loss (see :func:`gradient_cost`).
        backprop_seconds: time of one forward + backward pass.
        fd_seconds: time of the full central-difference gradient (2P forward passes), the
            better of two runs.
        fd_forward_passes: forward passes central differences needed, 2P.
        relative_error: $\|g_\text{bp} - g_\text{fd}\| / (\|g_\text{bp}\| + \|g_\text{fd}\|)$
            over all parameters together (a check that the two gradients agree).
    """

    hidden: tuple[int, ...]
    n_params: np.ndarray
    forward_seconds: np.ndarray
    backprop_seconds: np.ndarray
    fd_seconds: np.ndarray
    fd_forward_passes: np.ndarray
    relative_error: np.ndarray

    @property
    def backprop_in_forwards(self) -> np.ndarray:
        """Cost of backpropagation in units of one forward pass."""
        return self.backprop_seconds / self.forward_seconds

    @property
    def fd_in_forwards(self) -> np.ndarray:
        """Cost of central differences in units of one forward pass (about 2P)."""
        return self.fd_seconds / self.forward_seconds

    def format(self) -> str:
        """The table as fixed-width text, one row per network."""
        head = (
            f"{'P':>7} | {'forward ms':>10} | {'backprop ms':>11} | {'= forwards':>10} | "
            f"{'finite diff. ms':>15} | {'= forwards':>10} | {'rel. error':>10}"
        )
        lines = [head, "-" * len(head)]
        for i in range(len(self.hidden)):
            lines.append(
                f"{int(self.n_params[i]):>7} | {1e3 * self.forward_seconds[i]:>10.3f} | "
                f"{1e3 * self.backprop_seconds[i]:>11.3f} | "
                f"{self.backprop_in_forwards[i]:>10.1f} | "
                f"{1e3 * self.fd_seconds[i]:>15.1f} | {self.fd_in_forwards[i]:>10.0f} | "
                f"{self.relative_error[i]:>10.1e}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _time_per_call(fn: Callable[[], Any], repeats: int, rounds: int = 5) -> float:
    """Seconds per call of ``fn``: the mean over ``repeats`` back-to-back calls, best of
    ``rounds`` such runs (after one warm-up call), so that a busy machine inflates it less."""
    fn()
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def _central_differences_in_place(
    loss: Callable[[], float], P: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Central differences of ``loss()`` with respect to the live array ``P`` (flattened).

    Each entry is moved by $\\pm h$ in place and restored, so one entry costs exactly two calls
    of ``loss`` and almost nothing else: the timing is that of 2P forward passes.
    """
    flat = P.reshape(-1)  # a view: P is contiguous
    grad = np.empty(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = loss()
        flat[i] = old - h
        f_minus = loss()
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def gradient_cost(
    hidden: Sequence[int] = (2, 4, 8, 16, 32),
    *,
    n_in: int = 8,
    n_samples: int = 64,
    repeats: int = 20,
    seed: int = 0,
) -> GradientCost:
    r"""Time one full gradient by backpropagation and by central differences as P grows.

    For each width h an MLP ``[n_in, h, h, 1]`` (tanh, mean squared error) is timed three
    ways: one forward pass with the loss, one :meth:`~bpcourse.nn.MLP.loss_and_gradients`
    (forward + backward), and the central-difference gradient of every weight and bias
    (two forward passes per parameter, $h = 10^{-5}$). The first two are the mean time of
    ``repeats`` back-to-back calls, best of five such runs; the last is the better of two
    runs. Backpropagation costs a small constant number of forward
    passes whatever P; finite differences cost 2P of them. Timings on a shared machine are
    noisy: read the ratios as orders of magnitude.

    Args:
        hidden: hidden widths, each >= 1 (P grows about as h²).
        n_in: input features.
        n_samples: batch size N.
        repeats: calls per timing run of the fast measurements, >= 1.
        seed: seeds the network and the data.

    Returns:
        A :class:`GradientCost`.
    """
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or not hidden:
        raise TypeError(f"hidden: expected a non-empty sequence of widths, got {describe(hidden)}")
    widths = tuple(check_positive_int(f"hidden[{i}]", h) for i, h in enumerate(hidden))
    n_in = check_positive_int("n_in", n_in)
    n = check_positive_int("n_samples", n_samples)
    repeats = check_positive_int("repeats", repeats)
    seed = _check_seed(seed)
    rng = np.random.default_rng([seed, 61])
    X = rng.standard_normal((n, n_in))
    y = rng.standard_normal((n, 1))
    n_params, forward, backprop, fd, error = [], [], [], [], []
    for h in widths:
        model = nn.MLP([n_in, h, h, 1], activation="tanh", seed=seed)
        params = model.parameters()
        loss = functools.partial(model.loss, X, y)
        forward.append(_time_per_call(loss, repeats))
        backprop.append(_time_per_call(functools.partial(model.loss_and_gradients, X, y), repeats))
        _, dW, db = model.loss_and_gradients(X, y)
        numeric: list[np.ndarray] = []
        best = math.inf
        for _ in range(2):  # the better of two runs, as the fast timings take the best of five
            start = time.perf_counter()
            numeric = [_central_differences_in_place(loss, P) for P in params]
            best = min(best, time.perf_counter() - start)
        fd.append(best)
        g_bp = np.concatenate([g.ravel() for pair in zip(dW, db) for g in pair])
        g_fd = np.concatenate(numeric)
        norms = float(np.linalg.norm(g_bp) + np.linalg.norm(g_fd))
        error.append(float(np.linalg.norm(g_bp - g_fd)) / max(norms, 1e-300))
        n_params.append(sum(P.size for P in params))
    P_all = np.array(n_params)
    return GradientCost(
        hidden=widths,
        n_params=P_all,
        forward_seconds=np.array(forward),
        backprop_seconds=np.array(backprop),
        fd_seconds=np.array(fd),
        fd_forward_passes=2 * P_all,
        relative_error=np.array(error),
    )


# --- the memory of backpropagation (lesson 06) -------------------------------------------------


@dataclass(frozen=True)
class BackpropMemory:
    """How many float64 numbers an MLP's gradient computation keeps, beside the parameters.

    Attributes:
        layer_sizes: the network's sizes ``(n_0, ..., n_L)``.
        batch_size: the number of examples N of one batch.
        parameters: weights and biases, $\\sum_l (n_{l-1} + 1)\\, n_l$.
        stored_for_backward: what :meth:`bpcourse.nn.MLP.backprop` keeps from the forward pass
            for the backward pass: every layer's input and output activations and
            pre-activations, $N\\,(\\sum_{l=0}^{L} n_l + \\sum_{l=1}^{L} n_l)$. It grows with the
            depth times the batch size.
        inference: a forward pass alone, which may forget each layer once the next one is
            computed: at most two layers at a time, $N \\max_l (n_{l-1} + n_l)$.
    """

    layer_sizes: tuple[int, ...]
    batch_size: int
    parameters: int
    stored_for_backward: int
    inference: int

    @staticmethod
    def megabytes(count: int) -> float:
        """``count`` float64 numbers in megabytes (10^6 bytes)."""
        return 8.0 * count / 1e6


def backprop_memory(layer_sizes: Sequence[int], batch_size: int) -> BackpropMemory:
    r"""Count the numbers an MLP's backpropagation has to keep, against a forward pass alone.

    Reverse mode needs, for every layer, values computed in the forward pass (the layer's
    input for $dW = A^\top dZ$, its pre-activation or output for $f'$), so they are kept
    until the backward pass reaches that layer. Inference can discard them at once.

    Args:
        layer_sizes: ``(n_0, ..., n_L)``, at least two sizes, each >= 1.
        batch_size: the batch size N, >= 1.

    Returns:
        A :class:`BackpropMemory` (counts of float64 numbers).

    Example:
        >>> m = backprop_memory((784, 100, 10), batch_size=64)
        >>> m.parameters, m.stored_for_backward, m.inference
        (79510, 64256, 56576)
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(
            f"layer_sizes: expected a sequence of integers, got {describe(layer_sizes)}"
        )
    if len(layer_sizes) < 2:
        raise ValueError(
            "layer_sizes: expected at least two sizes (inputs and outputs), "
            f"got {list(layer_sizes)}"
        )
    sizes = tuple(check_positive_int(f"layer_sizes[{i}]", n) for i, n in enumerate(layer_sizes))
    n = check_positive_int("batch_size", batch_size)
    parameters = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    stored = n * (sum(sizes) + sum(sizes[1:]))
    inference = n * max(a + b for a, b in itertools.pairwise(sizes))
    return BackpropMemory(sizes, n, parameters, stored, inference)
