r"""A scalar reverse-mode automatic differentiation engine: the object of lesson 02.

Every arithmetic operation on :class:`Value` objects records a node of a computational graph.
Each node keeps

- ``data``: the number computed in the forward pass,
- ``grad``: $\partial \text{root} / \partial \text{node}$, filled in by :meth:`Value.backward`,
- ``_prev``: the operands the node was made from (one entry per operand, so ``a + a`` lists
  ``a`` twice),
- ``_op``: the name of the operation (``"+"``, ``"*"``, ``"**2"``, ``"tanh"``, ...),
- ``_local``: the local derivatives $\partial \text{node} / \partial \text{operand}$, one per
  entry of ``_prev``, computed once in the forward pass.

(Sums and products, most of any graph, are stored a little differently for speed, in
:class:`_Binary` nodes, and a sum or product with a plain number keeps the number, in a
:class:`_WithConstant` node; ``_prev`` and ``_local`` read the same on every node.)

The backward pass is the chain rule applied node by node in reverse topological order: each
node adds ``local derivative * node.grad`` into the ``grad`` of each operand (``+=``, because a
node used twice receives a contribution along each path)::

    >>> a = Value(2.0, label="a")
    >>> b = a + a
    >>> c = b + b
    >>> c.backward()
    >>> a.grad
    4.0

Every operation follows the same four beats: make sure the other operand is a ``Value`` (or,
for ``+`` and ``*``, a checked number), compute the output number, write down the local
derivatives, build the output node. Derived
operations are one line in terms of primitive ones: ``a - b`` is ``a + (-b)`` and ``a / b`` is
``a * b**-1``.

Numerical behaviour, chosen on purpose:

- ``tanh`` and ``sigmoid`` are computed in forms that never overflow, so ``Value(1000).tanh()``
  and ``Value(-1000).sigmoid()`` are fine (1.0 and 0.0, with gradient 0).
- ``exp`` of a number above about 709.78 does not fit in a float64; it raises an
  :class:`OverflowError` that says so rather than returning ``inf``. ``x ** n`` that overflows
  also raises :class:`OverflowError`. Sums and products of finite numbers follow Python floats
  and may give ``inf``.
- ``relu`` has derivative 0 at exactly 0 (the convention PyTorch uses).
- ``x ** n`` with ``0 < n < 1`` at ``x = 0`` has an infinite derivative; its local derivative is
  stored as ``inf``.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

from bpcourse._validate import check_finite_number, describe

__all__ = [
    "Value",
    "backward_naive_recursive",
    "format_number",
    "graph",
    "topological_order",
]

# The largest x for which math.exp(x) is a finite float64: log(max float) ~ 709.78.
_EXP_MAX = math.log(1.7976931348623157e308)


def _check_real(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking that it is a finite real number."""
    if type(value) is float and math.isfinite(value):  # the hot path of every operation
        return value
    hint = "; a Value is already a graph node, use it directly" if isinstance(value, Value) else ""
    return check_finite_number(name, value, hint=hint)


def _as_operand(other: Any) -> Value | float:
    """Return ``other`` unchanged if it is a ``Value``, else as a checked float."""
    if isinstance(other, Value):
        return other
    return _check_real("other", other)


_new = object.__new__


def _node(data: float, prev: tuple[Value, ...], op: str, local: tuple[float, ...]) -> Value:
    """A new graph node, made without ``Value.__init__`` (whose checks are for leaves only)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._prev = prev
    out._op = op
    out._local = local
    out._visit = None
    return out


def _constant_operand(x: Any) -> float:
    """A number operand such as the 2 of ``2 * a``, checked like ``Value(x)``."""
    if type(x) is not float or not math.isfinite(x):
        x = _check_real("other", x)
    return x


def _with_constant(
    left: Value, op: str, constant: float, data: float, d_left: float, d_constant: float
) -> Value:
    """The node ``left + constant`` or ``left * constant``, a :class:`_WithConstant`."""
    out = _new(_WithConstant)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._op = op
    out._left = left
    out._constant = constant
    out._constant_node = None
    out._d_left = d_left
    out._d_constant = d_constant
    out._visit = None
    return out


def _power_slope(x: float, n: float) -> float:
    """$d(x^n)/dx = n x^{n-1}$; at $x = 0$ its limit: 0 for $n = 0$, infinite for $0 < n < 1$."""
    if x == 0 and n < 1:
        return 0.0 if n == 0 else math.inf
    return n * x ** (n - 1)


def format_number(x: float) -> str:
    """Format a number for a learner: 4 decimals, or scientific notation when tiny or huge."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"x: expected a real number, got {x!r} ({type(x).__name__})")
    if x == 0 or 1e-3 <= abs(x) < 1e5 or not math.isfinite(x):
        return f"{x:.4f}"
    return f"{x:.4e}"


