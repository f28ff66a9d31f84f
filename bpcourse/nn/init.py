"""The initialisation registry: Gaussian weight initialisations by name, with variance rules."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse._validate import check_choice, check_positive_int, describe, seeded_rng
from bpcourse.nn._checks import Array

InitFn = Callable[[int, int, np.random.Generator], Array]


@dataclass(frozen=True)
class Init:
    r"""A Gaussian weight initialisation: entries drawn from $\mathcal N(0, \sigma^2)$.

    Calling the entry, ``init(n_in, n_out, rng)``, draws an (n_in, n_out) matrix.

    Attributes:
        name: the registry name, e.g. ``"xavier"``.
        variance: $\sigma^2$ as a function of the layer's fan-in and fan-out; the experiments
            of :mod:`bpcourse.dynamics` read it to predict gradient scales.
        note: where the rule comes from, in a few words.
        in_explorers: offered by the explorers' initialisation menus.
    """

    name: str
    variance: Callable[[int, int], float]
    note: str = ""
    in_explorers: bool = False

    def __call__(self, n_in: int, n_out: int, rng: np.random.Generator) -> Array:
        return math.sqrt(self.variance(n_in, n_out)) * rng.standard_normal((n_in, n_out))


#: Weight initialisations by name: each maps (n_in, n_out, rng) to an (n_in, n_out) array.
#: The one registry of initialisations (add one with :func:`register_init`).
INITS: dict[str, Init] = {}


def register_init(init: Init, *, replace: bool = False) -> Init:
    """Add ``init`` to :data:`INITS` (the MLP, the RNN, the experiments and, with
    ``in_explorers=True``, the explorers' menus read it)."""
    if not isinstance(init, Init):
        raise TypeError(f"init: expected an Init, got {describe(init)}")
    if not isinstance(init.name, str) or not init.name.isidentifier():
        raise ValueError(f"init.name: expected a name such as 'orthogonal', got {init.name!r}")
    if init.name in INITS and not replace:
        raise ValueError(
            f"init.name: expected a name not yet registered, got {init.name!r} "
            "(pass replace=True to replace it)"
        )
    INITS[init.name] = init
    return init


for _init in (
    # N(0, 1): ignores the layer width, so signals grow or shrink with depth
    Init("normal", lambda n_in, n_out: 1.0, "unit variance", in_explorers=True),
    # N(0, 1/n_in): keeps the variance of Z near that of A (LeCun et al., 1998)
    Init("lecun", lambda n_in, n_out: 1.0 / n_in, "LeCun et al., 1998"),
    # N(0, 2/(n_in + n_out)): balances forward and backward variance (Glorot & Bengio, 2010)
    Init(
        "xavier",
        lambda n_in, n_out: 2.0 / (n_in + n_out),
        "Glorot & Bengio, 2010",
        in_explorers=True,
    ),
    # N(0, 2/n_in): makes up for ReLU zeroing half its inputs (He et al., 2015)
    Init("he", lambda n_in, n_out: 2.0 / n_in, "He et al., 2015", in_explorers=True),
):
    register_init(_init)


def explorer_inits() -> list[str]:
    """The registered initialisations the explorers offer, in registry order."""
    return [name for name, init in INITS.items() if init.in_explorers]


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
        rng = seeded_rng(rng, "rng")
    return INITS[init](n_in, n_out, rng)
