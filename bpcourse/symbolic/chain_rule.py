r"""Functions written as named stages (:class:`Composition`) and the chain rule factor by
factor: :func:`compose`, :func:`neuron_loss`, :func:`chain_rule_factors`,
:func:`chain_rule_paths` and :func:`confirm_chain_rule` (lessons 01 and 02), and
:func:`simplify_difference`, the comparison of two formulas that the lessons' checks use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy import Expr, Symbol

from bpcourse._validate import (
    check_choice,
    check_finite_number,
    check_positive_int,
    describe,
    seeded_rng,
)
from bpcourse.symbolic._checks import _as_expr, _as_symbol, _index
from bpcourse.symbolic.functions import ACTIVATIONS, LOSSES
from bpcourse.symbolic.numeric import _random_points, _scaled_error, lambdify_float


@dataclass(frozen=True)
class Composition:
    r"""A function written as a sequence of named stages.

    Each stage defines a new symbol by an expression in the inputs and the earlier stage
    symbols; the last stage is the output. For one neuron:
    ``((z, w*x + b), (a, 1/(1 + exp(-z))), (L, (a - t)**2))``.

    Attributes:
        stages: ``(symbol, definition)`` pairs, in order.
        inputs: the free symbols that no stage defines, sorted by name.
    """

    stages: tuple[tuple[Symbol, Expr], ...]
    inputs: tuple[Symbol, ...]

    @property
    def output(self) -> Symbol:
        """The symbol of the last stage (the loss)."""
        return self.stages[-1][0]

    @property
    def intermediates(self) -> tuple[Symbol, ...]:
        """The stage symbols, first stage first."""
        return tuple(s for s, _ in self.stages)

    def definition(self, symbol: Symbol) -> Expr:
        """The defining expression of the stage ``symbol``."""
        for s, e in self.stages:
            if s == symbol:
                return e
        raise ValueError(
            f"symbol: expected one of the stage symbols {list(self.intermediates)}, got {symbol!r}"
        )

    def substitute(self, expr: Any) -> Expr:
        """Rewrite ``expr``, written with stage symbols, in the inputs alone."""
        out = _as_expr("expr", expr)
        for s, e in reversed(self.stages):
            out = out.xreplace({s: e})
        return out

    def expression(self, symbol: Symbol | None = None) -> Expr:
        """The output (or the stage ``symbol``) as one expression in the inputs."""
        target = self.output if symbol is None else symbol
        return self.substitute(self.definition(target))

    def lambdify(self) -> Callable[..., np.ndarray]:
        """The output as a float64 NumPy function of the inputs (in the order of ``inputs``)."""
        return lambdify_float(self.expression(), self.inputs)

    def __str__(self) -> str:
        return "\n".join(f"{s} = {e}" for s, e in self.stages)


def compose(*stages: tuple[Any, Any]) -> Composition:
    """Build a :class:`Composition` from ``(name, expression)`` pairs.

    Example::

        w, x, b, t, z, a, L = sympy.symbols("w x b t z a L")
        neuron = compose((z, w * x + b), (a, sympy.tanh(z)), (L, (a - t) ** 2))

    Args:
        *stages: pairs of a stage name (a ``str`` or a ``Symbol``) and its defining SymPy
            expression, which may use the inputs and the symbols of *earlier* stages.

    Returns:
        The composition; its inputs are the remaining free symbols, sorted by name.

    Raises:
        TypeError: if a stage is not a pair, a name is not a str/Symbol, or a definition is not
            a SymPy expression.
        ValueError: if there is no stage, a name repeats, or a definition uses its own symbol
            or a later stage's symbol.
    """
    if not stages:
        raise ValueError("stages: expected at least one (name, expression) pair, got none")
    parsed: list[tuple[Symbol, Expr]] = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, tuple) or len(stage) != 2:
            raise TypeError(
                f"stages[{i}]: expected a (name, expression) pair, got {describe(stage)}"
            )
        name, definition = stage
        if isinstance(name, str) and name:
            symbol = sympy.Symbol(name)
        elif isinstance(name, sympy.Symbol):
            symbol = name
        else:
            raise TypeError(f"stages[{i}]: expected a name (str or Symbol), got {describe(name)}")
        parsed.append((symbol, _as_expr(f"stages[{i}] ({symbol})", definition)))
    names = [s for s, _ in parsed]
    repeated = [s for s, n in Counter(names).items() if n > 1]
    if repeated:
        raise ValueError(f"stages: expected distinct stage names, got {repeated[0]} more than once")
    for i, (symbol, definition) in enumerate(parsed):
        ahead = definition.free_symbols & set(names[i:])
        if ahead:
            bad = sorted(ahead, key=str)[0]
            what = "its own symbol" if bad == symbol else "a later stage's symbol"
            raise ValueError(
                f"stages[{i}] ({symbol}): expected a definition in the inputs and earlier "
                f"stages only, got {what} {bad}"
            )
    free = set().union(*(d.free_symbols for _, d in parsed)) - set(names)
    return Composition(tuple(parsed), tuple(sorted(free, key=str)))


def neuron_loss(
    activation: str = "sigmoid",
    loss: str = "mse",
    *,
    n_inputs: int = 1,
    n_outputs: int = 1,
) -> Composition:
    r"""The loss of one neuron (or one layer of neurons) on one sample, as a composition.

    With the defaults, the stages are $z = w x + b$, $a = f(z)$, $L = (a - t)^2$. With
    ``n_inputs`` $= I$ and ``n_outputs`` $= K$ they are
    $z_k = \sum_i w_{ik} x_i + b_k$, $a_k = f(z_k)$ for each $k$, then
    $L = \text{loss}(a, t)$. A subscript is used only for a dimension larger than one
    (``w``, ``w_2``, ``w_12``); the targets are ``t`` (``t_k``).

    Args:
        activation: a name from :data:`ACTIVATIONS`.
        loss: a name from :data:`LOSSES` (``"softmax_cross_entropy"`` needs
            ``n_outputs >= 2``; ``"binary_cross_entropy"`` needs ``"sigmoid"``).
        n_inputs: number of inputs $I \ge 1$.
        n_outputs: number of neurons $K \ge 1$.

    Returns:
        The :class:`Composition` with inputs $w, x, b, t$ (and their indexed versions).
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("loss", loss, LOSSES)
    n_in = check_positive_int("n_inputs", n_inputs)
    n_out = check_positive_int("n_outputs", n_outputs)
    _check_loss_fits(loss, n_out, activation, "n_outputs")

    def name(base: str, i: int | None, k: int | None) -> sympy.Symbol:
        idx = [j for j, size in ((i, n_in), (k, n_out)) if j is not None and size > 1]
        return sympy.Symbol(f"{base}_{_index(*idx)}" if idx else base)

    x = [name("x", i, None) for i in range(1, n_in + 1)]
    stages: list[tuple[Symbol, Expr]] = []
    for k in range(1, n_out + 1):
        affine = sympy.Add(*[name("w", i, k) * x[i - 1] for i in range(1, n_in + 1)])
        stages.append((name("z", None, k), affine + name("b", None, k)))
    f = ACTIVATIONS[activation]
    stages += [(name("a", None, k), f(name("z", None, k))) for k in range(1, n_out + 1)]
    a = [name("a", None, k) for k in range(1, n_out + 1)]
    t = [name("t", None, k) for k in range(1, n_out + 1)]
    stages.append((sympy.Symbol("L"), LOSSES[loss].value([a], [t])))
    return compose(*stages)


