r"""SymPy derivations: the chain rule factor by factor, tiny networks in closed form, and a
symbolic reverse mode.

Three groups of tools, in the order the lessons meet them.

**The chain rule, symbolically (lessons 01 and 02).** A :class:`Composition` is a function
written as named stages, for example the loss of one neuron

$$z = w x + b, \qquad a = \sigma(z), \qquad L = (a - t)^2 .$$

:func:`neuron_loss` builds it for any course activation and loss, :func:`compose` builds any
other one. :func:`chain_rule_factors` lists the local factors
$\partial L/\partial a$, $\partial a/\partial z$, $\partial z/\partial w$ (each also written
in the inputs), and :func:`confirm_chain_rule` checks that their product (summed over paths
when a variable reaches the output along several) equals ``sympy.diff`` of the whole
expression, by ``simplify`` of the difference and at random points.

**A tiny network in closed form (lesson 03).** :func:`mlp_loss_expression` writes the loss
of a small :class:`bpcourse.nn.MLP` as one SymPy expression in weight symbols ``W1_12`` (layer
1, row 1, column 2), bias symbols ``b1_2`` and data symbols ``x_11`` (sample 1, feature 1),
``y_11``; :func:`symbolic_mlp_gradients` differentiates it at a model's weights and
:func:`compare_with_mlp` measures how far ``MLP.loss_and_gradients`` is from it.

**Symbolic reverse mode (lesson 06).** ``sympy.diff`` differentiates an expression *tree*:
for the chain $L = \tfrac12(\sigma(w_L \cdots \sigma(w_1 x)) - t)^2$ the derivatives with
respect to all $L$ weights hold 70 operations at depth 2 and about 99 000 at depth 32
(expression swell). :func:`reverse_mode_gradient` walks the expression as a *graph* instead
(a repeated subexpression is one node), visits it once in reverse topological order and
applies each node's local derivative once, exactly as backpropagation does; the result is a
list of assignments over shared intermediate symbols whose size grows linearly with depth
(10 operations per layer on the chain). :func:`cost_table` measures the three ways side by
side.

Conventions, shared with :mod:`bpcourse.nn`:

- ``"mse"`` is the mean over all elements of $(\hat y - y)^2$, without a factor $\tfrac12$.
- ``"relu"`` is ``Piecewise((z, z > 0), (0, True))``; its derivative, as SymPy computes it,
  is ``Piecewise((1, z > 0), (0, True))``, so the derivative at the kink $z = 0$ is 0, the
  same choice as the numeric code. ``"leaky_relu"`` uses the slope
  :data:`LEAKY_RELU_SLOPE` $= 1/100$ for $z \le 0$.
- ``"sigmoid"`` is written $1 / (1 + e^{-z})$.
- Numeric results are float64 arrays.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy import Expr, Symbol
from sympy.core.cache import clear_cache

from bpcourse._validate import (
    as_array,
    check_choice,
    check_finite_number,
    check_positive_int,
    describe,
)

__all__ = [
    "ACTIVATIONS",
    "COST_METHODS",
    "LEAKY_RELU_SLOPE",
    "LOSSES",
    "NN_LOSSES",
    "ChainRuleReport",
    "Composition",
    "CostTable",
    "DiffComparison",
    "Factor",
    "MLPExpression",
    "SymbolicActivation",
    "SymbolicGradient",
    "SymbolicLoss",
    "activate",
    "chain_expression",
    "chain_rule_factors",
    "chain_rule_paths",
    "chain_weights",
    "compare_with_diff",
    "compare_with_mlp",
    "compose",
    "confirm_chain_rule",
    "cost_table",
    "count_ops",
    "evaluate",
    "lambdify_float",
    "mlp_loss_expression",
    "neuron_loss",
    "reverse_mode_gradient",
    "symbolic_mlp_gradients",
]


#: Slope of ``"leaky_relu"`` for $z \le 0$ (exactly 1/100, as a SymPy rational).
LEAKY_RELU_SLOPE = sympy.Rational(1, 100)


# --- activations and losses -----------------------------------------------------------------


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


def _sigmoid(z: Expr) -> Expr:
    return 1 / (1 + sympy.exp(-z))


def _relu(z: Expr) -> Expr:
    return sympy.Piecewise((z, z > 0), (0, True))


def _leaky_relu(z: Expr) -> Expr:
    return sympy.Piecewise((z, z > 0), (LEAKY_RELU_SLOPE * z, True))


#: The course activations as SymPy functions, by name.
ACTIVATIONS: Mapping[str, SymbolicActivation] = {
    "identity": SymbolicActivation("identity", lambda z: z, r"z"),
    "sigmoid": SymbolicActivation("sigmoid", _sigmoid, r"\frac{1}{1 + e^{-z}}"),
    "tanh": SymbolicActivation("tanh", sympy.tanh, r"\tanh z"),
    "relu": SymbolicActivation(
        "relu", _relu, r"\begin{cases} z & z > 0 \\ 0 & z \le 0 \end{cases}"
    ),
    "leaky_relu": SymbolicActivation(
        "leaky_relu", _leaky_relu, r"\begin{cases} z & z > 0 \\ z/100 & z \le 0 \end{cases}"
    ),
}


def activate(name: str, z: Any) -> Expr:
    """Apply the course activation ``name`` to the SymPy expression ``z``.

    Args:
        name: one of ``"identity"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``.
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


