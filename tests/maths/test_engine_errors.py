"""Catalogue of bad inputs to bpcourse.engine: each raises a clear error that names the culprit."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from bpcourse.engine import Value, backward_naive_recursive, graph, topological_order

from error_catalogue import cases, check_error_case


def _v(x: float = 2.0) -> Value:
    return Value(x)


CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    # data of a new node
    ("data string", lambda: Value("1.0"), TypeError, "data: expected a finite real number"),
    ("data None", lambda: Value(None), TypeError, "data: expected a finite real number"),
    ("data list", lambda: Value([1.0]), TypeError, "data: expected a finite real number"),
    ("data array", lambda: Value(np.array([1.0, 2.0])), TypeError, "data"),
    ("data complex", lambda: Value(1 + 2j), TypeError, "data"),
    ("data bool", lambda: Value(True), TypeError, "got True (bool)"),
    ("data Value", lambda: Value(Value(1.0)), TypeError, "a Value is already a graph node"),
    (
        "data nan",
        lambda: Value(float("nan")),
        ValueError,
        "data: expected a finite real number, got nan",
    ),
    (
        "data inf",
        lambda: Value(math.inf),
        ValueError,
        "data: expected a finite real number, got inf",
    ),
    ("data -inf", lambda: Value(-np.inf), ValueError, "got -inf"),
    ("data numpy nan", lambda: Value(np.float32("nan")), ValueError, "data"),
    ("data huge int", lambda: Value(10**400), ValueError, "too large for a float64"),
    ("label not a string", lambda: Value(1.0, label=3), TypeError, "label: expected a string"),
    # the other operand of an operation
    ("add string", lambda: _v() + "1", TypeError, "other: expected a finite real number"),
    ("radd string", lambda: "1" + _v(), TypeError, "other"),
    ("mul None", lambda: _v() * None, TypeError, "other"),
    ("sub list", lambda: _v() - [1.0], TypeError, "other"),
    ("rsub nan", lambda: float("nan") - _v(), ValueError, "other: expected a finite real number"),
    ("div array", lambda: _v() / np.ones(2), TypeError, "other"),
    ("rmul array", lambda: np.ones(2) * _v(), TypeError, "other"),
    (
        "add inf",
        lambda: _v() + math.inf,
        ValueError,
        "other: expected a finite real number, got inf",
    ),
    ("div by zero number", lambda: _v() / 0, ZeroDivisionError, "division of a Value by 0"),
    ("div by zero Value", lambda: _v() / Value(0.0), ZeroDivisionError, "negative power"),
    ("rdiv by zero Value", lambda: 1 / Value(0.0), ZeroDivisionError, "negative power"),
    # the exponent
    (
        "pow Value exponent",
        lambda: _v() ** Value(2.0),
        TypeError,
        "exponent: expected a real number",
    ),
    ("rpow", lambda: 2 ** _v(), TypeError, "exponent: expected a real number"),
    ("pow string", lambda: _v() ** "2", TypeError, "exponent"),
    (
        "pow nan",
        lambda: _v() ** float("nan"),
        ValueError,
        "exponent: expected a finite real number",
    ),
    ("pow inf", lambda: _v() ** math.inf, ValueError, "exponent"),
    ("negative base, fractional power", lambda: Value(-8.0) ** (1 / 3), ValueError, "-8.0"),
    ("zero to a negative power", lambda: Value(0.0) ** -2, ZeroDivisionError, "0.0 ** -2.0"),
    ("pow overflow", lambda: Value(10.0) ** 400, OverflowError, "10.0 ** 400.0 overflows"),
    # functions with a restricted domain
    ("log of negative", lambda: Value(-3.5).log(), ValueError, "got -3.5"),
    (
        "log of zero",
        lambda: Value(0.0).log(),
        ValueError,
        "log: expected a positive number, got 0.0",
    ),
    ("exp overflow", lambda: Value(1000.0).exp(), OverflowError, "exp(1000.0) overflows float64"),
    # graph functions
    (
        "topological_order of a float",
        lambda: topological_order(1.0),
        TypeError,
        "root: expected a Value",
    ),
    ("graph of None", lambda: graph(None), TypeError, "root: expected a Value"),
    ("naive backward of a list", lambda: backward_naive_recursive([_v()]), TypeError, "root"),
]


@pytest.mark.parametrize(("label", "make", "error", "message"), cases(CASES))
def test_bad_input_raises_named_error(label, make, error, message):
    check_error_case(label, make, error, message)