def _check_loss_fits(loss: str, n_out: int, activation: str, size_name: str) -> None:
    spec = LOSSES[loss]
    if n_out < spec.min_outputs:
        raise ValueError(
            f"{size_name}: expected at least {spec.min_outputs} outputs for loss {loss!r}, "
            f"got {n_out}"
        )
    if loss == "binary_cross_entropy" and activation != "sigmoid":
        raise ValueError(
            f"loss: expected the 'sigmoid' output activation for 'binary_cross_entropy' (its "
            f"outputs must lie in (0, 1)), got activation {activation!r}"
        )


@dataclass(frozen=True)
class Factor:
    r"""One local factor $\partial\,\text{of} / \partial\,\text{wrt}$ of the chain rule.

    Attributes:
        of: the stage symbol being differentiated (e.g. ``L``).
        wrt: the symbol it is differentiated with respect to (e.g. ``a``).
        local: the factor in the stage symbols, e.g. ``2*a - 2*t``.
        value: the same factor written in the inputs alone.
    """

    of: Symbol
    wrt: Symbol
    local: Expr
    value: Expr

    @property
    def label(self) -> str:
        """``"dL/da"``."""
        return f"d{self.of}/d{self.wrt}"

    def __str__(self) -> str:
        return f"{self.label} = {self.local}"