# --- small checks ---------------------------------------------------------------------------


def _nodes(expr: Any) -> Iterable[Any]:
    """Every distinct sub-expression of ``expr``, without recursion (deep chains are fine)."""
    seen: set[Any] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack += node.args


def _free_symbols(expr: Expr) -> set[Symbol]:
    """``expr.free_symbols`` for expressions without bound variables, found iteratively."""
    return {node for node in _nodes(expr) if isinstance(node, sympy.Symbol)}


def _as_expr(name: str, value: Any) -> Expr:
    """Return ``value`` as a SymPy scalar expression (Python numbers are accepted)."""
    if isinstance(value, bool) or not isinstance(value, (sympy.Basic, int, float)):
        raise TypeError(f"{name}: expected a SymPy expression, got {describe(value)}")
    expr = sympy.sympify(value)
    if not isinstance(expr, sympy.Expr) or isinstance(expr, sympy.MatrixBase):
        raise TypeError(f"{name}: expected a scalar SymPy expression, got {describe(value)}")
    if any(isinstance(node, sympy.MatrixExpr) for node in _nodes(expr)):
        raise TypeError(f"{name}: expected a scalar SymPy expression, got a matrix expression")
    return expr


def _as_symbol(name: str, value: Any) -> Symbol:
    if not isinstance(value, sympy.Symbol):
        raise TypeError(f"{name}: expected a sympy.Symbol, got {describe(value)}")
    return value


def _as_symbols(name: str, values: Any, *, allow_empty: bool = False) -> tuple[Symbol, ...]:
    """Check a Symbol or a sequence of distinct Symbols and return them as a tuple."""
    if isinstance(values, sympy.Symbol):
        return (values,)
    if isinstance(values, (str, bytes, sympy.Basic)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{name}: expected a sympy.Symbol or a sequence of them, got {describe(values)}"
        )
    out = tuple(values)
    for i, item in enumerate(out):
        _as_symbol(f"{name}[{i}]", item)
    if not out and not allow_empty:
        raise ValueError(f"{name}: expected at least one symbol, got an empty sequence")
    repeated = [s for s, n in Counter(out).items() if n > 1]
    if repeated:
        raise ValueError(f"{name}: expected distinct symbols, got {repeated[0]} more than once")
    return out


