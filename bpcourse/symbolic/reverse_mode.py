r"""Symbolic reverse mode: differentiate an expression as a graph, once per node, in reverse
topological order (:func:`reverse_mode_gradient`), and compare with ``sympy.diff``
(:func:`compare_with_diff`) on the deep sigmoid chain (:func:`chain_expression`) (lesson 06).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy import Expr, Symbol

from bpcourse._validate import (
    check_finite_number,
    check_positive_int,
    describe,
    seeded_rng,
)
from bpcourse.symbolic._checks import _as_expr, _as_symbols, _free_symbols
from bpcourse.symbolic.functions import ACTIVATIONS
from bpcourse.symbolic.numeric import _float_wrapper, _random_points, _scaled_error, lambdify_float

# A node's local rule returns its forward expression in terms of its children's symbols and
# the local derivatives with respect to those children. ``sym`` maps a child expression to the
# symbol (or atom) that holds its value; ``out`` is the node's own symbol.
_Children = tuple[Expr, ...]
_Rule = Callable[[Expr, Callable[[Expr], Expr], Symbol], tuple[Expr, list[tuple[Expr, Expr]]]]


def _sigmoid_input(node: Expr) -> Expr | None:
    r"""If ``node`` is $1/(1 + e^{u})$, the logistic sigmoid of $z = -u$, return $z$."""
    if not (isinstance(node, sympy.Pow) and node.exp == -1 and isinstance(node.base, sympy.Add)):
        return None
    terms = node.base.args
    if len(terms) != 2 or sympy.S.One not in terms:
        return None
    other = terms[1] if terms[0] == sympy.S.One else terms[0]
    if not isinstance(other, sympy.exp):
        return None
    return -other.args[0]


def _children(node: Expr) -> _Children:
    """The sub-expressions a node is computed from (each listed once)."""
    z = _sigmoid_input(node)
    if z is not None:
        return (z,)
    if isinstance(node, sympy.Piecewise):
        found: list[Expr] = []
        for branch, condition in node.args:
            found.append(branch)
            stack: list[Any] = [condition]
            while stack:
                c = stack.pop()
                if isinstance(c, sympy.core.relational.Relational):
                    found += [c.lhs, c.rhs]
                elif isinstance(c, sympy.logic.boolalg.BooleanFunction):
                    stack += list(c.args)
        return tuple(dict.fromkeys(found))
    for arg in node.args:
        if not isinstance(arg, sympy.Expr):
            raise TypeError(
                f"expr: expected nodes whose arguments are expressions (reverse mode does not "
                f"support {type(node).__name__} nodes), got the argument {arg!r}"
            )
    return tuple(dict.fromkeys(node.args))


def _rule_add(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    return sympy.Add(*[sym(a) for a in node.args]), [(a, sympy.S.One) for a in node.args]


def _rule_mul(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    held = [sym(a) for a in node.args]
    partials = [(a, sympy.Mul(*(held[:i] + held[i + 1 :]))) for i, a in enumerate(node.args)]
    return sympy.Mul(*held), partials


def _rule_pow(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    z = _sigmoid_input(node)
    if z is not None:
        # sigma(z) = 1/(1 + exp(-z)):  d sigma / dz = sigma (1 - sigma).
        return 1 / (1 + sympy.exp(-sym(z))), [(z, out * (1 - out))]
    base, power = node.args
    b, p = sym(base), sym(power)
    partials: list[tuple[Expr, Expr]] = []
    if power == -1:
        partials.append((base, -(out**2)))  # d(1/b)/db = -1/b^2 = -out^2
    else:
        partials.append((base, p * b ** (p - 1)))
    if not power.is_Number:
        partials.append((power, out * sympy.log(b)))
    return b**p, partials


def _rule_exp(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    (u,) = node.args
    return sympy.exp(sym(u)), [(u, out)]


def _rule_log(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    (u,) = node.args
    return sympy.log(sym(u)), [(u, 1 / sym(u))]


def _rule_tanh(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    (u,) = node.args
    return sympy.tanh(sym(u)), [(u, 1 - out**2)]


def _rule_general(node: Expr, sym: Callable[[Expr], Expr], out: Symbol) -> Any:
    """Any other node (Piecewise, sin, Abs, undefined f(x, y), ...): ``diff`` of the node
    with its children replaced by real dummy symbols."""
    children = _children(node)
    dummies = {c: sympy.Dummy(real=True) for c in children}
    shaped = node.xreplace(dummies)
    back = {d: sym(c) for c, d in dummies.items()}
    forward = node.xreplace({c: sym(c) for c in children})
    partials = []
    for c, d in dummies.items():
        local = sympy.diff(shaped, d)
        if local.has(sympy.Derivative):
            # An unevaluated derivative (undefined function): keep d as the variable of
            # differentiation and evaluate at the child's value, as sympy.diff does.
            others = {k: v for k, v in back.items() if k != d}
            local = sympy.Subs(local.xreplace(others), d, sym(c))
        else:
            local = local.xreplace(back)
        partials.append((c, local))
    return forward, partials


#: Local derivative rules, one per node type (anything else goes through ``diff``).
_RULES: dict[type, _Rule] = {
    sympy.Add: _rule_add,
    sympy.Mul: _rule_mul,
    sympy.Pow: _rule_pow,
    sympy.exp: _rule_exp,
    sympy.log: _rule_log,
    sympy.tanh: _rule_tanh,
}


def _topological_order(root: Expr) -> list[Expr]:
    """Non-atomic nodes of the expression graph, children before parents (iterative)."""
    order: list[Expr] = []
    seen: set[Expr] = set()
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or node.is_Atom:
            continue
        seen.add(node)
        stack.append((node, True))
        stack += [(c, False) for c in reversed(_children(node)) if c not in seen]
    return order


def _occurrences(exprs: Iterable[Expr], targets: set[Symbol]) -> Counter[Symbol]:
    """How many times each target symbol occurs in the trees of ``exprs``."""
    counts: Counter[Symbol] = Counter()
    stack: list[Any] = list(exprs)
    while stack:
        e = stack.pop()
        if e in targets:
            counts[e] += 1
        elif not e.is_Atom:
            stack += list(e.args)
    return counts


@dataclass(frozen=True)
class SymbolicGradient:
    r"""The gradient of an expression as straight-line code.

    Evaluate ``assignments`` in order (each ``(symbol, expression)`` may use the inputs and
    the symbols assigned before it), then ``gradients[i]`` is
    $\partial\,\text{expr} / \partial\,\text{wrt}[i]$. Intermediate symbols are named
    ``v0, v1, ...`` for values of the forward pass and ``g0, g1, ...`` for adjoints
    (derivatives of ``expr`` with respect to an intermediate value).

    Attributes:
        expr: the differentiated expression.
        wrt: the variables, in the order of ``gradients``.
        assignments: the shared intermediate values.
        gradients: one expression per variable, in the inputs and the intermediate symbols.
    """

    expr: Expr
    wrt: tuple[Symbol, ...]
    assignments: tuple[tuple[Symbol, Expr], ...]
    gradients: tuple[Expr, ...]

    @property
    def inputs(self) -> tuple[Symbol, ...]:
        """The free symbols of ``expr`` and ``wrt``, sorted by name."""
        return tuple(sorted(_free_symbols(self.expr) | set(self.wrt), key=str))

    def count_ops(self) -> int:
        """Operations in the whole program: ``sympy.count_ops`` of every assignment's
        right-hand side plus that of every gradient expression (see :func:`count_ops`)."""
        return count_ops([e for _, e in self.assignments] + list(self.gradients))

    def expand(self) -> list[Expr]:
        """The gradients as plain expressions in the inputs (assignments substituted back)."""
        values: dict[Symbol, Expr] = {}
        for s, e in self.assignments:
            values[s] = e.xreplace(values)
        return [g.xreplace(values) for g in self.gradients]

    def lambdify(self, args: Sequence[Symbol] | None = None) -> Callable[..., np.ndarray]:
        """Compile the program into a NumPy function returning float64.

        Args:
            args: the argument symbols, in order; default :attr:`inputs`.

        Returns:
            ``f(*values)`` returning an array of shape ``(len(wrt), *broadcast_shape)``.
        """
        symbols = self.inputs if args is None else _as_symbols("args", args, allow_empty=True)
        missing = sorted(_free_symbols(self.expr) - set(symbols), key=str)
        if missing:
            raise ValueError(f"args: expected every free symbol of expr, got {missing} missing")
        program = (list(self.assignments), list(self.gradients))
        fn = sympy.lambdify(symbols, list(self.gradients), modules="numpy", cse=lambda _: program)
        return _float_wrapper(fn, len(symbols), single=False)

    def __str__(self) -> str:
        lines = [f"{s} = {e}" for s, e in self.assignments]
        lines += [f"d/d{w} = {g}" for w, g in zip(self.wrt, self.gradients)]
        return "\n".join(lines)


def count_ops(exprs: Iterable[Any]) -> int:
    """Total ``sympy.count_ops`` of several expressions, each counted on its own.

    This is how every op count of this module is made: a shared intermediate symbol costs
    nothing where it is used, the expression that defines it is counted once, and an
    expression repeated inside a tree is counted every time it appears (that is the swell).
    """
    if isinstance(exprs, (str, bytes)) or not isinstance(exprs, Iterable):
        raise TypeError(f"exprs: expected a list of SymPy expressions, got {describe(exprs)}")
    return int(sum(sympy.count_ops(_as_expr(f"exprs[{i}]", e)) for i, e in enumerate(exprs)))


def reverse_mode_gradient(expr: Any, wrt: Any) -> SymbolicGradient:
    r"""Differentiate ``expr`` with respect to every symbol of ``wrt`` by symbolic reverse mode.

    The expression is read as a graph: structurally equal sub-expressions are one node. The
    forward pass gives every node an intermediate symbol; the backward pass visits the nodes
    in reverse topological order and adds, for each child, the node's adjoint times the
    node's local derivative:

    $$\bar c \mathrel{+}= \bar v \,\frac{\partial v}{\partial c}, \qquad \bar v =
    \frac{\partial\,\text{expr}}{\partial v}.$$

    Local rules: $+$ (1), $\times$ (product of the other factors), powers, $\exp$ (itself),
    $\log$ ($1/u$), $\tanh$ ($1 - \tanh^2$), the logistic form $1/(1 + e^{-z})$
    ($\sigma(1 - \sigma)$); any other node (``Piecewise``, ``sin``, ``Abs``, undefined
    functions, ...) is differentiated by ``sympy.diff`` with respect to its arguments. Finally
    intermediates used once are substituted into their single use and unused ones dropped,
    which leaves the same kind of output as ``sympy.cse``: a short list of assignments plus
    the gradient expressions. The size is linear in the size of the graph.

    Args:
        expr: a scalar SymPy expression.
        wrt: a Symbol or a sequence of distinct Symbols (a symbol absent from ``expr`` gets
            the gradient 0).

    Returns:
        A :class:`SymbolicGradient`.

    Raises:
        TypeError: if ``expr`` is not a scalar expression, ``wrt`` holds something other than
            Symbols, or ``expr`` contains a node that is not a function of expressions
            (``Derivative``, ``Integral``, ``Sum``, ...).
        ValueError: if ``wrt`` is empty or repeats a symbol.
    """
    root = _as_expr("expr", expr)
    variables = _as_symbols("wrt", wrt)
    order = _topological_order(root)
    taken = {s.name for s in _free_symbols(root) | set(variables)}
    targets = set(variables)

    # Forward pass: one temporary symbol per node.
    value_of: dict[Expr, Expr] = {}
    depends: dict[Expr, bool] = {}
    partials_of: dict[Expr, list[tuple[Expr, Expr]]] = {}
    assignments: list[tuple[Symbol, Expr]] = []
    kinds: dict[Symbol, str] = {}

    def sym(e: Expr) -> Expr:
        return e if e.is_Atom else value_of[e]

    def depends_on_wrt(e: Expr) -> bool:
        return e in targets if e.is_Atom else depends[e]

    for node in order:
        out = sympy.Dummy("v")
        rule = _RULES.get(type(node), _rule_general)
        forward, partials = rule(node, sym, out)
        value_of[node] = out
        depends[node] = any(depends_on_wrt(c) for c, _ in partials) or any(
            depends_on_wrt(c) for c in _children(node)
        )
        partials_of[node] = partials
        assignments.append((out, forward))
        kinds[out] = "v"

    # Backward pass: adjoints in reverse topological order.
    contributions: dict[Expr, list[Expr]] = {}
    if not root.is_Atom:
        contributions[root] = [sympy.S.One]
    for node in reversed(order):
        terms = contributions.pop(node, [])
        if not terms or not depends[node]:
            continue
        total = sympy.Add(*terms)
        if total == 0:
            continue
        if total.is_Atom:
            adjoint: Expr = total
        else:
            adjoint = sympy.Dummy("g")
            assignments.append((adjoint, total))
            kinds[adjoint] = "g"
        for child, local in partials_of[node]:
            if depends_on_wrt(child):
                contributions.setdefault(child, []).append(adjoint * local)
    if root.is_Atom:
        contributions[root] = [sympy.S.One]
    gradients = [sympy.Add(*contributions.get(v, [])) for v in variables]
    program, gradients = _tidy(assignments, gradients, kinds, taken)
    return SymbolicGradient(root, variables, program, tuple(gradients))


def _tidy(
    assignments: list[tuple[Symbol, Expr]],
    gradients: list[Expr],
    kinds: Mapping[Symbol, str],
    taken: set[str],
) -> tuple[tuple[tuple[Symbol, Expr], ...], list[Expr]]:
    """Drop unused assignments, substitute the ones used once, rename the rest v0.., g0.."""
    temporaries = set(kinds)
    needed = {s for s in _occurrences(gradients, temporaries)}
    live: list[tuple[Symbol, Expr]] = []
    for s, e in reversed(assignments):
        if s in needed:
            live.append((s, e))
            needed |= set(_occurrences([e], temporaries))
    live.reverse()
    uses = _occurrences([e for _, e in live] + gradients, temporaries)
    inline: dict[Symbol, Expr] = {}
    kept: list[tuple[Symbol, Expr]] = []
    for s, e in live:
        e = e.xreplace(inline)
        if uses[s] <= 1 or e.is_Atom:
            inline[s] = e
        else:
            kept.append((s, e))
    gradients = [g.xreplace(inline) for g in gradients]
    counters = {k: 0 for k in ("v", "g")}
    rename: dict[Symbol, Symbol] = {}
    for s, _ in kept:
        prefix = kinds[s]
        while f"{prefix}{counters[prefix]}" in taken:
            counters[prefix] += 1
        rename[s] = sympy.Symbol(f"{prefix}{counters[prefix]}")
        counters[prefix] += 1
    program = tuple((rename[s], e.xreplace(rename)) for s, e in kept)
    return program, [g.xreplace(rename) for g in gradients]


@dataclass(frozen=True)
class DiffComparison:
    """What :func:`compare_with_diff` found.

    Attributes:
        max_error: $\\max |r - d| / \\max(1, |d|)$ over gradients and random points, where
            $r$ is reverse mode and $d$ is ``sympy.diff``.
        symbolic_equal: whether every ``simplify(r - d)`` is 0 (``None`` if not tried).
        tol: the tolerance on ``max_error``.
    """

    max_error: float
    symbolic_equal: bool | None
    tol: float

    @property
    def ok(self) -> bool:
        """The random points agree and, if simplified, every difference is 0."""
        return self.symbolic_equal is not False and self.max_error <= self.tol


def compare_with_diff(
    result: SymbolicGradient,
    *,
    simplify: bool = False,
    n_points: int = 5,
    seed: int = 0,
    low: float = -1.5,
    high: float = 1.5,
    tol: float = 1e-9,
) -> DiffComparison:
    """Compare a :class:`SymbolicGradient` with ``sympy.diff`` of the same expression.

    Args:
        result: from :func:`reverse_mode_gradient`.
        simplify: also check that ``simplify`` of each difference is 0 (small cases only).
        n_points: random points, each input drawn uniformly from ``[low, high]``.
        seed: seed of the points.
        low, high: the interval of the inputs.
        tol: largest accepted error at the points.

    Returns:
        A :class:`DiffComparison`.
    """
    if not isinstance(result, SymbolicGradient):
        raise TypeError(f"result: expected a SymbolicGradient, got {describe(result)}")
    n = check_positive_int("n_points", n_points)
    lo, hi = check_finite_number("low", low), check_finite_number("high", high)
    if not lo < hi:
        raise ValueError(f"high: expected a number above low={lo}, got {hi}")
    direct = [sympy.diff(result.expr, w) for w in result.wrt]
    symbolic_equal = None
    if simplify:
        expanded = result.expand()
        symbolic_equal = all(sympy.simplify(r - d) == 0 for r, d in zip(expanded, direct))
    points = _random_points(result.inputs, seeded_rng(seed), n, lo, hi)
    mine = result.lambdify()(*points)
    theirs = lambdify_float(direct, result.inputs)(*points)
    return DiffComparison(
        _scaled_error(mine, theirs), symbolic_equal, check_finite_number("tol", tol)
    )


def chain_weights(depth: int) -> tuple[Symbol, ...]:
    """The weight symbols ``w_1, ..., w_depth`` of :func:`chain_expression`."""
    n = check_positive_int("depth", depth)
    return tuple(sympy.Symbol(f"w_{k}") for k in range(1, n + 1))


def chain_expression(depth: int) -> Expr:
    r"""The loss of a chain of ``depth`` one-unit sigmoid layers without biases.

    $$a_0 = x, \qquad a_k = \sigma(w_k a_{k-1}) \ (k = 1..L), \qquad
    \text{loss} = \tfrac12 (a_L - t)^2,$$

    with $\sigma(z) = 1/(1 + e^{-z})$ and symbols ``w_1 ... w_L`` (see :func:`chain_weights`),
    ``x`` and ``t``. Each weight appears once in the tree but ``sympy.diff`` copies the
    inner layers into every derivative, which makes this the standard example of expression
    swell.

    Args:
        depth: number of layers $L \ge 1$.
    """
    weights = chain_weights(depth)
    x, t = sympy.symbols("x t")
    a: Expr = x
    for w in weights:
        a = ACTIVATIONS["sigmoid"](w * a)
    return (a - t) ** 2 / 2
