"""bpcourse.grading: messages a learner understands, equivalent answers accepted, tampering
detected. Tampering tests run in a subprocess so the test process keeps genuine numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

import bpcourse.grading as G


def fails(func, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        func(*args, **kwargs)
    return str(info.value)


A = np.arange(1.0, 7.0).reshape(2, 3)


def test_equal_arrays_pass_within_relative_tolerance() -> None:
    G.check_array(A * (1 + 1e-9), A, "dW")
    G.check_array(A.tolist(), A, "dW")
    G.check_scalar(np.float64(3.0), 3.0000000001, "loss")
    G.check_scalar(np.array([2.0]), 2.0, "loss")


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (A.T, "transposed"),
        (A.reshape(6), "Same number of entries"),
        (A[:, 0], "dimension is missing"),
        (-A, "sign is flipped"),
        (2 * A, "extra factor of 2"),
        (A / 2, "factor of 2 is missing"),
        (np.zeros_like(A), "all zeros"),
        (A + np.eye(2, 3), "largest relative error"),
        (np.full_like(A, np.nan), "NaN"),
        (None, "return"),
        ("dW", "expected numbers"),
    ],
)
def test_messages_say_what_is_wrong(answer, fragment) -> None:
    assert fragment in fails(G.check_array, answer, A, "dW")


def test_batch_sum_and_known_mistakes() -> None:
    assert "summed over the batch" in fails(G.check_array, 4 * A, A, "db", batch_size=4)
    assert "too small" in fails(G.check_array, A / 4, A, "db", batch_size=4)
    msg = fails(G.check_array, A + 1, A, "dZ", known_mistakes={"forgot the bias": A + 1})
    assert msg == "dZ: forgot the bias"


def test_check_scalar_rejects_arrays_and_rounding_is_not_used() -> None:
    assert "single number" in fails(G.check_scalar, A, 1.0, "loss")
    assert "relative error" in fails(G.check_scalar, 1.004, 1.0, "loss")


z, a, w, x = sp.symbols("z a w x")


@pytest.mark.parametrize(
    "answer",
    [
        1 - sp.tanh(z) ** 2,
        sp.sech(z) ** 2,
        1 / sp.cosh(z) ** 2,
        4 / (sp.exp(z) + sp.exp(-z)) ** 2,
    ],
)
def test_sympy_equivalent_forms_pass(answer) -> None:
    G.check_sympy(answer, sp.diff(sp.tanh(z), z), "dtanh")


def test_sympy_substitution_accepts_forms_in_the_activation() -> None:
    G.check_sympy(1 - a**2, 1 - sp.tanh(z) ** 2, "da/dz", substitutions={a: sp.tanh(z)})
    sig = 1 / (1 + sp.exp(-z))
    G.check_sympy(a * (1 - a), sp.diff(sig, z), "da/dz", substitutions={a: sig})


def test_sympy_messages() -> None:
    expected = sp.diff(sp.sin(w * x), w)
    assert "sign" in fails(G.check_sympy, -expected, expected, "d")
    assert "factor of 2" in fails(G.check_sympy, 2 * expected, expected, "d")
    assert "inner" in fails(
        G.check_sympy,
        sp.cos(w * x),
        expected,
        "d",
        known_mistakes={"the inner derivative x is missing": sp.cos(w * x)},
    )
    assert "symbol" in fails(G.check_sympy, expected + z, expected, "d")
    assert "string" in fails(G.check_sympy, "cos(w*x)*x", expected, "d")
    assert "None" in fails(G.check_sympy, None, expected, "d")


def _not_implemented():
    raise NotImplementedError()


def test_check_function_names_mistakes_and_protects_inputs() -> None:
    def reference(X, W):
        return X @ W

    def mutating(X, W):
        X[:] = 0
        return X @ W

    rng = np.random.default_rng(0)
    cases = [(rng.normal(size=(3, 2)), rng.normal(size=(2, 4)))]
    G.check_function(lambda X, W: np.dot(X, W), reference, cases, "forward")
    msg = fails(
        G.check_function,
        lambda X, W: (X @ W).T,
        reference,
        cases,
        "forward",
    )
    assert "transposed" in msg
    assert "all zeros" in fails(G.check_function, mutating, reference, cases, "forward")
    assert "not implemented" in fails(
        G.check_function,
        lambda X, W: (_ for _ in ()).throw(NotImplementedError()),
        reference,
        cases,
    )
    msg = fails(
        G.check_function,
        lambda X, W: 2 * (X @ W),
        reference,
        cases,
        "forward",
        mistakes={"doubled on purpose": lambda X, W: 2 * (X @ W)},
    )
    assert msg == "forward: doubled on purpose"


def test_choice_and_true() -> None:
    G.check_choice("b", "b", "q1", options=["a", "b"])
    assert "choose one of" in fails(G.check_choice, "z", "b", "q1", options=["a", "b"])
    assert "not the right choice" in fails(G.check_choice, "a", "b", "q1", options=["a", "b"])
    assert fails(G.check_true, np.False_, "nope") == "nope"
    assert fails(G.check_true, "yes", "truthy strings are not True") == (
        "truthy strings are not True"
    )


def _run(code: str) -> subprocess.CompletedProcess:
    prelude = "import numpy as np\nimport bpcourse.grading as G\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True
    )


TAMPERING = {
    "allclose": "np.allclose = lambda *a, **k: True",
    "isclose": "np.isclose = lambda *a, **k: np.True_",
    "testing function": "np.testing.assert_allclose = lambda *a, **k: None",
    "testing module": "import types; np.testing = types.SimpleNamespace()",
    "math.isclose": "import math; math.isclose = lambda *a, **k: True",
    "sympy.simplify": "import sympy; sympy.simplify = lambda e, **k: 0",
    "module swapped": (
        "import sys, types; fake = types.ModuleType('bpcourse.grading');"
        " sys.modules['bpcourse.grading'] = fake"
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_fails_every_check(name: str) -> None:
    code = f"""
    {TAMPERING[name]}
    try:
        G.check_array(1.0, 2.0, "x")
    except AssertionError as exc:
        print(type(exc).__name__)
    """
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "GradingTamperError", out.stdout


@pytest.mark.parametrize(
    "attack",
    [
        "G.check_array = lambda *a, **k: None",
        "G.__dict__['check_array'] = lambda *a, **k: None",
        "import bpcourse; bpcourse.grading.check_array = lambda *a, **k: None",
        "del G.check_array",
        "type(G).__getattribute__ = object.__getattribute__",
    ],
)
def test_grading_helpers_cannot_be_replaced(attack: str) -> None:
    code = f"""
    try:
        {attack}
    except (AttributeError, TypeError) as exc:
        print("refused")
    from bpcourse.grading import check_array
    import bpcourse.grading as G2
    for f in (check_array, G2.check_array, G.check_array):
        try:
            f(1.0, 2.0, "x")
            print("PASSED")
        except AssertionError:
            print("checked")
    """
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert "PASSED" not in out.stdout
    assert out.stdout.count("checked") == 3


def test_reload_after_tampering_still_detects() -> None:
    out = _run(
        """
        import importlib
        np.allclose = lambda *a, **k: True
        importlib.reload(G)
        try:
            G.check_array(1.0, 1.0)
        except AssertionError as exc:
            print(type(exc).__name__)
        """
    )
    assert out.stdout.strip() == "GradingTamperError", out.stdout + out.stderr


def test_sympy_forms_with_complex_intermediates_pass() -> None:
    expected = sp.cos(w)
    G.check_sympy(sp.cos(w).rewrite(sp.exp), expected, "d")
    G.check_sympy(sp.diff(sp.sin(w).rewrite(sp.exp), w), expected, "d")