def _index(*indices: int) -> str:
    """Subscript text for 1-based indices: ``12`` when all are one digit, else ``1,12``."""
    parts = [str(i) for i in indices]
    return "".join(parts) if all(i < 10 for i in indices) else ",".join(parts)


# --- numeric evaluation ---------------------------------------------------------------------


def lambdify_float(exprs: Any, symbols: Any, *, cse: bool = True) -> Callable[..., np.ndarray]:
    """Compile SymPy expressions into a NumPy function that returns float64.

    A thin wrapper around ``sympy.lambdify``: the returned function takes one value (a number
    or an array; arrays broadcast) per symbol, in the order of ``symbols``, and returns

    - for a single expression: a float64 array of the broadcast shape of the inputs;
    - for a sequence of $m$ expressions: a float64 array of shape ``(m, *broadcast_shape)``.

    Constant expressions are broadcast too, so the result always has that shape.

    Args:
        exprs: a SymPy expression or a sequence of them.
        symbols: a Symbol or a sequence of distinct Symbols, the arguments of the function.
        cse: let ``lambdify`` share common subexpressions (faster for large expressions).

    Expressions that contain ``Piecewise`` (``"relu"``, ``"leaky_relu"``) are compiled for
    scalars with the ``math`` module and evaluated point by point: NumPy's code printer is
    very slow on the nested conditions that SymPy builds for them. Where an expression is
    undefined (``log`` of a negative number, division by zero) the result is NaN.

    Returns:
        The compiled function.

    Raises:
        TypeError: if an expression or a symbol is not a SymPy object.
        ValueError: if an expression has a free symbol that is not among ``symbols``.
    """
    single = not isinstance(exprs, (list, tuple))
    items = (
        [_as_expr("exprs", exprs)]
        if single
        else [_as_expr(f"exprs[{i}]", e) for i, e in enumerate(exprs)]
    )
    args = _as_symbols("symbols", symbols, allow_empty=True)
    free = set().union(*(e.free_symbols for e in items)) if items else set()
    missing = sorted(free - set(args), key=str)
    if missing:
        raise ValueError(
            f"symbols: expected every free symbol of the expressions, {missing} are missing"
        )
    if any(e.has(sympy.Piecewise) for e in items):
        # NumPy's printer of nested Piecewise conditions can take many seconds (and with cse
        # it may produce a float-valued condition that NumPy rejects): compile for scalars.
        scalar = sympy.lambdify(args, items, modules=["math", "mpmath", "sympy"])
        return _float_wrapper(_pointwise(scalar, len(items)), len(args), single)
    fn = sympy.lambdify(args, items, modules="numpy", cse=cse)
    return _float_wrapper(fn, len(args), single)


def _pointwise(scalar: Callable[..., Any], n_out: int) -> Callable[..., list[np.ndarray]]:
    """Vectorize a scalar function of several outputs; NaN where it is undefined or not real."""

    def vectorized(*arrays: np.ndarray) -> list[np.ndarray]:
        grid = np.broadcast_arrays(*arrays) if arrays else []
        shape = grid[0].shape if grid else ()
        out = np.full((*shape, n_out), np.nan)
        for idx in np.ndindex(*shape):
            # a domain error, a division by zero or a complex value leaves NaN
            with contextlib.suppress(ArithmeticError, ValueError, TypeError):
                out[idx] = [float(v) for v in scalar(*(float(a[idx]) for a in grid))]
        return list(np.moveaxis(out, -1, 0))

    return vectorized


def _float_wrapper(fn: Callable[..., Any], n_args: int, single: bool) -> Callable[..., np.ndarray]:
    def evaluate_float(*values: Any) -> np.ndarray:
        if len(values) != n_args:
            raise TypeError(
                f"values: expected {n_args} argument values (one per symbol), got {len(values)}"
            )
        arrays = [as_array(f"values[{i}]", v) for i, v in enumerate(values)]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            raw = fn(*arrays)
        outs = [np.asarray(r) for r in raw]
        for r in outs:
            if np.iscomplexobj(r) and np.any(r.imag != 0):
                raise ValueError("the expression is not real at these values (complex result)")
        result = np.stack([np.broadcast_to(np.real(r).astype(np.float64), shape) for r in outs])
        return result[0] if single else result

    return evaluate_float


