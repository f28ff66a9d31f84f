"""Weight initialisations by name: each maps (n_in, n_out, rng) to an (n_in, n_out) array."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from bpcourse._validate import (
    check_choice,
    check_positive_int,
)
from bpcourse.nn._checks import Array

InitFn = Callable[[int, int, np.random.Generator], Array]


def _gaussian_init(std: Callable[[int, int], float]) -> InitFn:
    """An init drawing the (n_in, n_out) entries from $N(0, \\sigma^2)$, σ = std(n_in, n_out)."""

    def init(n_in: int, n_out: int, rng: np.random.Generator) -> Array:
        return std(n_in, n_out) * rng.standard_normal((n_in, n_out))

    return init


#: Weight initialisations by name: each maps (n_in, n_out, rng) to an (n_in, n_out) array.
INITS: dict[str, InitFn] = {
    # N(0, 1): ignores the layer width, so signals grow or shrink with depth
    "normal": _gaussian_init(lambda n_in, n_out: 1.0),
    # N(0, 1/n_in): keeps the variance of Z near that of A (LeCun et al., 1998)
    "lecun": _gaussian_init(lambda n_in, n_out: math.sqrt(1.0 / n_in)),
    # N(0, 2/(n_in + n_out)): balances forward and backward variance (Glorot & Bengio, 2010)
    "xavier": _gaussian_init(lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out))),
    # N(0, 2/n_in): makes up for ReLU zeroing half its inputs (He et al., 2015)
    "he": _gaussian_init(lambda n_in, n_out: math.sqrt(2.0 / n_in)),
}


def init_weights(init: str, n_in: int, n_out: int, rng: Any) -> Array:
    """Draw an (n_in, n_out) weight matrix with the initialisation ``init``.

    Args:
        init: one of :data:`INITS` (``"normal"``, ``"lecun"``, ``"xavier"``, ``"he"``).
        n_in: number of inputs of the layer (rows of W).
        n_out: number of outputs of the layer (columns of W).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        W: (n_in, n_out), float64.
    """
    check_choice("init", init, INITS)
    n_in = check_positive_int("n_in", n_in)
    n_out = check_positive_int("n_out", n_out)
    if not isinstance(rng, np.random.Generator):
        seed = check_positive_int("rng", rng, minimum=0)
        rng = np.random.default_rng(seed)
    return INITS[init](n_in, n_out, rng)
