"""Argument checks shared by the layers of :mod:`bpcourse.nn` (not part of the public face)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcourse._validate import as_array, check_finite, check_shape, describe

Array = np.ndarray


def _as_checked_array(name: str, value: Any, **kwargs: Any) -> Array:
    r"""``as_array`` with a shortcut for the usual case, a finite float64 ndarray.

    The shortcut tests finiteness with one dot product: $\sum_i x_i^2$ is finite only if
    every $x_i$ is (an inf or NaN entry makes it inf or NaN). A finite array whose squares
    overflow fails the shortcut and is then checked entry by entry by ``as_array``.
    """
    if type(value) is np.ndarray and value.dtype == np.float64:
        flat = value.ravel()
        if np.isfinite(flat.dot(flat)):
            ndim = kwargs.get("ndim")
            if ndim is None or value.ndim == ndim:
                return value
    return as_array(name, value, **kwargs)


def _check_parameter_arrays(arrays: Any, named: list[tuple[str, Array]]) -> list[Array]:
    """Check replacement parameters for ``with_parameters``: one array per named parameter, each
    of its shape (real or complex) with finite entries; returned as arrays, not copied."""
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)):
        raise TypeError(
            f"arrays: expected a list of {len(named)} arrays in the order of "
            f"named_parameters(), got {describe(arrays)}"
        )
    if len(arrays) != len(named):
        raise ValueError(
            f"arrays: expected {len(named)} arrays (one per parameter: "
            f"{', '.join(name for name, _ in named)}), got {len(arrays)}"
        )
    checked = []
    for i, (value, (name, P)) in enumerate(zip(arrays, named)):
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
        if arr.dtype.kind not in "fc":
            raise TypeError(f"arrays[{i}] ({name}): expected a float array, got {describe(value)}")
        check_shape(f"arrays[{i}] ({name})", arr, P.shape)
        check_finite(f"arrays[{i}] ({name})", arr)
        checked.append(arr)
    return checked
