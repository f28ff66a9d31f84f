"""Argument checks shared by every public function of :mod:`bpcourse`.

Each check raises a :class:`ValueError` or :class:`TypeError` whose message names the
argument, says what it got and what it expected, for example::

    ValueError: X: expected a 2-D array of shape (N, 3), got shape (5,)

The messages are meant for learners: they never leak a numpy broadcasting error.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_array",
    "check_choice",
    "check_clip",
    "check_finite_number",
    "check_nonnegative_number",
    "check_positive_int",
    "check_positive_number",
    "check_probability",
    "check_shape",
    "describe",
]


def describe(value: Any) -> str:
    """Return a short description of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def as_array(
    name: str,
    value: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    allow_complex: bool = False,
    finite: bool = True,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Convert ``value`` to a float64 (or complex128) array and check it.

    Args:
        name: the argument's name, used in error messages.
        value: anything ``numpy.asarray`` accepts.
        ndim: the number (or numbers) of dimensions allowed; ``None`` allows any.
        allow_complex: keep complex input as complex128 (used by complex-step checks).
        finite: reject NaN and infinite entries.
        dtype: the real dtype to convert to (float64 unless said otherwise).

    Raises:
        TypeError: if ``value`` is not numeric.
        ValueError: if the number of dimensions is wrong or an entry is NaN/inf.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected a numeric array, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"{name}: expected a numeric array, got {describe(value)} ({exc})"
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        if not allow_complex:
            raise TypeError(f"{name}: expected a real array, got complex dtype {arr.dtype}")
        arr = arr.astype(np.complex128, copy=False)
    else:
        arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name}: expected a {want} array, got shape {arr.shape}")
    if finite:
        check_finite(name, arr)
    return arr


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise a ValueError counting the NaN and infinite entries of ``arr``, if it has any."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name}: expected finite values, got {bad} NaN or infinite "
            f"entr{'y' if bad == 1 else 'ies'} in an array of shape {arr.shape}"
        )


def check_shape(
    name: str, arr: np.ndarray, expected: tuple[int | None, ...], hint: str = ""
) -> None:
    """Check ``arr.shape`` against ``expected``, where ``None`` matches any size.

    ``hint`` is appended to the message, e.g. ``"(N, n_in)"`` to show symbolic sizes.
    """
    ok = len(arr.shape) == len(expected) and all(
        e is None or e == s for e, s in zip(expected, arr.shape)
    )
    if not ok:
        shown = "(" + ", ".join("N" if e is None else str(e) for e in expected)
        shown += ",)" if len(expected) == 1 else ")"
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name}: expected shape {shown}{extra}, got shape {arr.shape}")


def _is_real_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_finite_number(name: str, value: Any, *, hint: str = "") -> float:
    """Return ``value`` as a float after checking it is a finite real number.

    ``hint`` is appended to the message of a wrong type (for example how to fix it). An
    integer too large for a float64 (``10**400``) is a ValueError like any infinite value.
    """
    if isinstance(value, float):  # the common case first (includes numpy.float64)
        out = float(value)
    elif not _is_real_number(value):
        raise TypeError(f"{name}: expected a finite real number, got {describe(value)}{hint}")
    else:
        try:
            out = float(value)
        except OverflowError:
            raise ValueError(
                f"{name}: expected a finite real number, got {describe(value)}, "
                "too large for a float64"
            ) from None
    if not math.isfinite(out):
        raise ValueError(f"{name}: expected a finite real number, got {out!r}")
    return out


def check_positive_number(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it is finite and > 0."""
    out = check_finite_number(name, value)
    if out <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return out


def check_nonnegative_number(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    out = check_finite_number(name, value)
    if out < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return out


def check_probability(name: str, value: Any, *, inclusive_high: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (or [0, 1] with ``inclusive_high``)."""
    out = check_finite_number(name, value)
    hi_ok = out <= 1 if inclusive_high else out < 1
    if not (out >= 0 and hi_ok):
        rng = "[0, 1]" if inclusive_high else "[0, 1)"
        raise ValueError(f"{name}: expected a number in {rng}, got {value!r}")
    return out


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral,)):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {describe(value)}")
    out = int(value)
    if out < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {out}")
    return out


def seeded_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` after checking that ``seed`` is an integer >= 0."""
    return np.random.default_rng(check_positive_int(name, seed, minimum=0))


def check_layer_sizes(layer_sizes: Any, name: str = "layer_sizes") -> tuple[int, ...]:
    """Return network sizes ``(n_0, ..., n_L)`` as a tuple of ints after checking them.

    Accepted: a list, tuple, range or 1-D integer array of at least two integers >= 1. A set
    or a mapping is refused (its order is not the layers' order), as is a string.
    """
    ordered = isinstance(layer_sizes, Sequence) or (
        isinstance(layer_sizes, np.ndarray) and layer_sizes.ndim == 1
    )
    if isinstance(layer_sizes, (str, bytes)) or not ordered:
        raise TypeError(
            f"{name}: expected a sequence of positive integers such as [2, 16, 1], "
            f"got {describe(layer_sizes)}"
        )
    sizes = tuple(check_positive_int(f"{name}[{i}]", n) for i, n in enumerate(layer_sizes))
    if len(sizes) < 2:
        raise ValueError(
            f"{name}: expected at least 2 sizes (inputs and outputs), got {list(sizes)!r}"
        )
    return sizes


def check_pair(name: str, value: Any, what: str) -> tuple[Any, Any]:
    """Return the two items of a pair given as a tuple, list or 1-D array of length 2."""
    if (
        isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1)
    ) and len(value) == 2:
        return value[0], value[1]
    raise TypeError(f"{name}: expected a pair {what}, got {describe(value)}")


def check_flag(name: str, value: Any) -> bool:
    """Return ``value`` as a bool after checking it is ``True`` or ``False`` (or numpy's)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


def check_options(name: str, value: Any) -> dict[str, Any]:
    """Return keyword options given as a mapping (or ``None``, no options) as a dict."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise TypeError(
            f"{name}: expected a dict of keyword options such as {{'momentum': 0.9}} or None, "
            f"got {describe(value)}"
        )
    return dict(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of the string ``choices`` and return it."""
    options = list(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {options}, got {describe(value)}")
    if value not in options:
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")
    return value


def check_clip(clip: Any, choices: Iterable[str] = ("norm", "value")) -> tuple[str, float] | None:
    """Check a clipping rule: ``None`` or ``(how, threshold)`` with ``how`` in ``choices``.

    Returns ``None`` or ``(how, threshold)`` with the threshold as a positive float.
    """
    if clip is None:
        return None
    options = list(choices)
    if not isinstance(clip, (tuple, list)) or len(clip) != 2:
        shapes = " or ".join(f"({o!r}, threshold)" for o in options)
        raise TypeError(f"clip: expected None or {shapes}, got {describe(clip)}")
    how = check_choice("clip[0]", clip[0], options)
    return how, check_positive_number("clip[1]", clip[1])
