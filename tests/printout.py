"""Compare printed output the way a reader does: words exactly, numbers to their printed digits.

A figure such as ``1.9e-15`` (the relative error of a gradient check in float64) is round-off:
its digits depend on the BLAS kernel, the CPU's vector units and the number of threads, and
say nothing the course teaches except "below the tolerance". Tests that compare what the
README or a lesson prints therefore use :func:`printout_mismatch`, which

- compares every piece of text that is not a number character for character (words, shapes
  such as ``(3, 4)``, verdicts such as ``ok`` and ``PASS``, column layout);
- compares an integer (a count, a shape) exactly, and any other number to within one unit
  of the last digit it is printed with (``0.6044`` accepts 0.6043 to 0.6045);
- accepts any round-off-level figure (magnitude below ``ROUND_OFF``) where one was expected,
  and rejects one that is not.
"""

from __future__ import annotations

import math
import re

__all__ = ["ROUND_OFF", "printout_mismatch"]

#: Figures below this magnitude are round-off in float64 and compared only as "that small".
ROUND_OFF = 1e-12

# A number as Python prints it: optional sign, digits with an optional fraction, optional
# exponent. Integers, such as those of a shape (3, 4), are compared exactly.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def _unit_in_last_place(token: str) -> float:
    """The value of one unit in the last printed digit of ``token`` (``"1.9e-15"`` → 1e-16)."""
    mantissa, _, exponent = token.lower().lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _number_mismatch(expected: str, actual: str) -> str | None:
    if not re.search(r"[.eE]", expected):  # an integer (a count, a shape): exactly
        return None if actual == expected else f"expected {expected}, got {actual}"
    want, got = float(expected), float(actual)
    if abs(want) < ROUND_OFF:
        if abs(got) < ROUND_OFF:
            return None
        return (
            f"expected a round-off-level figure (< {ROUND_OFF:.0e}) like {expected}, got {actual}"
        )
    tolerance = _unit_in_last_place(expected)
    # plus a few float64 ulps for the binary representation of both decimal figures
    if math.isfinite(got) and abs(got - want) <= tolerance + 8e-16 * abs(want):
        return None
    return f"expected {expected} (± {tolerance:.1g}), got {actual}"


def printout_mismatch(expected: str, actual: str) -> str | None:
    """Return ``None`` when ``actual`` prints what ``expected`` says, else a description.

    Args:
        expected: the text a document promises (e.g. the README's output block).
        actual: what the code printed.

    Returns:
        ``None`` if the two agree as described in the module docstring; otherwise a message
        naming the first line that differs and how.
    """
    want_lines, got_lines = expected.splitlines(), actual.splitlines()
    if len(want_lines) != len(got_lines):
        return f"expected {len(want_lines)} lines, got {len(got_lines)}:\n{actual}"
    for number, (want, got) in enumerate(zip(want_lines, got_lines), start=1):
        want_numbers, got_numbers = _NUMBER.findall(want), _NUMBER.findall(got)
        # The text around the numbers, with each number replaced by a placeholder, must be
        # identical; the column widths of a table may move by a character when a figure
        # gains a digit, so runs of spaces are compared as one space.
        want_text = re.sub(r" +", " ", _NUMBER.sub("#", want))
        got_text = re.sub(r" +", " ", _NUMBER.sub("#", got))
        if want_text != got_text or len(want_numbers) != len(got_numbers):
            return f"line {number}: expected {want!r}, got {got!r}"
        for w, g in zip(want_numbers, got_numbers):
            problem = _number_mismatch(w, g)
            if problem:
                return f"line {number}: {problem} (in {got!r})"
    return None
