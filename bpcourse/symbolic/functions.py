"""The course activations and losses as SymPy expressions (the symbolic twins of
:mod:`bpcourse.nn.activations` and :mod:`bpcourse.nn.losses`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy
from sympy import Expr

from bpcourse import nn
from bpcourse._validate import check_choice
from bpcourse.symbolic._checks import _as_expr

#: Slope of ``"leaky_relu"`` for $z \le 0$ (exactly 1/100, as a SymPy rational): the
#: registry's slope :data:`bpcourse.nn.LEAKY_RELU_SLOPE`, written exactly.
LEAKY_RELU_SLOPE = sympy.Rational(str(nn.LEAKY_RELU_SLOPE))


@dataclass(frozen=True)
class SymbolicActivation:
    """A course activation written in SymPy.

    Attributes:
        name: the registry name, as in :data:`bpcourse.nn.ACTIVATIONS`.
        f: maps a SymPy expression $z$ to $f(z)$.
        formula: the definition in LaTeX, for display.
    """

    name: str
    f: Callable[[Expr], Expr]
    formula: str

    def __call__(self, z: Any) -> Expr:
        return self.f(sympy.sympify(z))


class _SymbolicActivations(Mapping[str, SymbolicActivation]):
    """The activations of :data:`bpcourse.nn.ACTIVATIONS` that have a SymPy form, read live:
    an activation registered there appears here too."""

    def __getitem__(self, name: str) -> SymbolicActivation:
        act = nn.ACTIVATIONS[name]
        if act.sympy_f is None:
            raise KeyError(name)
        return SymbolicActivation(act.name, act.sympy_f, act.formula)

    def __iter__(self) -> Iterator[str]:
        return (name for name, act in nn.ACTIVATIONS.items() if act.sympy_f is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"SymbolicActivations({list(self)})"


#: The course activations as SymPy functions, by name (a view of the registry
#: :data:`bpcourse.nn.ACTIVATIONS`: the entries with a SymPy form).
ACTIVATIONS: Mapping[str, SymbolicActivation] = _SymbolicActivations()


def activate(name: str, z: Any) -> Expr:
    """Apply the course activation ``name`` to the SymPy expression ``z``.

    Args:
        name: one of :data:`ACTIVATIONS` (``"identity"``, ``"sigmoid"``, ``"tanh"``,
            ``"relu"``, ``"leaky_relu"`` and any registered one with a SymPy form).
        z: a SymPy expression (or a number).

    Returns:
        $f(z)$ as a SymPy expression.
    """
    check_choice("name", name, ACTIVATIONS)
    return ACTIVATIONS[name](_as_expr("z", z))


Rows = Sequence[Sequence[Expr]]


@dataclass(frozen=True)
class SymbolicLoss:
    """A course loss written in SymPy, for a batch.

    Attributes:
        name: the registry name.
        value: ``value(Y_hat, Y)`` maps outputs and targets, both given as rows (one row per
            sample, one entry per output), to the loss as a SymPy expression.
        min_outputs: the fewest outputs the loss makes sense for.
        formula: the definition in LaTeX, for display.
    """

    name: str
    value: Callable[[Rows, Rows], Expr]
    min_outputs: int
    formula: str


def _mse(Y_hat: Rows, Y: Rows) -> Expr:
    n_elements = sum(len(row) for row in Y_hat)
    terms = [(p - q) ** 2 for row_p, row_q in zip(Y_hat, Y) for p, q in zip(row_p, row_q)]
    return sympy.Add(*terms) / n_elements


def _softmax_cross_entropy(Y_hat: Rows, Y: Rows) -> Expr:
    per_sample = []
    for logits, targets in zip(Y_hat, Y):
        log_norm = sympy.log(sympy.Add(*[sympy.exp(z) for z in logits]))
        per_sample.append(-sympy.Add(*[q * (z - log_norm) for z, q in zip(logits, targets)]))
    return sympy.Add(*per_sample) / len(Y_hat)


def _binary_cross_entropy(Y_hat: Rows, Y: Rows) -> Expr:
    n_elements = sum(len(row) for row in Y_hat)
    terms = [
        -(q * sympy.log(p) + (1 - q) * sympy.log(1 - p))
        for row_p, row_q in zip(Y_hat, Y)
        for p, q in zip(row_p, row_q)
    ]
    return sympy.Add(*terms) / n_elements


#: The course losses as SymPy expressions of a batch, by name. ``"softmax_cross_entropy"``
#: takes its targets one-hot (entry $y_{nk} = 1$ for the true class), so that the same
#: expression serves every label; ``"binary_cross_entropy"`` expects outputs in $(0, 1)$
#: (a sigmoid output).
LOSSES: Mapping[str, SymbolicLoss] = {
    "mse": SymbolicLoss("mse", _mse, 1, r"\frac{1}{NK}\sum_{n,k} (\hat y_{nk} - y_{nk})^2"),
    "softmax_cross_entropy": SymbolicLoss(
        "softmax_cross_entropy",
        _softmax_cross_entropy,
        2,
        r"-\frac{1}{N}\sum_{n,k} y_{nk}\left(\hat y_{nk} - \log\sum_j e^{\hat y_{nj}}\right)",
    ),
    "binary_cross_entropy": SymbolicLoss(
        "binary_cross_entropy",
        _binary_cross_entropy,
        1,
        r"-\frac{1}{NK}\sum_{n,k} y_{nk}\log\hat y_{nk} + (1 - y_{nk})\log(1 - \hat y_{nk})",
    ),
}

#: The losses that :class:`bpcourse.nn.MLP` also implements.
NN_LOSSES = ("mse", "softmax_cross_entropy")