def chain_rule_paths(composition: Composition, wrt: Symbol) -> list[list[Factor]]:
    """Every path from the output down to ``wrt``, as lists of local factors.

    The multivariable chain rule: the derivative of the output with respect to ``wrt`` is the
    sum over these paths of the product of the factors along each path.

    Args:
        composition: the function, from :func:`compose` or :func:`neuron_loss`.
        wrt: one of the composition's inputs or stage symbols.

    Returns:
        The paths, each ordered from the output down (``[dL/da, da/dz, dz/dw]``).
    """
    if not isinstance(composition, Composition):
        raise TypeError(f"composition: expected a Composition, got {describe(composition)}")
    target = _as_symbol("wrt", wrt)
    known = set(composition.inputs) | set(composition.intermediates)
    if target not in known:
        raise ValueError(
            f"wrt: expected one of the composition's symbols {sorted(known, key=str)}, got {target}"
        )
    definitions = dict(composition.stages)
    paths: list[list[Factor]] = []
    # Depth-first walk with an explicit stack of (symbol, factors so far).
    stack: list[tuple[Symbol, list[Factor]]] = [(composition.output, [])]
    while stack:
        node, so_far = stack.pop()
        if node == target:
            paths.append(so_far)
            continue
        if node not in definitions:
            continue
        definition = definitions[node]
        for child in sorted(definition.free_symbols, key=str, reverse=True):
            if child != target and child not in definitions:
                continue
            local = sympy.diff(definition, child)
            factor = Factor(node, child, local, composition.substitute(local))
            stack.append((child, [*so_far, factor]))
    return paths


def chain_rule_factors(composition: Composition, wrt: Symbol) -> list[Factor]:
    """The local factors of the single path from the output to ``wrt``.

    For the neuron $L(a(z(w)))$ this is ``[dL/da, da/dz, dz/dw]``, each a :class:`Factor`
    with the derivative in the stage symbols (``.local``) and in the inputs (``.value``).

    Raises:
        ValueError: if ``wrt`` reaches the output along no path or along several (use
            :func:`chain_rule_paths` then).
    """
    paths = chain_rule_paths(composition, wrt)
    if len(paths) != 1:
        raise ValueError(
            f"wrt: expected exactly one path from {composition.output} to {wrt}, found "
            f"{len(paths)}; use chain_rule_paths for the sum over paths"
        )
    return paths[0]


def simplify_difference(a: Any, b: Any) -> Expr:
    r"""``a - b`` simplified: 0 when SymPy can show that the two formulas are equal.

    ``sympy.simplify(a - b)`` alone can spend seconds on hyperbolic functions and still not
    reach 0: the derivative of a tanh neuron written with $\operatorname{sech}^2 z$ against
    the same derivative written with $1 - \tanh^2 z$ is such a case. Written with
    exponentials ($\tanh z = (e^{z} - e^{-z}) / (e^{z} + e^{-z})$, and so on) the same
    difference usually cancels at once, so that form is simplified first; when it does not
    come out as 0, the result is ``sympy.simplify(a - b)``, in the functions the formulas
    were written with.

    Like every symbolic test of equality it can miss: a nonzero result may still be zero
    (no program decides every identity), which is why the course's checks also compare the
    two formulas at random points.

    Args:
        a, b: SymPy expressions (Python numbers are accepted).

    Returns:
        ``0`` (a SymPy ``Integer``) or the simplified difference.
    """
    difference = _as_expr("a", a) - _as_expr("b", b)
    if difference == 0:
        return sympy.Integer(0)
    exponential = difference.rewrite(sympy.exp)
    if exponential != difference and sympy.simplify(exponential) == 0:
        return sympy.Integer(0)
    return sympy.simplify(difference)


@dataclass(frozen=True)
class ChainRuleReport:
    r"""What :func:`confirm_chain_rule` found.

    Attributes:
        wrt: the variable.
        paths: the factors along every path from the output to ``wrt``.
        chain_rule: $\sum_\text{paths} \prod \text{factors}$, in the inputs.
        direct: ``sympy.diff`` of the whole expression with respect to ``wrt``.
        difference: ``simplify(chain_rule - direct)``, or ``None`` if not simplified.
        max_error: $\max |c - d| / \max(1, |d|)$ over the random points.
        n_points: how many random points were tried.
        tol: the tolerance on ``max_error``.
    """

    wrt: Symbol
    paths: tuple[tuple[Factor, ...], ...]
    chain_rule: Expr
    direct: Expr
    difference: Expr | None
    max_error: float
    n_points: int
    tol: float

    @property
    def symbolic_equal(self) -> bool | None:
        """Whether ``simplify`` reduced the difference to 0 (``None`` if not tried)."""
        return None if self.difference is None else bool(self.difference == 0)

    @property
    def ok(self) -> bool:
        """Both checks passed: the difference simplifies to 0 and the points agree."""
        return self.symbolic_equal is not False and self.max_error <= self.tol

    def __str__(self) -> str:
        lines = []
        for path in self.paths:
            lines.append(" * ".join(f.label for f in path) + ":")
            lines += [f"    {f.label} = {f.local}" for f in path]
        out = self.paths[0][0].of if self.paths and self.paths[0] else "L"
        lines.append(f"chain rule  d{out}/d{self.wrt} = {self.chain_rule}")
        lines.append(f"sympy.diff  d{out}/d{self.wrt} = {self.direct}")
        sym = {True: "0", False: str(self.difference), None: "not simplified"}[self.symbolic_equal]
        lines.append(f"simplify(difference) = {sym}")
        lines.append(f"largest error at {self.n_points} random points: {self.max_error:.2e}")
        lines.append("agree" if self.ok else "DISAGREE")
        return "\n".join(lines)


def confirm_chain_rule(
    composition: Composition,
    wrt: Symbol,
    *,
    simplify: bool = True,
    n_points: int = 5,
    seed: int = 0,
    low: float = -2.0,
    high: float = 2.0,
    tol: float = 1e-9,
) -> ChainRuleReport:
    """Check that the product of the chain-rule factors equals ``sympy.diff``.

    The factors of every path are multiplied, the paths summed, and the result compared with
    ``sympy.diff`` of the whole expression twice: by ``simplify`` of the difference and at
    ``n_points`` random points drawn uniformly from ``[low, high]`` for every input.

    Args:
        composition: the function.
        wrt: the variable, an input or a stage symbol.
        simplify: also run ``sympy.simplify`` on the difference (slow for big expressions).
        n_points: number of random points ($\\ge 1$).
        seed: seed of the random points.
        low, high: the interval the input values are drawn from.
        tol: largest accepted ``max_error``.

    Returns:
        A :class:`ChainRuleReport`; ``report.ok`` tells whether the two agree.
    """
    paths = chain_rule_paths(composition, wrt)
    n = check_positive_int("n_points", n_points)
    lo = check_finite_number("low", low)
    hi = check_finite_number("high", high)
    if not lo < hi:
        raise ValueError(f"high: expected a number above low={lo}, got {hi}")
    tol = check_finite_number("tol", tol)
    chain = sympy.Add(*[sympy.Mul(*[f.value for f in path]) for path in paths])
    if wrt in composition.intermediates:
        # Differentiating with respect to a stage symbol: hold the stages below it fixed.
        direct = sympy.diff(_expression_above(composition, wrt), wrt)
        direct = composition.substitute(direct)
    else:
        direct = sympy.diff(composition.expression(), wrt)
    difference = sympy.simplify(chain - direct) if simplify else None
    rng = seeded_rng(seed)
    points = _random_points(composition.inputs, rng, n, lo, hi)
    values = lambdify_float([chain, direct], composition.inputs)(*points)
    return ChainRuleReport(
        wrt=wrt,
        paths=tuple(tuple(p) for p in paths),
        chain_rule=chain,
        direct=direct,
        difference=difference,
        max_error=_scaled_error(values[0], values[1]),
        n_points=n,
        tol=tol,
    )


def _expression_above(composition: Composition, symbol: Symbol) -> Expr:
    """The output written in the inputs and ``symbol``, whose own definition is not expanded."""
    out: Expr = composition.definition(composition.output)
    for s, e in reversed(composition.stages[:-1]):
        if s != symbol:
            out = out.xreplace({s: e})
    return out