class Value:
    r"""A scalar node of a computational graph that knows how to pass gradients back.

    Args:
        data: the number this node holds; a finite real number (int, float or numpy scalar),
            stored as a float.
        label: an optional name, shown by ``repr`` and by :func:`bpcourse.plots.draw_graph`.
        _prev: the operand nodes (internal: set by the operations).
        _op: the name of the operation that made the node (internal).
        _local: the local derivatives $\partial \text{out} / \partial \text{operand}$, one per
            entry of ``_prev`` (internal).

    Raises:
        TypeError: if ``data`` is not a real number or ``label`` is not a string.
        ValueError: if ``data`` is NaN or infinite.

    Example:
        >>> x = Value(0.5, label="x")
        >>> y = (2 * x).tanh()
        >>> y.backward()
        >>> round(x.grad, 4)  # 2 * (1 - tanh(1)**2)
        0.8399
    """

    # ``_visit`` is bookkeeping of :meth:`backward` (see ``_backward_order``), not part of the
    # graph.
    __slots__ = ("_local", "_op", "_prev", "_visit", "data", "grad", "label")
    _visit: object

    # Make numpy hand mixed operations such as ``np.float64(2.0) * Value(3.0)`` to Value.
    __array_ufunc__ = None

    def __init__(
        self,
        data: float,
        label: str = "",
        _prev: tuple[Value, ...] = (),
        _op: str = "",
        _local: tuple[float, ...] = (),
    ) -> None:
        if not _prev:  # a leaf: check what was given (a finite float passes at once)
            if type(data) is not float or not math.isfinite(data):
                data = _check_real("data", data)
            if not isinstance(label, str):
                raise TypeError(f"label: expected a string, got {describe(label)}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._prev = _prev
        self._op = _op
        self._local = _local
        self._visit = None

    # ------------------------------------------------------------------ primitive operations
    def __add__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):  # a + 2: see _WithConstant
            c = _constant_operand(other)
            return _with_constant(self, "+", c, self.data + c, 1.0, 1.0)
        # d(a + b)/da = 1, d(a + b)/db = 1. The node is a _Binary (see that class) built
        # field by field, without a call: + and * are most of every graph.
        out = _new(_Binary)
        out.data = self.data + other.data
        out.grad = 0.0
        out.label = ""
        out._op = "+"
        out._left = self
        out._right = other
        out._d_left = 1.0
        out._d_right = 1.0
        out._visit = None
        return out

    def __mul__(self, other: Value | float) -> Value:
        # d(a * b)/da = b, d(a * b)/db = a
        a = self.data
        if not isinstance(other, Value):  # a * 2: see _WithConstant
            b = _constant_operand(other)
            return _with_constant(self, "*", b, a * b, b, a)
        b = other.data
        out = _new(_Binary)
        out.data = a * b
        out.grad = 0.0
        out.label = ""
        out._op = "*"
        out._left = self
        out._right = other
        out._d_left = b
        out._d_right = a
        out._visit = None
        return out

    def __pow__(self, exponent: float) -> Value:
        r"""$x^n$ for a constant real $n$, with derivative $n x^{n-1}$.

        Raises:
            TypeError: if the exponent is a ``Value`` (or not a real number).
            ValueError: for a negative base with a non-integer exponent, or a NaN/inf exponent.
            ZeroDivisionError: for 0 to a negative power.
            OverflowError: if the result does not fit in a float64.
        """
        if isinstance(exponent, Value):
            raise TypeError(
                "exponent: expected a real number (int or float), got a Value; this engine "
                "differentiates x ** n for a constant n only. For a variable exponent y write "
                "(y * x.log()).exp()"
            )
        n = _check_real("exponent", exponent)
        x = self.data
        if x < 0 and not n.is_integer():
            raise ValueError(
                f"exponent: expected an integer power of the negative base {x!r} (anything else "
                f"is not a real number), got {n!r}"
            )
        if x == 0 and n < 0:
            raise ZeroDivisionError(
                f"0.0 ** {n!r}: zero cannot be raised to a negative power (this is also what "
                "a division by a Value holding 0 becomes)"
            )
        try:
            data = x**n
            local = _power_slope(x, n)
        except OverflowError:
            raise OverflowError(
                f"{x!r} ** {n!r} overflows float64 (larger than about 1.8e308)"
            ) from None
        op = f"**{int(n)}" if n.is_integer() else f"**{n:g}"
        return _node(data, (self,), op, (local,))

    def tanh(self) -> Value:
        r"""$\tanh(x)$, with derivative $1 - \tanh^2(x)$ (finite for any input)."""
        t = math.tanh(self.data)
        return _node(t, (self,), "tanh", (1.0 - t * t,))

    def sigmoid(self) -> Value:
        r"""$\sigma(x) = 1 / (1 + e^{-x})$, with derivative $\sigma(x)(1 - \sigma(x))$.

        For negative x it uses $e^{x} / (1 + e^{x})$, so neither branch can overflow.
        """
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return _node(s, (self,), "sigmoid", (s * (1.0 - s),))

    def relu(self) -> Value:
        r"""$\max(0, x)$, with derivative 1 for $x > 0$ and 0 otherwise (0 at the kink)."""
        x = self.data
        return _node(x if x > 0 else 0.0, (self,), "relu", (1.0 if x > 0 else 0.0,))

    def exp(self) -> Value:
        """$e^x$, its own derivative.

        Raises:
            OverflowError: if $x > 709.78$, where $e^x$ exceeds the largest float64.
        """
        x = self.data
        if x > _EXP_MAX:
            raise OverflowError(
                f"exp({x!r}) overflows float64: e**x is finite only for x <= {_EXP_MAX:.2f}; "
                "scale the input down or rewrite the formula in log space"
            )
        e = math.exp(x)
        return _node(e, (self,), "exp", (e,))

    def log(self) -> Value:
        r"""$\ln x$ for $x > 0$, with derivative $1 / x$.

        Raises:
            ValueError: if $x \le 0$, naming the value.
        """
        x = self.data
        if x <= 0:
            raise ValueError(f"log: expected a positive number, got {x!r} (log needs x > 0)")
        return _node(math.log(x), (self,), "log", (1.0 / x,))

    # -------------------------------------------------------------------- derived operations
    def __neg__(self) -> Value:  # -a
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:  # a - b
        return self + (-_as_operand(other))

    def __truediv__(self, other: Value | float) -> Value:  # a / b
        other = _as_operand(other)
        if not isinstance(other, Value) and other == 0:
            raise ZeroDivisionError("division of a Value by 0")
        return self * other**-1

    def __radd__(self, other: float) -> Value:  # 2 + a
        return self + other

    def __rmul__(self, other: float) -> Value:  # 2 * a
        return self * other

    def __rsub__(self, other: float) -> Value:  # 2 - a
        return (-self) + other

    def __rtruediv__(self, other: float) -> Value:  # 2 / a
        return self**-1 * other

    def __rpow__(self, base: float) -> Value:  # 2 ** a
        raise TypeError(
            "exponent: expected a real number (int or float), got a Value; this engine "
            f"differentiates x ** n for a constant n only. For {base!r} ** a write "
            f"(a * math.log({base!r})).exp()"
        )

    # ----------------------------------------------------------------------- backward pass
    def _backward(self) -> None:
        """One step of the chain rule: add ``local derivative * self.grad`` into each operand."""
        grad = self.grad
        for operand, local in zip(self._prev, self._local):
            operand.grad += local * grad

    def backward(self) -> None:
        r"""Set ``grad`` of every node to $\partial\,\text{self} / \partial\,\text{node}$.

        All gradients in the graph are first set to 0 and ``self.grad`` to 1, so calling
        ``backward`` twice gives the same result (gradients do not pile up across calls as they
        do in PyTorch); nodes outside the graph of ``self`` are left alone. Then each node,
        in reverse topological order, applies the chain rule for its operands,
        $\bar{u} \mathrel{+}= \frac{\partial\,\text{node}}{\partial u}\,\overline{\text{node}}$
        (a bar marks $\partial\,\text{self} / \partial\,\cdot$), so a node passes its
        gradient on only after every node that uses it has added its share. The order is
        built without recursion: a chain of 100 000 nodes works.
        """
        order = _backward_order(self)  # also sets every grad of the graph to 0
        self.grad = 1.0
        for node in reversed(order):
            # This is ``node._backward()`` written out: a call and a zip per node would cost
            # more than the arithmetic. Sums and products (``_Binary``) keep their operands
            # in fields, and those with a number (``_WithConstant``) one operand and the
            # number; every other operation has one operand. For ``a + a``, ``_left``
            # and ``_right`` are the same node and it receives both shares. ``order`` holds
            # no leaves: they have nothing to pass on.
            grad = node.grad
            if type(node) is _Binary:
                node._left.grad += node._d_left * grad
                node._right.grad += node._d_right * grad
            elif type(node) is _WithConstant:
                node._left.grad += node._d_left * grad
                if node._constant_node is not None:  # the number's leaf, if it was asked for
                    node._constant_node.grad += node._d_constant * grad
            elif len(node._prev) == 1:
                node._prev[0].grad += node._local[0] * grad
            else:  # a node made with Value(...) by hand, with any number of operands
                node._backward()

    # ------------------------------------------------------------------------ copy, pickle
    def __getstate__(self) -> dict[str, Any]:
        """The fields the node stores, for ``copy`` and ``pickle`` (its operands included).

        ``_prev`` and ``_local`` are left out where they are computed from other fields
        (:class:`_Binary`, :class:`_WithConstant`), and so is the bookkeeping ``_visit``.
        """
        cls = type(self)
        state: dict[str, Any] = {}
        for klass in cls.__mro__:
            for name in getattr(klass, "__slots__", ()):
                if name != "_visit" and not isinstance(getattr(cls, name), property):
                    state[name] = getattr(self, name)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._visit = None

    # ------------------------------------------------------------------------------ display
    def __repr__(self) -> str:
        parts = [f"data={format_number(self.data)}", f"grad={format_number(self.grad)}"]
        if self._op:
            parts.append(f"op={self._op!r}")
        if self.label:
            parts.append(f"label={self.label!r}")
        return f"Value({', '.join(parts)})"


