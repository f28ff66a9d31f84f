"""Argument checks shared by the experiments of :mod:`bpcourse.dynamics`."""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcourse import nn
from bpcourse._validate import (
    check_choice,
    check_positive_int,
)


def _check_seed(seed: Any) -> int:
    return check_positive_int("seed", seed, minimum=0)


def _check_activation(name: str, value: Any) -> str:
    return check_choice(name, value, nn.ACTIVATIONS)


def _check_init(value: Any) -> str:
    return check_choice("init", value, nn.INITS)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr
