r"""What a gradient costs (lesson 06): backpropagation against finite differences
(:func:`gradient_cost`).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse import nn
from bpcourse._validate import (
    check_layer_sizes,
    check_positive_int,
    describe,
)
from bpcourse.dynamics._checks import _check_seed
from bpcourse.gradcheck import perturb_each_entry, relative_error

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
    r"""Central differences of ``loss()`` with respect to the live array ``P`` (flattened).

    Each entry is moved by $\pm h$ in place and restored (:func:`bpcourse.gradcheck.
    perturb_each_entry`), so one entry costs exactly two calls of ``loss`` and little else:
    the timing is that of 2P forward passes.
    """
    grad = np.empty(P.shape)
    for i, _, (f_plus, f_minus), _ in perturb_each_entry(P, (h, -h), loss):
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad.reshape(-1)


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
        _, grads = model.gradients(X, y)
        numeric: list[np.ndarray] = []
        best = math.inf
        for _ in range(2):  # the better of two runs, as the fast timings take the best of five
            start = time.perf_counter()
            numeric = [_central_differences_in_place(loss, P) for P in params]
            best = min(best, time.perf_counter() - start)
        fd.append(best)
        g_bp = np.concatenate([g.ravel() for g in grads])
        g_fd = np.concatenate(numeric)
        error.append(relative_error(g_bp, g_fd, norm=True))
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
        return 8.0 * check_positive_int("count", count, minimum=0) / 1e6


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
    sizes = check_layer_sizes(layer_sizes)
    n = check_positive_int("batch_size", batch_size)
    parameters = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    stored = n * (sum(sizes) + sum(sizes[1:]))
    inference = n * max(a + b for a, b in itertools.pairwise(sizes))
    return BackpropMemory(sizes, n, parameters, stored, inference)