class _Binary(Value):
    """A node of ``a + b`` or ``a * b``: a ``Value`` that keeps its two operands and their
    local derivatives in four fields of its own instead of in the tuples ``_prev`` and
    ``_local``.

    Only the storage differs: ``_prev`` and ``_local`` read as usual (these two properties
    build the tuples when asked), and ``backward`` treats the node like any other. The reason
    is speed. Python's garbage collector keeps a list of every object that can hold references
    (instances, tuples, lists...) and walks these lists again and again while a program
    creates many of them, which building a graph does. A ``Value`` with a ``_prev`` tuple is
    two such objects (three with a ``_local`` tuple; a tuple of floats leaves the list only
    when the collector next looks at it); a ``_Binary`` is one. Sums and products are most of
    the nodes of a network, so this cuts the collector's work roughly in half.
    """

    __slots__ = ("_d_left", "_d_right", "_left", "_right")
    _left: Value
    _right: Value
    _d_left: float
    _d_right: float

    # Read-only here (a sum or product always has exactly two operands), hence the ignore.
    @property
    def _prev(self) -> tuple[Value, ...]:  # type: ignore[override]
        return (self._left, self._right)

    @property
    def _local(self) -> tuple[float, ...]:  # type: ignore[override]
        return (self._d_left, self._d_right)


