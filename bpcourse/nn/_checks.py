"""Argument checks shared by the layers of :mod:`bpcourse.nn` (not part of the public face)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
)

Array = np.ndarray


def _as_checked_array(name: str, value: Any, **kwargs: Any) -> Array:
    r"""``as_array`` with a shortcut for the usual case, a finite float64 ndarray.

    The shortcut tests finiteness with one dot product: $\sum_i x_i^2$ is finite only if
    every $x_i$ is (an inf or NaN entry makes it inf or NaN). A finite array whose squares
    overflow fails the shortcut and is then checked entry by entry by ``as_array``.
    """
    if type(value) is np.ndarray and value.dtype == np.float64:
        flat = value.ravel()
        if np.isfinite(np.dot(flat, flat)):
            ndim = kwargs.get("ndim")
            if ndim is None or value.ndim == ndim:
                return value
    return as_array(name, value, **kwargs)