def evaluate(expr: Any, values: Mapping[Symbol, Any]) -> float:
    """Evaluate a SymPy expression at a point and return a Python float.

    Args:
        expr: a SymPy expression.
        values: a value for every free symbol of ``expr`` (extra entries are ignored).

    Returns:
        The value as a float64 number.

    Raises:
        ValueError: if a free symbol has no value, a value is not finite, or the result is not
            real.
    """
    e = _as_expr("expr", expr)
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values: expected a mapping from symbols to numbers, got {describe(values)}"
        )
    missing = sorted(e.free_symbols - set(values), key=str)
    if missing:
        raise ValueError(f"values: expected a value for every free symbol, {missing} are missing")
    symbols = sorted(e.free_symbols, key=str)
    numbers = [check_finite_number(f"values[{s}]", values[s]) for s in symbols]
    return float(lambdify_float(e, symbols)(*numbers))


def _random_points(
    symbols: Sequence[Symbol], rng: np.random.Generator, n_points: int, low: float, high: float
) -> list[np.ndarray]:
    return [rng.uniform(low, high, size=n_points) for _ in symbols]


def _scaled_error(a: np.ndarray, b: np.ndarray) -> float:
    """$\\max |a - b| / \\max(1, |b|)$; infinite when either side is not finite."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.inf
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)), initial=0.0))


# --- compositions and the chain rule --------------------------------------------------------


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
                f"stages[{i}] ({symbol}): a definition may use only inputs and earlier stages, "
                f"got {what} {bad}"
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
            f"{size_name}: loss {loss!r} needs at least {spec.min_outputs} outputs, got {n_out}"
        )
    if loss == "binary_cross_entropy" and activation != "sigmoid":
        raise ValueError(
            f"loss: 'binary_cross_entropy' needs outputs in (0, 1), that is the 'sigmoid' "
            f"output activation, got activation {activation!r}"
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
    rng = np.random.default_rng(seed)
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


# --- tiny networks in closed form -----------------------------------------------------------


def _object_array(shape: tuple[int, ...], make: Callable[..., Any]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = make(*idx)
    return out


@dataclass(frozen=True)
class MLPExpression:
    r"""The loss of a small MLP as one SymPy expression, with its symbols.

    The symbol arrays are NumPy arrays of dtype ``object`` shaped like the numeric ones:
    ``weights[l]`` is ``(n_l, n_{l+1})`` like ``MLP.weights[l]``, ``biases[l]`` is
    ``(n_{l+1},)``, ``X`` is ``(N, n_in)``, ``Y`` and ``outputs`` are ``(N, n_out)``. Names are
    1-based: ``W1_12`` is row 1, column 2 of the first weight matrix; ``x_21`` is feature 1
    of sample 2. For ``"softmax_cross_entropy"`` the targets ``Y`` are one-hot.

    Attributes:
        layer_sizes: ``(n_in, ..., n_out)``.
        activation, output_activation, loss: the names used.
        loss_expr: the loss.
        outputs: $\hat y$ for every sample and output.
        weights, biases: the parameter symbols.
        X, Y: the data symbols.
    """

    layer_sizes: tuple[int, ...]
    activation: str
    output_activation: str
    loss: str
    loss_expr: Expr
    outputs: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    X: np.ndarray
    Y: np.ndarray

    def parameters(self) -> list[Symbol]:
        """Every parameter symbol, in the order of ``MLP.parameters()`` (W1, b1, W2, ...)
        with each array flattened in C order."""
        out: list[Symbol] = []
        for W, b in zip(self.weights, self.biases):
            out += list(W.ravel()) + list(b.ravel())
        return out

    def data_symbols(self) -> list[Symbol]:
        """The symbols of ``X`` then ``Y``, flattened in C order."""
        return list(self.X.ravel()) + list(self.Y.ravel())


def _check_layer_sizes(layer_sizes: Any) -> tuple[int, ...]:
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(
            f"layer_sizes: expected a sequence of integers, got {describe(layer_sizes)}"
        )
    sizes = tuple(check_positive_int(f"layer_sizes[{i}]", n) for i, n in enumerate(layer_sizes))
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes: expected at least 2 sizes (inputs and outputs), got {list(sizes)}"
        )
    return sizes


def mlp_loss_expression(
    layer_sizes: Sequence[int],
    activation: str = "tanh",
    output_activation: str = "identity",
    loss: str = "mse",
    n_samples: int = 1,
) -> MLPExpression:
    r"""Write the loss of a small MLP on ``n_samples`` samples as one SymPy expression.

    The network is the one of :class:`bpcourse.nn.MLP`: $H_0 = X$,
    $Z_l = H_{l-1} W_l + b_l$, $H_l = f(Z_l)$ for hidden layers and
    $\hat Y = f_\text{out}(Z_L)$, then the loss of :data:`LOSSES`.

    Meant for tiny networks (a few units, a few samples): the expression grows with every
    weight and sample.

    Args:
        layer_sizes: ``(n_in, n_hidden..., n_out)``, each $\ge 1$, at least two.
        activation: hidden activation, a name from :data:`ACTIVATIONS`.
        output_activation: activation of the last layer.
        loss: a name from :data:`LOSSES`.
        n_samples: number of samples $N \ge 1$.

    Returns:
        An :class:`MLPExpression` holding the loss and the weight, bias and data symbols.
    """
    sizes = _check_layer_sizes(layer_sizes)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, ACTIVATIONS)
    check_choice("loss", loss, LOSSES)
    n = check_positive_int("n_samples", n_samples)
    _check_loss_fits(loss, sizes[-1], output_activation, "layer_sizes[-1]")
    weights = [
        _object_array(
            (sizes[l], sizes[l + 1]),
            lambda i, j, l=l: sympy.Symbol(f"W{l + 1}_{_index(i + 1, j + 1)}"),
        )
        for l in range(len(sizes) - 1)
    ]
    biases = [
        _object_array((sizes[l + 1],), lambda j, l=l: sympy.Symbol(f"b{l + 1}_{j + 1}"))
        for l in range(len(sizes) - 1)
    ]
    X = _object_array((n, sizes[0]), lambda i, j: sympy.Symbol(f"x_{_index(i + 1, j + 1)}"))
    Y = _object_array((n, sizes[-1]), lambda i, j: sympy.Symbol(f"y_{_index(i + 1, j + 1)}"))
    H = X
    for l, (W, b) in enumerate(zip(weights, biases)):
        f = ACTIVATIONS[output_activation if l == len(weights) - 1 else activation]
        H = _object_array(
            (n, W.shape[1]),
            lambda r, c, H=H, W=W, b=b, f=f: f(
                sympy.Add(*[H[r, i] * W[i, c] for i in range(W.shape[0])]) + b[c]
            ),
        )
    value = LOSSES[loss].value(H.tolist(), Y.tolist())
    return MLPExpression(
        sizes, activation, output_activation, loss, value, H, weights, biases, X, Y
    )


def _check_model(model: Any) -> tuple[int, ...]:
    needed = ("layer_sizes", "activation", "output_activation", "weights", "biases")
    if not all(hasattr(model, a) for a in needed):
        raise TypeError(f"model: expected a bpcourse.nn.MLP, got {describe(model)}")
    sizes = _check_layer_sizes(model.layer_sizes)
    for l in range(len(sizes) - 1):
        W = as_array(f"model.weights[{l}]", model.weights[l], ndim=2)
        b = as_array(f"model.biases[{l}]", model.biases[l], ndim=1)
        if W.shape != (sizes[l], sizes[l + 1]) or b.shape != (sizes[l + 1],):
            raise ValueError(
                f"model: layer {l} has weights {W.shape} and biases {b.shape}, expected "
                f"{(sizes[l], sizes[l + 1])} and {(sizes[l + 1],)} from layer_sizes {sizes}"
            )
    return sizes


def _targets(y: Any, loss: str, n: int, n_out: int) -> np.ndarray:
    """Targets as an (N, n_out) float64 array (one-hot for softmax cross-entropy)."""
    if loss == "softmax_cross_entropy":
        labels = as_array("y", y, ndim=1)
        if labels.shape != (n,):
            raise ValueError(
                f"y: expected integer class labels of shape ({n},), got shape {labels.shape}"
            )
        if np.any(labels != np.round(labels)) or np.any(labels < 0) or np.any(labels >= n_out):
            raise ValueError(f"y: expected integer class labels in [0, {n_out}), got {labels}")
        return np.eye(n_out)[labels.astype(int)]
    Y = as_array("y", y, ndim=(1, 2))
    if Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    if Y.shape != (n, n_out):
        raise ValueError(
            f"y: expected shape ({n}, {n_out}) like the output, got shape {np.shape(y)}"
        )
    return Y


def symbolic_mlp_gradients(
    model: Any, X: Any, y: Any, loss: str = "mse", *, method: str = "diff"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""The loss gradient of ``model`` on ``(X, y)``, derived symbolically.

    Builds :func:`mlp_loss_expression` for the model's sizes and activations, differentiates
    it with respect to every weight and bias, and evaluates the result (with
    :func:`lambdify_float`) at the model's parameters and the data.

    Args:
        model: a :class:`bpcourse.nn.MLP` (anything with ``layer_sizes``, ``activation``,
            ``output_activation``, ``weights`` and ``biases`` works).
        X: inputs, shape ``(N, n_in)``.
        y: targets, shape ``(N, n_out)`` (or ``(N,)`` with one output) for ``"mse"``, integer
            labels of shape ``(N,)`` for ``"softmax_cross_entropy"``.
        loss: ``"mse"`` or ``"softmax_cross_entropy"``.
        method: ``"diff"`` (``sympy.diff`` per parameter) or ``"reverse"``
            (:func:`reverse_mode_gradient`).

    Returns:
        ``(dweights, dbiases)``: float64 arrays shaped like ``model.weights`` and
        ``model.biases``.
    """
    sizes = _check_model(model)
    check_choice("loss", loss, NN_LOSSES)
    check_choice("method", method, ("diff", "reverse"))
    X_arr = as_array("X", X, ndim=2)
    if X_arr.shape[1] != sizes[0]:
        raise ValueError(f"X: expected shape (N, {sizes[0]}), got shape {X_arr.shape}")
    n = X_arr.shape[0]
    if n == 0:
        raise ValueError("X: expected at least one sample, got shape (0, ...)")
    Y_arr = _targets(y, loss, n, sizes[-1])
    check_choice("model.activation", model.activation, ACTIVATIONS)
    check_choice("model.output_activation", model.output_activation, ACTIVATIONS)
    mlp = mlp_loss_expression(sizes, model.activation, model.output_activation, loss, n)
    params = mlp.parameters()
    args = params + mlp.data_symbols()
    if method == "diff":
        fn = lambdify_float([sympy.diff(mlp.loss_expr, p) for p in params], args)
    else:
        fn = reverse_mode_gradient(mlp.loss_expr, params).lambdify(args)
    values: list[np.ndarray] = []
    for W, b in zip(model.weights, model.biases):
        values += [np.asarray(W, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()]
    flat = np.concatenate([*values, X_arr.ravel(), Y_arr.ravel()])
    grads = fn(*flat)
    dweights: list[np.ndarray] = []
    dbiases: list[np.ndarray] = []
    pos = 0
    for W, b in zip(mlp.weights, mlp.biases):
        dweights.append(grads[pos : pos + W.size].reshape(W.shape))
        pos += W.size
        dbiases.append(grads[pos : pos + b.size].reshape(b.shape))
        pos += b.size
    return dweights, dbiases


def compare_with_mlp(
    model: Any, X: Any, y: Any, loss: str = "mse", *, method: str = "diff"
) -> float:
    r"""Largest relative error between ``model.loss_and_gradients`` and the symbolic gradient.

    For each parameter array (every $W_l$ and $b_l$) the relative error is
    $\lVert g_\text{num} - g_\text{sym}\rVert / \max(\lVert g_\text{num}\rVert,
    \lVert g_\text{sym}\rVert)$ (Frobenius norms; 0 when both are zero); the function
    returns the largest. Expect about ``1e-15`` for a correct backward pass.

    Args: as :func:`symbolic_mlp_gradients`.

    Returns:
        The largest relative error over the parameter arrays.
    """
    dW_sym, db_sym = symbolic_mlp_gradients(model, X, y, loss, method=method)
    _, dW_num, db_num = model.loss_and_gradients(X, y, loss=loss)
    worst = 0.0
    for a, b in zip([*dW_num, *db_num], [*dW_sym, *db_sym]):
        a = np.asarray(a, dtype=np.float64)
        scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
        if scale > 0:
            worst = max(worst, float(np.linalg.norm(a - b)) / scale)
    return worst


# --- symbolic reverse mode ------------------------------------------------------------------

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
                f"expr: reverse mode does not support {type(node).__name__} nodes "
                f"(argument {arg!r} is not an expression)"
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
            raise ValueError(f"args: expected every free symbol of expr, {missing} are missing")
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
    return int(sum(sympy.count_ops(e) for e in exprs))


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
    points = _random_points(result.inputs, np.random.default_rng(seed), n, lo, hi)
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


#: The methods :func:`cost_table` can time.
COST_METHODS = ("diff", "diff+cse", "reverse")


@dataclass(frozen=True)
class CostTable:
    """Op counts and times of the gradient of :func:`chain_expression` by several methods.

    Attributes:
        depths: the depths $L$, in the order measured.
        methods: the methods measured (names from :data:`COST_METHODS`).
        ops: for each method, one op count per depth (NaN where skipped), counted as in
            :func:`count_ops`.
        seconds: for each method, one time per depth in seconds (NaN where skipped). The
            ``"diff+cse"`` time includes the ``diff`` it starts from.
    """

    depths: tuple[int, ...]
    methods: tuple[str, ...]
    ops: Mapping[str, tuple[float, ...]]
    seconds: Mapping[str, tuple[float, ...]]

    def format(self) -> str:
        """The table as fixed-width text, one row per depth."""
        head = f"{'L':>4}" + "".join(f" | {m + ' ops':>14} {m + ' s':>13}" for m in self.methods)
        lines = [head, "-" * len(head)]
        for i, depth in enumerate(self.depths):
            row = f"{depth:>4}"
            for m in self.methods:
                ops, sec = self.ops[m][i], self.seconds[m][i]
                ops_text = "skipped" if math.isnan(ops) else f"{int(ops):,}"
                sec_text = "" if math.isnan(sec) else f"{sec:.4f}"
                row += f" | {ops_text:>14} {sec_text:>13}"
            lines.append(row)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def cost_table(
    depths: Sequence[int] = (2, 4, 8, 16, 32),
    *,
    methods: Sequence[str] = COST_METHODS,
    max_diff_depth: int | None = None,
    repeats: int = 1,
) -> CostTable:
    """Measure the cost of the chain's gradient by ``sympy.diff``, diff + ``cse`` and reverse
    mode.

    For every depth $L$, the gradient of :func:`chain_expression` (L) with respect to all its
    weights is computed by each method; the op count is :func:`count_ops` of the output (the
    $L$ derivatives for ``"diff"``; the ``cse`` replacements and reduced expressions for
    ``"diff+cse"``; the assignments and gradients for ``"reverse"``). Times are wall-clock
    (best of ``repeats``) of the differentiation alone, after clearing SymPy's cache, and do
    not include counting. ``sympy.diff`` recurses once per level of the expression tree, so
    while it runs Python's recursion limit is raised to at least $1000 + 80L$ (and restored
    afterwards); reverse mode does not recurse.

    Args:
        depths: the depths, each $\\ge 1$.
        methods: which of ``"diff"``, ``"diff+cse"``, ``"reverse"`` to run.
        max_diff_depth: skip ``"diff"`` and ``"diff+cse"`` above this depth (``sympy.diff``
            takes about 20 s at depth 32); ``None`` runs them everywhere.
        repeats: timing repeats, $\\ge 1$.

    Returns:
        A :class:`CostTable`.
    """
    if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence):
        raise TypeError(f"depths: expected a sequence of integers, got {describe(depths)}")
    if not depths:
        raise ValueError("depths: expected at least one depth, got an empty sequence")
    levels = tuple(check_positive_int(f"depths[{i}]", d) for i, d in enumerate(depths))
    if isinstance(methods, (str, bytes)) or not isinstance(methods, Sequence) or not methods:
        raise TypeError(f"methods: expected a non-empty sequence of names, got {describe(methods)}")
    chosen = tuple(check_choice(f"methods[{i}]", m, COST_METHODS) for i, m in enumerate(methods))
    limit = None if max_diff_depth is None else check_positive_int("max_diff_depth", max_diff_depth)
    n_repeats = check_positive_int("repeats", repeats)
    ops: dict[str, list[float]] = {m: [] for m in chosen}
    seconds: dict[str, list[float]] = {m: [] for m in chosen}
    for depth in levels:
        expr, weights = chain_expression(depth), chain_weights(depth)
        row = _measure_depth(expr, weights, chosen, limit is not None and depth > limit, n_repeats)
        for m in chosen:
            ops[m].append(row[m][0])
            seconds[m].append(row[m][1])
    return CostTable(
        levels,
        chosen,
        {m: tuple(v) for m, v in ops.items()},
        {m: tuple(v) for m, v in seconds.items()},
    )