class _WithConstant(Value):
    """A node of ``a + c`` or ``a * c`` where ``c`` is a plain number (also ``c + a``, ``-a``,
    ``a - c``, ``a / c``...): it keeps the number itself, not a leaf node holding it.

    The graph is the same as with a leaf: ``_prev`` is ``(a, leaf of c)`` and ``_local`` the
    two local derivatives, as on any node. The leaf is made the first time ``_prev`` is read
    (drawing the graph, a topological sort written by hand), with the ``grad`` it would have
    had, ``_local[1] * grad`` (its only user is this node); from then on it is an ordinary
    node that ``backward`` updates like any other. The reason is speed: a leaf per number is
    half the nodes of a chain such as ``v = v * 1.0001 + 0.001``, and nobody usually asks for
    the gradient of a constant.
    """

    __slots__ = ("_constant", "_constant_node", "_d_constant", "_d_left", "_left")
    _left: Value
    _constant: float
    _constant_node: Value | None
    _d_left: float
    _d_constant: float

    @property
    def _prev(self) -> tuple[Value, ...]:  # type: ignore[override]
        leaf = self._constant_node
        if leaf is None:
            leaf = self._constant_node = _node(self._constant, (), "", ())  # checked already
            leaf.grad = self._d_constant * self.grad
        return (self._left, leaf)

    @property
    def _local(self) -> tuple[float, ...]:  # type: ignore[override]
        return (self._d_left, self._d_constant)


