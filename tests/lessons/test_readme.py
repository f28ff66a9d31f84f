"""The README's examples print what the README says they print.

Words, shapes and verdicts must match exactly; numbers to the digits they are printed with;
round-off-level figures (a float64 gradient check's ~1e-15) only as "below 1e-12", because
their digits depend on the CPU, the BLAS kernel and the thread count (see ``printout.py``).
The same comparison runs once more in a fresh interpreter with one BLAS thread and numpy's
AVX-512 kernels switched off, so a digit that depends on the machine fails here first.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import printout
import pytest
from printout import ROUND_OFF, printout_mismatch

README = Path(__file__).resolve().parents[2] / "README.md"
HERE = Path(__file__).resolve().parent

# Another machine, as far as one process can pretend: another number of threads for every
# BLAS and OpenMP runtime numpy may use (the suite itself runs with one, see conftest.py), and
# numpy's dispatched AVX-512 loops disabled (numpy falls back to its AVX2 or baseline loops,
# as on a CPU without AVX-512).
OTHER_MACHINE = {
    "OMP_NUM_THREADS": "2",
    "OPENBLAS_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}


def _examples() -> list[tuple[str, str]]:
    text = README.read_text()
    taste = text.split("<!-- BEGIN TASTE -->")[1].split("<!-- END TASTE -->")[0]
    pairs = re.findall(r"```python\n(.*?)```\n```\n(.*?)```", taste, re.S)
    assert len(pairs) >= 3
    return pairs


def run_examples() -> list[str]:
    """Run every README example in one namespace; return what each printed (or raised)."""
    namespace: dict = {}
    printed = []
    for code, _ in _examples():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(code, "README.md", "exec"), namespace)
            except Exception as exc:
                print(f"{type(exc).__name__}: {exc}")
        printed.append(out.getvalue())
    return printed


def check_examples() -> None:
    for (code, expected), actual in zip(_examples(), run_examples()):
        problem = printout_mismatch(expected, actual)
        assert problem is None, f"README example:\n{code}\n{problem}"


def test_readme_examples_print_what_they_claim() -> None:
    check_examples()


@pytest.mark.slow
def test_readme_examples_hold_with_two_threads_and_without_avx512() -> None:
    env = {**os.environ, **OTHER_MACHINE}
    paths = [str(HERE), str(Path(printout.__file__).resolve().parent)]
    code = f"import sys; sys.path[:0] = {paths!r}; import test_readme; test_readme.check_examples()"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_taste_shows_round_off_figures_as_round_off() -> None:
    """The gradient-check table in the README has round-off-level figures; the text says so."""
    text = README.read_text()
    figures = [float(x) for x in re.findall(r"\d\.\de-1[5-9]", text)]
    assert figures and all(f < ROUND_OFF for f in figures)
    assert "round-off" in text.split("<!-- END TASTE -->")[0]


# --- the comparison itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("W1     (3, 4)          1.9e-15  ok", "W1     (3, 4)          2.1e-15  ok"),
        ("worst 1.9e-15 -> PASS at tolerance 1e-10", "worst 3.3e-16 -> PASS at tolerance 1e-10"),
        (
            "Value(data=-0.6044, grad=1.0000, op='tanh')",
            "Value(data=-0.6045, grad=1.0000, op='tanh')",
        ),
        ("-0.3173697949912292 1.2", "-0.3173697949912293 1.2"),
        ("b1     (4,)            6.1e-16  ok", "b1     (4,)           1.2e-15  ok"),
    ],
)
def test_printout_accepts_machine_dependent_digits(expected: str, actual: str) -> None:
    assert printout_mismatch(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual", "why"),
    [
        ("W1 (3, 4) 1.9e-15 ok", "W1 (3, 4) 1.9e-15 FAIL", "FAIL"),
        ("W1 (3, 4) 1.9e-15 ok", "W1 (4, 3) 1.9e-15 ok", "expected 3, got 4"),
        ("W1 (3, 4) 1.9e-15 ok", "W1 (3, 4) 2.0e-09 ok", "round-off"),
        ("Value(data=-0.6044)", "Value(data=-0.6047)", "-0.6044"),
        ("Value(data=-0.6044)", "Value(data=0.6044)", "-0.6044"),
        ("worst 1.9e-15 -> PASS", "worst 1.9e-15 -> PASS\nextra", "lines"),
        ("ValueError: y: expected shape (8,)", "ValueError: y: expected shape (9,)", "8"),
    ],
)
def test_printout_rejects_what_matters(expected: str, actual: str, why: str) -> None:
    problem = printout_mismatch(expected, actual)
    assert problem is not None and why in problem
