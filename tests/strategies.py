"""Hypothesis strategies shared by the test files: networks, batches and targets.

The values are kept in the range where float64 gradient checks are well conditioned: inputs
and regression targets in [-1, 1] on a grid of 0.001 (no subnormal or 1e-300 inputs, whose
gradients are below what finite differences can see), Xavier-initialised weights, and at most
5 layers of width 1 to 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bpcourse.nn import ACTIVATIONS, LOSSES, MLP

ACTIVATION_NAMES = sorted(ACTIVATIONS)
LOSS_NAMES = sorted(LOSSES)
SMOOTH_ACTIVATIONS = ["identity", "sigmoid", "tanh"]

#: Numbers in [-1, 1] on a grid of 0.001: moderate, and never tiny unless exactly 0.
unit_floats = st.integers(-1000, 1000).map(lambda k: k / 1000)

seeds = st.integers(0, 2**32 - 1)


@st.composite
def layer_sizes(draw: Any, max_layers: int = 5, max_width: int = 8) -> list[int]:
    """A list of 2 to max_layers + 1 widths in 1..max_width (1 to max_layers weight layers)."""
    n_layers = draw(st.integers(1, max_layers))
    return [draw(st.integers(1, max_width)) for _ in range(n_layers + 1)]


def input_batches(n_in: int, max_rows: int = 6) -> st.SearchStrategy[np.ndarray]:
    """X of shape (N, n_in), N in 1..max_rows, entries from :data:`unit_floats`."""
    return st.integers(1, max_rows).flatmap(
        lambda N: arrays(np.float64, (N, n_in), elements=unit_floats)
    )


def targets(loss: str, N: int, n_out: int) -> st.SearchStrategy[np.ndarray]:
    """Valid targets for ``loss`` and an output of shape (N, n_out).

    MSE: (N, n_out) floats, or (N,) when there is one output (both forms are accepted).
    Cross-entropy: (N,) integer labels in 0..n_out-1.
    """
    if loss == "softmax_cross_entropy":
        return arrays(np.int64, (N,), elements=st.integers(0, n_out - 1))
    shapes = [(N, n_out)] + ([(N,)] if n_out == 1 else [])
    return st.sampled_from(shapes).flatmap(
        lambda shape: arrays(np.float64, shape, elements=unit_floats)
    )


@dataclass
class Problem:
    """A network, a batch and targets: one example for a gradient test."""

    net: MLP
    X: np.ndarray
    y: np.ndarray
    loss: str

    def __repr__(self) -> str:  # what Hypothesis prints for a failing example
        return (
            f"Problem({self.net!r}, loss={self.loss!r}, X={self.X.tolist()}, y={self.y.tolist()})"
        )


@st.composite
def problems(
    draw: Any,
    activations: st.SearchStrategy[str] | None = None,
    losses: st.SearchStrategy[str] | None = None,
    max_layers: int = 5,
    max_width: int = 8,
) -> Problem:
    """A random MLP (any activation, output activation, loss) with a batch and targets."""
    sizes = draw(layer_sizes(max_layers, max_width))
    activation = draw(activations if activations is not None else st.sampled_from(ACTIVATION_NAMES))
    output_activation = draw(st.sampled_from(ACTIVATION_NAMES))
    loss = draw(losses if losses is not None else st.sampled_from(LOSS_NAMES))
    seed = draw(seeds)
    net = MLP(sizes, activation, output_activation, init="xavier", seed=seed)
    bias_rng = np.random.default_rng(seed + 1)
    for b in net.biases:  # non-zero biases, so that their gradients are exercised too
        b[:] = bias_rng.uniform(-0.5, 0.5, size=b.shape)
    X = draw(input_batches(sizes[0]))
    y = draw(targets(loss, X.shape[0], sizes[-1]))
    return Problem(net, X, y, loss)