def _check_root(root: Any) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"root: expected a Value, got {describe(root)}")
    return root


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on, each once, operands before the nodes made from them.

    The depth-first search keeps its own stack (a Python list) instead of recursing, so the
    depth of the graph is not limited by Python's recursion limit. ``root`` is the last
    element.

    Args:
        root: the output node.

    Returns:
        The nodes in topological order (leaves first, ``root`` last).

    Raises:
        TypeError: if ``root`` is not a ``Value``.
    """
    _check_root(root)
    return _topological_order(root)


def _topological_order(root: Value) -> list[Value]:
    """:func:`topological_order` without the check."""
    order: list[Value] = []
    visited: set[Value] = set()
    # The stack holds nodes still to visit and, below a node's operands, a None marker. When
    # the marker comes back to the top, every operand of the node that pushed it is in
    # ``order``, so that node (the top of ``waiting``) can follow them. A leaf has no
    # operands to wait for: it goes to ``order`` at once.
    stack: list[Value | None] = [root]
    waiting: list[Value] = []
    while stack:
        node = stack.pop()
        if node is None:
            order.append(waiting.pop())
            continue
        if node in visited:  # reached again by another path: already in ``order``
            continue
        visited.add(node)
        if node._prev:
            waiting.append(node)
            stack.append(None)
            stack.extend(node._prev)
        else:
            order.append(node)
    return order


def _backward_order(root: Value) -> list[Value]:
    """The same search as :func:`_topological_order`, tuned for :meth:`Value.backward`.

    It returns only the nodes that have operands (leaves have nothing to pass on, and half
    the nodes of a graph can be constants such as the 2 of ``2 * a``) and sets the ``grad``
    of every node it reaches, leaves included, to 0.
    """
    # Instead of a ``visited`` set, each node reached is stamped with ``visit``, an object
    # made for this one search: "seen already?" is then an attribute read and an ``is``,
    # which costs less than hashing the node into a set (this loop runs once per edge).
    visit = object()
    order: list[Value] = []
    stack: list[Value | None] = [root]
    waiting: list[Value] = []
    # The list methods are looked up once, not on every pass of the loop.
    pop, push, extend = stack.pop, stack.append, stack.extend
    wait, ready, emit = waiting.append, waiting.pop, order.append
    while stack:
        node = pop()
        if node is None:
            emit(ready())
            continue
        if node._visit is visit:
            continue
        node._visit = visit
        node.grad = 0.0
        if type(node) is _Binary:  # its operands are in fields (reading _prev builds a tuple)
            wait(node)
            push(None)
            push(node._left)
            push(node._right)
        elif type(node) is _WithConstant:
            wait(node)
            push(None)
            push(node._left)
            if node._constant_node is not None:
                push(node._constant_node)
        elif node._prev:
            wait(node)
            push(None)
            extend(node._prev)
    return order


def graph(root: Value) -> tuple[list[Value], list[tuple[Value, Value]]]:
    """The nodes and edges of the graph that ends in ``root``, for drawing.

    Returns:
        ``(nodes, edges)``: ``nodes`` in topological order (leaves first, ``root`` last) and
        ``edges`` as ``(operand, result)`` pairs, one per operand slot, so ``b = a + a`` gives
        the edge ``(a, b)`` twice.

    Raises:
        TypeError: if ``root`` is not a ``Value``.
    """
    nodes = topological_order(root)
    edges = [(operand, node) for node in nodes for operand in node._prev]
    return nodes, edges


def backward_naive_recursive(root: Value) -> None:
    """A deliberately WRONG backward pass, kept to show why backpropagation needs an order.

    It sets every gradient to 0 and ``root.grad`` to 1, then lets each node pass its gradient
    to its operands and recurses into each operand straight away, once per edge, without a
    topological order. On a tree (every node used once) this is correct. When a node is used
    twice it goes wrong in two ways: the node is processed once per path that reaches it, and
    it may pass its gradient on before every user has added its share. For
    ``b = a + a; c = b + b`` it gives ``a.grad == 8`` instead of 4: ``b`` is visited twice and
    passes its full gradient 2 to ``a`` twice each time. The recursion also needs one Python
    frame per node along the longest path, so a chain of a few thousand nodes raises
    :class:`RecursionError`, and the work grows with the number of paths, which can be
    exponential in the number of nodes.

    Use :meth:`Value.backward` for real gradients.

    Args:
        root: the output node.

    Raises:
        TypeError: if ``root`` is not a ``Value``.
        RecursionError: when the graph is deeper than Python's recursion limit.
    """
    for node in topological_order(root):
        node.grad = 0.0
    root.grad = 1.0
    try:
        _push_gradient_recursively(root)
    except RecursionError:
        raise RecursionError(
            "backward_naive_recursive needs one Python frame per node along the longest path "
            f"of the graph, and this graph is deeper than the recursion limit "
            f"({sys.getrecursionlimit()}); Value.backward orders the nodes without recursion"
        ) from None


def _push_gradient_recursively(node: Value) -> None:
    node._backward()
    for operand in node._prev:
        _push_gradient_recursively(operand)
