"""The shared body of the error-catalogue tests (tests/*/test_*_errors.py).

Every catalogue is a list of cases ``(label, call, error type, what the message must show)``;
:func:`cases` turns it into pytest parameters with the labels as ids, and
:func:`check_error_case` runs one: the call must raise that error type, the message must show
what the case asks, and a bad-argument error (``TypeError``/``ValueError``) must follow the
package's one convention, ``name: expected ..., got ...`` (see ``bpcourse/_validate.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest

Case = tuple[str, Callable[[], object], type[BaseException], str]

# "argument: expected ..., got ..." (the argument may be indexed, dotted or a pair:
# weights[1], model.activation, "mean, std")
CONVENTION = re.compile(r"^[^:\n]+: expected .+\bgot\b", re.S)


def cases(catalogue: Sequence[Case]) -> list[Any]:
    """The catalogue as pytest parameters, one per case, with the case's label as its id."""
    return [pytest.param(*case, id=case[0]) for case in catalogue]


def check_error_case(
    label: str,
    call: Callable[[], object],
    error: type[BaseException],
    expected: str,
    *,
    how: str = "contains",
) -> None:
    """Run one case of a catalogue.

    Args:
        label: the case's name, for the failure message.
        call: makes the bad call.
        error: the error type it must raise.
        expected: what the message must show: a substring (``how="contains"``), a regular
            expression searched for (``how="regex"``), or the argument the message starts
            with, as ``argument: ...`` (``how="argument"``).
        how: ``"contains"``, ``"regex"`` or ``"argument"``.
    """
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    if how == "contains":
        assert expected in message, f"{label}: message {message!r} should show {expected!r}"
    elif how == "regex":
        assert re.search(expected, message), f"{label}: message {message!r} !~ {expected!r}"
    elif how == "argument":
        assert message.startswith(f"{expected}:"), f"{label}: {message!r} should name {expected}"
    else:
        raise ValueError(f"how: expected 'contains', 'regex' or 'argument', got {how!r}")
    if info.type in (TypeError, ValueError):
        assert CONVENTION.match(message), (
            f"{label}: {message!r} does not follow 'name: expected ..., got ...'"
        )