@contextlib.contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    """Raise Python's recursion limit to at least ``limit`` for the block, then restore it."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _best_time(work: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """Run ``work`` ``repeats`` times on a cleared SymPy cache; its last result and best time."""
    best, result = math.inf, None
    for _ in range(repeats):
        clear_cache()
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return result, best


def _measure_depth(
    expr: Expr, weights: tuple[Symbol, ...], methods: tuple[str, ...], skip_diff: bool, repeats: int
) -> dict[str, tuple[float, float]]:
    row: dict[str, tuple[float, float]] = {}
    if "reverse" in methods:
        result, seconds = _best_time(lambda: reverse_mode_gradient(expr, weights), repeats)
        row["reverse"] = (float(result.count_ops()), seconds)
    if skip_diff:
        row["diff"] = row["diff+cse"] = (math.nan, math.nan)
    elif {"diff", "diff+cse"} & set(methods):
        # sympy.diff recurses once per level of the tree, about four levels per layer.
        with _recursion_limit(1000 + 80 * len(weights)):
            derivatives, diff_time = _best_time(
                lambda: [sympy.diff(expr, w) for w in weights], repeats
            )
            row["diff"] = (float(count_ops(derivatives)), diff_time)
            if "diff+cse" in methods:
                (shared, reduced), cse_time = _best_time(lambda: sympy.cse(derivatives), repeats)
                total = count_ops([e for _, e in shared] + list(reduced))
                row["diff+cse"] = (float(total), diff_time + cse_time)
    return {m: row[m] for m in methods}
