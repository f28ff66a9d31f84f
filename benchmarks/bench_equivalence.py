"""How long does it take to accept a right SymPy answer written in another form?

Lesson 01 asks for derivatives as SymPy expressions, and any equivalent form is right:
``sech(z)**2`` for ``1 - tanh(z)**2``, exponentials for hyperbolic functions, a factor
multiplied out. For each such answer below, three ways of deciding that it equals the
instructor's formula are timed in the same run, SymPy's cache cleared before each:

- ``sympy.simplify(answer - expected)``, the plain comparison (the column ``zero?`` says
  whether it reaches 0 at all);
- ``bpcourse.symbolic.simplify_difference``, which the lesson's "Try it" cells use: the
  difference written with exponentials first, then ``simplify``;
- ``bpcourse.grading.check_sympy``, which the tests of the exercises use: the two formulas at
  random points first, simplification only where rounding leaves them in doubt.

The table gives the best time of ``--repeats`` and the ratios of the plain comparison to the
two others. Run: ``python benchmarks/bench_equivalence.py [--repeats 3]``. It is not a test:
the numbers depend on the machine and the SymPy version.
"""

from __future__ import annotations

import argparse
import platform
import sys
from dataclasses import dataclass, field
from typing import Any

import sympy

from bpcourse.dynamics.symbolic_cost import _best_time  # best of n, SymPy cache cleared
from bpcourse.grading import check_sympy
from bpcourse.symbolic import simplify_difference

w, x, b, t, z, a, lam = sympy.symbols("w x b t z a lambda")
_TANH_NEURON = sympy.tanh(w * x + b)
_DECAY = sympy.tanh(w * x)
_SIGMA = 1 / (1 + sympy.exp(-z))


@dataclass
class Case:
    """A right answer, the instructor's formula, and the substitutions the test applies."""

    label: str
    answer: Any
    expected: Any
    substitutions: dict[Any, Any] = field(default_factory=dict)

    def in_inputs(self) -> tuple[Any, Any]:
        """Both formulas with the stage symbols replaced, as the comparison sees them."""
        return (
            sympy.sympify(self.answer).subs(self.substitutions),
            sympy.sympify(self.expected).subs(self.substitutions),
        )


CASES = [
    Case(
        "tanh neuron dL/dw with sech**2, multiplied out",
        sympy.expand(2 * (_TANH_NEURON - t) * sympy.sech(w * x + b) ** 2 * x),
        2 * (a - t) * (1 - a**2) * x,
        {a: _TANH_NEURON},
    ),
    Case(
        "two paths, tanh' with exponentials",
        2 * (_DECAY - t) * 4 / (sympy.exp(w * x) + sympy.exp(-w * x)) ** 2 * x + 2 * lam * w,
        2 * (a - t) * (1 - a**2) * x + 2 * lam * w,
        {a: _DECAY},
    ),
    Case("tanh' as sech**2", sympy.sech(z) ** 2, 1 - sympy.tanh(z) ** 2),
    Case(
        "sigmoid' with exponentials",
        sympy.exp(-z) / (1 + sympy.exp(-z)) ** 2,
        a * (1 - a),
        {a: _SIGMA},
    ),
    Case(
        "chain rule in sin, 2 sin cos as sin of twice",
        3 * sympy.sin(x**2 + 1) * sympy.sin(2 * x**2 + 2) * x,
        sympy.diff(sympy.sin(x**2 + 1) ** 3, x),
    ),
]


def measure(case: Case, repeats: int) -> dict[str, Any]:
    got, want = case.in_inputs()
    plain_result, plain = _best_time(lambda: sympy.simplify(got - want), repeats)
    helper_result, helper = _best_time(lambda: simplify_difference(got, want), repeats)
    _, check = _best_time(
        lambda: check_sympy(case.answer, case.expected, "answer", substitutions=case.substitutions),
        repeats,
    )
    return {
        "plain": plain,
        "plain_zero": plain_result == 0,
        "helper": helper,
        "helper_zero": helper_result == 0,
        "check": check,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, SymPy {sympy.__version__}, {platform.machine()}")
    header = (
        f"{'answer':48} {'simplify':>9} {'zero?':>5} {'helper':>8} {'zero?':>5} "
        f"{'check':>8} {'x helper':>8} {'x check':>8}"
    )
    print(header)
    for case in CASES:
        m = measure(case, args.repeats)
        print(
            f"{case.label:48} {m['plain']:8.3f}s {'yes' if m['plain_zero'] else 'NO':>5} "
            f"{m['helper']:7.3f}s {'yes' if m['helper_zero'] else 'NO':>5} {m['check']:7.3f}s "
            f"{m['plain'] / m['helper']:8.1f} {m['plain'] / m['check']:8.1f}"
        )
    print(
        "(x helper, x check: the time of plain simplify divided by that of simplify_difference "
        "and of check_sympy)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
