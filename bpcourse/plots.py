"""Matplotlib figures used by the lessons and the explorers.

Every function returns a :class:`matplotlib.figure.Figure` (or draws on an ``ax`` it is given)
and never calls ``plt.show()``; figures are made with the object-oriented API so that nothing
here depends on pyplot's global state. Importing this module changes no rcParams.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

__all__ = [
    "draw_graph",
    "figure_to_png",
    "plot_activation_derivatives",
    "plot_activation_statistics",
    "plot_difference_quotient_errors",
    "plot_gradient_cost",
    "plot_gradient_flow",
    "plot_layer_gradient_norms",
    "plot_loss_curves",
    "plot_quadratic_descent",
    "plot_regression_fits",
    "plot_rnn_gradient_norms",
    "plot_rnn_training",
    "plot_step_size_tradeoff",
    "plot_symbolic_cost",
    "plot_training_flow",
]


def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render ``fig`` with the Agg canvas and return PNG bytes (used by the explorers)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# --- derivatives and the chain rule (lesson 01) ---------------------------------------------


def _curves_1d(
    name: str, curves: object, size: int, parts: int, *, finite: bool = True
) -> dict[str, list[Any]]:
    """Check ``{label: array (K,)}`` (``parts == 1``) or ``{label: (array, array)}``."""
    from bpcourse._validate import as_array, describe

    if not isinstance(curves, Mapping):
        raise TypeError(f"{name}: expected a dict of curves by label, got {describe(curves)}")
    if not curves:
        raise ValueError(f"{name}: expected at least one curve, got an empty dict")
    out: dict[str, list[Any]] = {}
    for label, value in curves.items():
        if not isinstance(label, str):
            raise TypeError(f"{name}: expected str labels, got {describe(label)}")
        items = [value] if parts == 1 else value
        if parts > 1 and (not isinstance(items, (tuple, list)) or len(items) != parts):
            raise TypeError(
                f"{name}[{label!r}]: expected a pair (values, derivatives), got {describe(value)}"
            )
        arrays = []
        for i, item in enumerate(items):
            where = f"{name}[{label!r}]" + (f"[{i}]" if parts > 1 else "")
            arr = as_array(where, item, ndim=1, finite=finite)
            if arr.shape != (size,):
                raise ValueError(
                    f"{where}: expected shape ({size},) like the x values, got {arr.shape}"
                )
            arrays.append(arr)
        out[label] = arrays
    return out


def plot_difference_quotient_errors(
    h: Any,
    errors: Mapping[str, Any],
    *,
    show_rounding: bool = True,
    ylabel: str = "error of the estimate of $f'(x)$",
) -> Figure:
    r"""How far difference quotients are from the true derivative, against the step $h$.

    Both axes are logarithmic. Shrinking $h$ first helps: the truncation error falls like $h$
    for the forward quotient $(f(x+h) - f(x))/h$ and like $h^2$ for the central one
    $(f(x+h) - f(x-h))/(2h)$. Then it hurts: $f(x+h) - f(x)$ is computed with a rounding
    error of about $\varepsilon |f(x)|$ ($\varepsilon \approx 2.2 \times 10^{-16}$ in
    float64), and dividing by $h$ magnifies it to about $\varepsilon / h$. Each curve gets a
    marker at its smallest error.

    Args:
        h: the steps, shape (K,), positive.
        errors: ``{label: errors}`` (absolute or relative), each of shape (K,) and $\ge 0$,
            for example ``{"forward": ..., "central": ...}``. Exact zeros cannot be drawn on
            a log axis and are left out, and so are infinite or NaN entries (a step so small
            that $x + h$ rounds to $x$ gives $0/0$).
        show_rounding: also draw the rounding model $\varepsilon / h$ as a dashed line.
        ylabel: the label of the vertical axis (say whether the errors are absolute or
            relative).

    Returns:
        A figure with one axes.

    Raises:
        TypeError: if ``errors`` is not a dict of arrays by label.
        ValueError: on a shape mismatch, a non-positive or non-finite step, a negative error.
    """
    import numpy as np

    from bpcourse._validate import as_array

    if not isinstance(ylabel, str):
        raise TypeError(f"ylabel: expected a str, got {type(ylabel).__name__}")
    steps = as_array("h", h, ndim=1)
    if steps.size == 0 or np.any(steps <= 0):
        raise ValueError(f"h: expected positive steps in a non-empty 1-D array, got {steps}")
    curves = _curves_1d("errors", errors, steps.size, parts=1, finite=False)
    for label, (err,) in curves.items():
        if np.any(err < 0):
            raise ValueError(f"errors[{label!r}]: expected errors >= 0, got a negative one")
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, (err,) in curves.items():
        keep = np.isfinite(err) & (err > 0)
        (line,) = ax.loglog(steps[keep], err[keep], marker=".", label=label)
        if np.any(keep):
            best = int(np.argmin(np.where(keep, err, np.inf)))
            ax.plot(
                steps[best], err[best], marker="o", markersize=9, markerfacecolor="none",
                color=line.get_color(),
            )  # fmt: skip
            ax.annotate(
                f"best h ≈ {steps[best]:.0e}",
                (steps[best], err[best]),
                textcoords="offset points",
                xytext=(6, -14),
                color=line.get_color(),
                fontsize=9,
            )
    if show_rounding:
        eps = float(np.finfo(np.float64).eps)
        ax.loglog(
            steps,
            eps / steps,
            linestyle="--",
            color="0.5",
            label=r"rounding $\approx\varepsilon/h$",
        )
    ax.set_xlabel("step $h$")
    ax.set_ylabel(ylabel)
    ax.set_title("shrinking h helps, then hurts")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return fig


def plot_activation_derivatives(
    z: Any,
    curves: Mapping[str, tuple[Any, Any]],
    *,
    bounds: Mapping[str, float] | None = None,
) -> Figure:
    r"""Activations (left) and their derivatives (right) on the same inputs.

    Args:
        z: the inputs, shape (K,).
        curves: ``{name: (values, derivatives)}``, each array of shape (K,), for example
            ``{"sigmoid": (sigma(z), sigma'(z)), "tanh": (tanh(z), 1 - tanh(z)**2)}``.
        bounds: ``{label: level}``: horizontal dashed lines on the derivative panel, for
            example ``{"1/4": 0.25}`` for the largest slope of the sigmoid.

    Returns:
        A figure with two axes side by side.

    Raises:
        TypeError: if ``curves`` or ``bounds`` has the wrong kind of entries.
        ValueError: on a shape mismatch or a non-finite value.
    """
    from bpcourse._validate import as_array, check_finite_number, describe

    inputs = as_array("z", z, ndim=1)
    if inputs.size == 0:
        raise ValueError("z: expected at least one input value, got an empty array")
    checked = _curves_1d("curves", curves, inputs.size, parts=2)
    levels: dict[str, float] = {}
    if bounds is not None:
        if not isinstance(bounds, Mapping):
            raise TypeError(f"bounds: expected a dict {{label: level}}, got {describe(bounds)}")
        for label, level in bounds.items():
            if not isinstance(label, str):
                raise TypeError(f"bounds: expected str labels, got {describe(label)}")
            levels[label] = check_finite_number(f"bounds[{label!r}]", level)
    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    ax_f, ax_df = fig.subplots(1, 2, sharex=True)
    for name, (values, slopes) in checked.items():
        ax_f.plot(inputs, values, label=name)
        ax_df.plot(inputs, slopes, label=f"{name}'")
    for label, level in levels.items():
        ax_df.axhline(level, linestyle="--", color="0.4", linewidth=1)
        ax_df.annotate(
            label, (inputs[0], level), textcoords="offset points", xytext=(2, 3), color="0.3"
        )
    for ax, title in ((ax_f, "activation $f(z)$"), (ax_df, "derivative $f'(z)$")):
        ax.axhline(0.0, color="0.8", linewidth=0.8)
        ax.axvline(0.0, color="0.8", linewidth=0.8)
        ax.set_xlabel("$z$")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
    return fig


# --- computational graphs (lesson 02) -------------------------------------------------------

# Geometry of draw_graph, in inches (the figure it makes is sized so that 1 data unit = 1 in).
_GRAPH_MIN_BOX_WIDTH = 1.0
_GRAPH_LINE_HEIGHT = 0.17
_GRAPH_OP_RADIUS = 0.24
_GRAPH_GAP = 0.32  # between a box and the operation circle next to it
_GRAPH_ROW_GAP = 0.28  # between neighbouring boxes of one rank
_GRAPH_WAYPOINT_ROWS = 0.3  # room taken by an edge passing a rank, in rows
_GRAPH_FONT_SIZE = 8.0
_GRAPH_OP_SYMBOLS = {"+": "+", "*": "×", "sigmoid": "σ"}
_GRAPH_COLORS = {"leaf": "#dbe9f6", "inner": "#f0f0f0", "root": "#fde3c8", "op": "#fff4cc"}


def _graph_users(nodes: Sequence[Any]) -> list[list[int]]:
    """For each node (by index in ``nodes``), the indices of the nodes that use it."""
    index = {id(node): i for i, node in enumerate(nodes)}
    users: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        for operand in node._prev:
            users[index[id(operand)]].append(i)
    return users


def _graph_ranks(nodes: Sequence[Any], users: list[list[int]]) -> list[int]:
    """Rank (column) of each node: every node one rank before its earliest user.

    ``nodes`` is in topological order with the output last; the output's rank is the length
    of the longest path to it, so that every rank is >= 0.
    """
    index = {id(node): i for i, node in enumerate(nodes)}
    depth = [0] * len(nodes)  # longest path from an input
    for i, node in enumerate(nodes):
        if node._prev:
            depth[i] = 1 + max(depth[index[id(operand)]] for operand in node._prev)
    rank = list(depth)
    for i in range(len(nodes) - 2, -1, -1):  # users come later in topological order
        if users[i]:
            rank[i] = min(rank[j] for j in users[i]) - 1
    return rank


def _graph_place_rank(
    members: list[int], want: dict[int, float], tie: list[int], size: list[float], row: list[float]
) -> None:
    """Order ``members`` by the row each wants, keep them apart by their sizes, centre them."""
    members.sort(key=lambda i: (want[i], tie[i]))
    placed: list[float] = []
    for k, i in enumerate(members):
        if k == 0:
            placed.append(want[i])
        else:
            least = placed[-1] + (size[members[k - 1]] + size[i]) / 2
            placed.append(max(want[i], least))
    shift = sum(want[i] - p for i, p in zip(members, placed)) / len(members)
    for i, p in zip(members, placed):
        row[i] = p + shift


def _graph_layout(
    nodes: Sequence[Any], sweeps: int = 3
) -> tuple[list[int], list[float], dict[tuple[int, int], list[int]]]:
    """A layered layout: the rank and row of every node and the route of every long edge.

    An edge that skips ranks gets one invisible waypoint per rank it crosses, which takes a
    slice of a row, so long edges run between boxes rather than through them. Rows are then
    set by barycentres: starting from the output, each node (or waypoint) moves to the mean
    row of its neighbours in the next rank; then a few sweeps alternate towards the inputs
    (mean of operands) and back (mean of users).

    Returns:
        ``(rank, row, routes)``: ``rank`` and ``row`` for the nodes followed by the waypoints,
        and ``routes[(i, slot)]``, the waypoints of the edge from operand ``slot`` of node
        ``i`` (empty for an edge between neighbouring ranks).
    """
    index = {id(node): i for i, node in enumerate(nodes)}
    rank = _graph_ranks(nodes, _graph_users(nodes))
    before: list[list[int]] = [[] for _ in nodes]  # neighbours one rank to the left
    after: list[list[int]] = [[] for _ in nodes]  # neighbours one rank to the right
    routes: dict[tuple[int, int], list[int]] = {}
    for i, node in enumerate(nodes):
        for slot, operand in enumerate(node._prev):
            previous = index[id(operand)]
            route = []
            for r in range(rank[previous] + 1, rank[i]):
                waypoint = len(rank)
                rank.append(r)
                before.append([previous])
                after.append([])
                after[previous].append(waypoint)
                route.append(waypoint)
                previous = waypoint
            before[i].append(previous)
            after[previous].append(i)
            routes[(i, slot)] = route

    # Ties are broken by a depth-first walk from the output that takes operands in their
    # order, so that in ``x * w`` the box of x sits above the box of w.
    first_seen: dict[int, int] = {}
    stack = [len(nodes) - 1]
    while stack:
        i = stack.pop()
        if i not in first_seen:
            first_seen[i] = len(first_seen)
            stack.extend(index[id(operand)] for operand in reversed(nodes[i]._prev))
    tie = [first_seen[i] for i in range(len(nodes))] + list(range(len(nodes), len(rank)))
    # A node needs a whole row; a waypoint only room for a line beside its neighbours.
    size = [1.0] * len(nodes) + [_GRAPH_WAYPOINT_ROWS] * (len(rank) - len(nodes))

    by_rank: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for i, r in enumerate(rank):
        by_rank[r].append(i)
    row = [0.0] * len(rank)

    def towards_inputs() -> None:
        for r in range(len(by_rank) - 2, -1, -1):
            members = by_rank[r]
            want = {i: sum(row[j] for j in after[i]) / len(after[i]) for i in members}
            _graph_place_rank(members, want, tie, size, row)

    def towards_output() -> None:
        for r in range(1, len(by_rank)):
            members = by_rank[r]
            want = {
                i: sum(row[j] for j in before[i]) / len(before[i]) if before[i] else row[i]
                for i in members
            }
            _graph_place_rank(members, want, tie, size, row)

    towards_inputs()
    for _ in range(sweeps):
        towards_output()
        towards_inputs()
    return rank, row, routes


def draw_graph(
    root: Any,
    ax: Any = None,
    show_grad: bool = True,
    rankdir: str = "LR",
    max_nodes: int = 60,
) -> Figure:
    """Draw the computational graph that ends in ``root``, with each node's data and grad.

    Every :class:`~bpcourse.engine.Value` is a box showing its label (if any), ``data`` and
    ``grad``; every operation is a small circle with its symbol, placed just before the node
    it produced, with arrows from its operands. An operand used twice by one operation
    (``a + a``) gets two arrows. Inputs are coloured blue, the output orange. The layout is
    layered: a node's rank is one more than its deepest operand, and each input sits one rank
    before its first use. Only matplotlib is used (no Graphviz).

    Call ``root.backward()`` first to show gradients; before that every ``grad`` is 0.

    Args:
        root: the output :class:`~bpcourse.engine.Value` of the graph.
        ax: matplotlib Axes to draw on (text and lines are scaled down to fit it); by
            default a new figure sized to the graph (1 data unit = 1 inch).
        show_grad: show the ``grad`` line in each box.
        rankdir: ``"LR"`` (inputs on the left, output on the right) or ``"TB"`` (inputs at the
            top, output at the bottom).
        max_nodes: refuse graphs with more Value nodes than this: the drawing is meant for
            graphs of up to a few dozen nodes (a neuron, a tiny layer); beyond that it is
            unreadable and the figure grows to many inches.

    Returns:
        The figure drawn on.

    Raises:
        TypeError: if ``root`` is not a ``Value``, ``ax`` is not an Axes or ``show_grad`` is
            not a bool.
        ValueError: if ``rankdir`` is unknown or the graph has more than ``max_nodes`` nodes.

    Example:
        >>> from bpcourse.engine import Value
        >>> x, w, b = Value(2.0, "x"), Value(-0.5, "w"), Value(0.3, "b")
        >>> o = (x * w + b).tanh()
        >>> o.backward()
        >>> fig = draw_graph(o)
    """
    from matplotlib.axes import Axes
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    from bpcourse._validate import check_choice, check_positive_int, describe
    from bpcourse.engine import Value, format_number, graph

    if not isinstance(root, Value):
        raise TypeError(f"root: expected a bpcourse.engine.Value, got {describe(root)}")
    if not isinstance(show_grad, bool):
        raise TypeError(f"show_grad: expected True or False, got {describe(show_grad)}")
    check_choice("rankdir", rankdir, ["LR", "TB"])
    max_nodes = check_positive_int("max_nodes", max_nodes)
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax: expected a matplotlib Axes or None, got {describe(ax)}")
    nodes, _ = graph(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"root: the graph has {len(nodes)} nodes, more than max_nodes={max_nodes}; "
            "a drawing that large is unreadable (pass a larger max_nodes to draw it anyway)"
        )

    rank, row, routes = _graph_layout(nodes)
    has_labels = any(node.label for node in nodes)
    lines_per_box = int(has_labels) + 1 + int(show_grad)
    # Box width from the longest line: monospace digits are ~0.6 em wide, bold labels ~0.65.
    em = _GRAPH_FONT_SIZE / 72
    longest = max(
        max(0.6 * len(f"data {format_number(n.data)}"), 0.6 * len(f"grad {format_number(n.grad)}"))
        for n in nodes
    )
    longest = max(longest, max(0.65 * len(n.label) for n in nodes))
    box_w = max(_GRAPH_MIN_BOX_WIDTH, longest * em + 0.2)
    box_h = _GRAPH_LINE_HEIGHT * lines_per_box + 0.16
    radius, gap = _GRAPH_OP_RADIUS, _GRAPH_GAP
    # Along the ranks a box takes box_w (LR) or box_h (TB); across them, the other one.
    along, across = (box_w, box_h) if rankdir == "LR" else (box_h, box_w)
    rank_step = along + 2 * gap + 2 * radius
    row_step = across + _GRAPH_ROW_GAP
    # Layout coordinates: r along the ranks, p across them, both in inches.
    centre = [(k * rank_step, q * row_step) for k, q in zip(rank, row)]

    def to_xy(r: float, p: float) -> tuple[float, float]:
        return (r, -p) if rankdir == "LR" else (p, -r)

    margin = 0.15
    r_lo = min(r for r, _ in centre) - along / 2 - margin
    r_hi = max(r for r, _ in centre) + along / 2 + margin
    p_lo = min(p for _, p in centre) - across / 2 - margin
    p_hi = max(p for _, p in centre) + across / 2 + margin
    (x_lo, y_hi), (x_hi, y_lo) = to_xy(r_lo, p_lo), to_xy(r_hi, p_hi)
    if ax is None:
        fig = Figure(figsize=(x_hi - x_lo, y_hi - y_lo))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        scale = 1.0
    else:
        parent = ax.figure  # a Figure, or a SubFigure whose .figure is the Figure
        fig = parent if isinstance(parent, Figure) else parent.figure
        # Text and lines shrink with the inches the given axes have per layout inch.
        extent = ax.get_window_extent()
        scale = min(extent.width / (x_hi - x_lo), extent.height / (y_hi - y_lo)) / fig.dpi
    font_size = _GRAPH_FONT_SIZE * scale
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")
    ax.set_axis_off()

    text_style: dict[str, Any] = {"ha": "center", "va": "center", "zorder": 4}
    arrow_style: dict[str, Any] = {
        "arrowstyle": "-|>",
        "mutation_scale": 9 * scale,
        "color": "0.3",
        "linewidth": 0.9 * scale,
        "shrinkA": 0,
        "shrinkB": 0,
        "zorder": 2,
    }
    index = {id(node): i for i, node in enumerate(nodes)}
    for i, node in enumerate(nodes):
        r, p = centre[i]
        x, y = to_xy(r, p)
        kind = "root" if node is root else ("inner" if node._prev else "leaf")
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=_GRAPH_COLORS[kind],
                edgecolor="0.35",
                linewidth=0.8 * scale,
                zorder=3,
            )
        )
        values = [f"data {format_number(node.data)}"]
        if show_grad:
            values.append(f"grad {format_number(node.grad)}")
        y_values = y
        if node.label:
            y_values = y - _GRAPH_LINE_HEIGHT / 2
            y_label = y + _GRAPH_LINE_HEIGHT * len(values) / 2
            ax.text(x, y_label, node.label, fontsize=font_size, fontweight="bold", **text_style)
        ax.text(
            x,
            y_values,
            "\n".join(values),
            fontsize=font_size,
            family="monospace",
            linespacing=1.3,
            **text_style,
        )
        if not node._prev:
            continue

        # The operation: a circle just before the node, an arrow into the node, and one
        # arrow from each operand (along its route past the ranks it skips).
        op_r = r - along / 2 - gap - radius
        ax.add_patch(
            Circle(
                to_xy(op_r, p),
                radius,
                facecolor=_GRAPH_COLORS["op"],
                edgecolor="0.35",
                linewidth=0.8 * scale,
                zorder=3,
            )
        )
        symbol = _GRAPH_OP_SYMBOLS.get(node._op, node._op)
        ax.text(*to_xy(op_r, p), symbol, fontsize=0.9 * font_size, **text_style)
        ax.add_patch(
            FancyArrowPatch(to_xy(op_r + radius, p), to_xy(r - along / 2, p), **arrow_style)
        )
        for slot, operand in enumerate(node._prev):
            j = index[id(operand)]
            copies = [k for k, o in enumerate(node._prev) if o is operand]
            # An operand used more than once (a + a): one arrow per use, bent apart.
            spread = 0.0 if len(copies) == 1 else copies.index(slot) - (len(copies) - 1) / 2
            points = [(centre[j][0] + along / 2, centre[j][1] + 0.12 * spread)]
            for waypoint in routes[(i, slot)]:
                wr, wp = centre[waypoint]
                points += [(wr - along / 2, wp), (wr + along / 2, wp)]
            (r0, p0), (dr, dp) = points[-1], (op_r - points[-1][0], p - points[-1][1])
            norm = max((dr * dr + dp * dp) ** 0.5, 1e-9)
            end = (op_r - radius * dr / norm, p - radius * dp / norm)
            if len(points) > 1:  # the straight part of a long edge, up to its last waypoint
                path = [to_xy(*q) for q in points]
                ax.plot(*zip(*path), color="0.3", linewidth=0.9 * scale, zorder=2)
            ax.add_patch(
                FancyArrowPatch(
                    to_xy(r0, p0),
                    to_xy(*end),
                    connectionstyle=f"arc3,rad={0.3 * spread}",
                    **arrow_style,
                )
            )
    return fig


# --- gradient checking (lesson 03) ----------------------------------------------------------


def plot_step_size_tradeoff(
    steps: Any,
    errors: Mapping[str, Any],
    *,
    rounding: Mapping[str, float] | None = None,
    ax: Any = None,
    title: str = "relative error of a gradient check against the step $h$",
) -> Figure:
    r"""Relative error of numerical gradients against the step $h$, one curve per method.

    Both axes are logarithmic. A finite-difference curve is a V: on the right the truncation
    error (like $h^2$ for central differences) dominates, on the left the rounding error
    (about $\varepsilon / h$, $\varepsilon$ the machine epsilon of the precision used). Each
    curve gets a ring at its smallest error, labelled with that step and error, so the
    precisions can be compared at a glance (float64 central differences bottom out near
    $h \approx 10^{-5}$, float32 near $10^{-2}$ to $10^{-3}$, the complex step keeps falling to
    machine precision).

    Args:
        steps: the steps $h$, shape (K,), positive and finite: those of every curve given as
            a plain array, and the range of the $\varepsilon / h$ lines.
        errors: ``{label: relative errors}``, each of shape (K,), for example the results of
            :func:`bpcourse.gradcheck.step_size_sweep` for several methods and precisions.
            A curve measured at other steps is given as a pair ``(its_steps, its_errors)``
            of two (M,) arrays (e.g. float32 only at steps that do not vanish in $x + h$).
            Entries must be $\ge 0$ or NaN/inf; NaN and inf (an estimate that could not be
            formed) and exact zeros cannot be drawn on a log axis and are left out.
        rounding: ``{label: epsilon}``: for each, a dashed line $\varepsilon / h$ (the
            rounding model), e.g. ``{"float64": 2.2e-16, "float32": 1.2e-7}``.
        ax: a matplotlib Axes to draw on; by default a new figure with one axes.
        title: the axes title.

    Returns:
        The figure drawn on.

    Raises:
        TypeError: if ``errors`` or ``rounding`` is not a dict by str label, or ``title`` is
            not a str.
        ValueError: on a shape mismatch, a non-positive or non-finite step, a negative error,
            an empty dict, or a non-positive epsilon.
    """
    import numpy as np

    from bpcourse._validate import as_array, check_positive_number, describe

    if not isinstance(title, str):
        raise TypeError(f"title: expected a str, got {describe(title)}")
    h = as_array("steps", steps, ndim=1)
    if h.size == 0 or np.any(h <= 0):
        raise ValueError(f"steps: expected positive steps in a non-empty 1-D array, got {h}")
    if not isinstance(errors, Mapping):
        raise TypeError(f"errors: expected a dict of error curves by label, got {describe(errors)}")
    if not errors:
        raise ValueError("errors: expected at least one curve, got an empty dict")
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, values in errors.items():
        if not isinstance(label, str):
            raise TypeError(f"errors: expected str labels, got {describe(label)}")
        where = f"errors[{label!r}]"
        if isinstance(values, tuple):
            if len(values) != 2:
                raise TypeError(f"{where}: expected a pair (steps, errors), got {describe(values)}")
            h_k = as_array(f"{where}[0]", values[0], ndim=1)
            if h_k.size == 0 or np.any(h_k <= 0):
                raise ValueError(f"{where}[0]: expected positive steps, got {h_k}")
            err = as_array(f"{where}[1]", values[1], ndim=1, finite=False)
            shape_of = f"{where}[0]"
        else:
            h_k = h
            err = as_array(where, values, ndim=1, finite=False)
            shape_of = "steps"
        if err.shape != h_k.shape:
            raise ValueError(
                f"{where}: expected shape {h_k.shape} like {shape_of}, got shape {err.shape}"
            )
        if np.any(err < 0):
            raise ValueError(f"{where}: expected errors >= 0, got a negative one")
        curves[label] = (h_k, err)
    epsilons: dict[str, float] = {}
    if rounding is not None:
        if not isinstance(rounding, Mapping):
            raise TypeError(
                f"rounding: expected a dict {{label: epsilon}}, got {describe(rounding)}"
            )
        for label, eps in rounding.items():
            if not isinstance(label, str):
                raise TypeError(f"rounding: expected str labels, got {describe(label)}")
            epsilons[label] = check_positive_number(f"rounding[{label!r}]", eps)

    if ax is None:
        fig = Figure(figsize=(7.0, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    for k, (label, (h_k, err)) in enumerate(curves.items()):
        keep = np.isfinite(err) & (err > 0)
        # earlier curves on top: where two methods share a branch, the first one stays visible
        order = 3.0 + len(curves) - k
        (line,) = ax.loglog(h_k[keep], err[keep], marker=".", label=label, zorder=order)
        if not np.any(keep):
            continue
        best = int(np.argmin(np.where(keep, err, np.inf)))
        ax.plot(
            h_k[best], err[best], marker="o", markersize=10, markerfacecolor="none",
            color=line.get_color(), zorder=order,
        )  # fmt: skip
        ax.annotate(
            f"h={h_k[best]:.0e}: {err[best]:.0e}",
            (h_k[best], err[best]),
            textcoords="offset points",
            xytext=(6, -13),
            color=line.get_color(),
            fontsize=8,
        )
    dashes = ("--", ":", "-.")
    for k, (label, eps) in enumerate(epsilons.items()):
        ax.loglog(
            h, eps / h, linestyle=dashes[k % len(dashes)], linewidth=1, color="0.45",
            label=f"ε/h ({label})", zorder=2.0,
        )  # fmt: skip
    finite = np.concatenate([e[np.isfinite(e) & (e > 0)] for _, e in curves.values()])
    if finite.size:
        ax.set_ylim(max(finite.min() / 30, 1e-18), min(max(finite.max() * 5, 1e-12), 10.0))
    ax.set_xlabel("step $h$")
    ax.set_ylabel("relative error (largest entry)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


# --- training and the learning rate (lesson 04) ---------------------------------------------


def _log_y(ax: Any, minor: bool = False) -> None:
    """Log-scale y axis with plain-text tick labels ("1e-08"): mathtext labels cost ~10 ms each.

    With ``minor`` the minor ticks stay and some are labelled when the axis spans few decades.
    """
    from matplotlib.ticker import LogFormatter, LogLocator, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=5))
    ax.yaxis.set_major_formatter(LogFormatter(base=10.0, labelOnlyBase=True))
    if minor:
        ax.yaxis.set_minor_formatter(LogFormatter(base=10.0, labelOnlyBase=False))
    else:
        ax.yaxis.set_minor_locator(NullLocator())


def _pin_labels(ax: Any) -> None:
    """Place the axis labels at fixed offsets instead of measuring the tick labels each draw."""
    ax.xaxis.set_label_coords(0.5, -0.12)
    ax.yaxis.set_label_coords(-0.13, 0.5)


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    """Return ``(figure, ax)``: the given axes and its figure, or a new single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.88)
    return fig, fig.add_subplot()


def plot_loss_curves(
    results: Any,
    labels: Sequence[str] | None = None,
    ax: Any = None,
    log_y: bool = True,
    title: str | None = None,
) -> Figure:
    """Training (solid) and validation (dashed) loss per epoch of one or more training runs.

    A run that diverged ends with a cross at its last finite loss and the text
    "diverged at epoch k", so a blow-up is shown as an event rather than as a vertical line.

    Args:
        results: a :class:`bpcourse.dynamics.TrainResult` or a list of them.
        labels: one legend label per run (default: the run's optimizer and learning rate).
        ax: a matplotlib axes to draw on; a new figure is made when omitted.
        log_y: logarithmic loss axis.
        title: axes title.

    Returns:
        The figure drawn on.
    """
    runs = list(results) if isinstance(results, (list, tuple)) else [results]
    if not runs:
        raise ValueError("results: expected at least one TrainResult, got an empty list")
    for i, run in enumerate(runs):
        if not hasattr(run, "train_loss") or not hasattr(run, "val_loss"):
            raise TypeError(
                f"results[{i}]: expected a TrainResult from bpcourse.dynamics.train, "
                f"got {type(run).__name__}"
            )
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"labels: expected {len(runs)} labels (one per run), got {len(labels)}")
    fig, ax = _new_axes(ax, (6.0, 3.6))
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for i, run in enumerate(runs):
        config = getattr(run, "config", {}) or {}
        label = (
            labels[i]
            if labels is not None
            else f"{config.get('optimizer', 'run')}, lr = {config.get('lr', float('nan')):.3g}"
        )
        epochs = run.epochs
        ax.plot(epochs, run.train_loss, color=colors[i], lw=1.6, label=label)
        ax.plot(epochs, run.val_loss, color=colors[i], lw=1.2, ls="--", label="_validation")
        if run.diverged:
            ax.plot(epochs[-1], run.train_loss[-1], "x", color=colors[i], ms=10, mew=2.5)
            ax.annotate(
                f"diverged at epoch {run.diverged_epoch}",
                (epochs[-1], run.train_loss[-1]),
                xytext=(8, 0),
                textcoords="offset points",
                color=colors[i],
                fontsize=9,
                va="center",
            )
    if log_y:
        _log_y(ax, minor=True)
    max_epochs = max(int(getattr(r, "config", {}).get("num_epochs", r.epochs[-1])) for r in runs)
    ax.set_xlim(0, max(max_epochs, 1) * (1.25 if any(r.diverged for r in runs) else 1.0))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    from matplotlib.lines import Line2D

    handles, names = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.4"), Line2D([], [], color="0.4", ls="--")]
    names += ["train", "validation"]
    ax.legend(handles, names, fontsize=8, loc="upper right")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return fig


def plot_quadratic_descent(
    trajectory: Any,
    curvature: Any,
    lr: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Figure:
    r"""Gradient-descent iterates on a quadratic bowl.

    One dimension: the parabola $f(x) = \tfrac{c}{2}x^2$ with the iterates $x_0, x_1, \dots$
    drawn on it and joined in order, so that a zig-zag (oscillation) or an outward spiral
    (divergence) is visible. Two dimensions: level sets of $\tfrac12(c_1 x_1^2 + c_2 x_2^2)$
    and the path of the iterates.

    Args:
        trajectory: ``(K,)`` from :func:`bpcourse.dynamics.quadratic_descent` or ``(K, 2)``
            from :func:`bpcourse.dynamics.quadratic_descent_2d`.
        curvature: $c$ (a number) for 1-D, $(c_1, c_2)$ for 2-D.
        lr: the learning rate, shown in the title with the threshold $2/c$.
        ax: axes to draw on (a new figure when omitted).
        title: overrides the automatic title.

    Returns:
        The figure drawn on.
    """
    import numpy as np

    traj = np.asarray(trajectory, dtype=float)
    if traj.ndim not in (1, 2) or (traj.ndim == 2 and traj.shape[1] != 2) or traj.shape[0] < 1:
        raise ValueError(f"trajectory: expected shape (K,) or (K, 2), got shape {traj.shape}")
    curv = np.atleast_1d(np.asarray(curvature, dtype=float))
    if curv.shape != ((1,) if traj.ndim == 1 else (2,)) or not np.all(curv > 0):
        raise ValueError(
            f"curvature: expected {'one positive number' if traj.ndim == 1 else 'two positive'}"
            f" curvature(s) for a trajectory of shape {traj.shape}, "
            f"got {np.asarray(curvature).tolist()}"
        )
    fig, ax = _new_axes(ax, (5.0, 3.6))
    start = float(np.max(np.abs(traj[0]))) or 1.0
    # show the iterates that stay within a window around the start (divergence leaves it)
    inside = np.all(np.abs(traj).reshape(len(traj), -1) <= 4.0 * start, axis=1)
    n_shown = int(np.argmin(inside)) if not inside.all() else len(traj)
    shown = traj[: max(n_shown, 1)]
    if traj.ndim == 1:
        c = float(curv[0])
        half = 1.15 * max(float(np.max(np.abs(shown))), start)
        xs = np.linspace(-half, half, 200)
        ax.plot(xs, 0.5 * c * xs**2, color="0.6", lw=1.2)
        points = np.column_stack([shown, 0.5 * c * shown**2])
        ax.set_xlabel("$x$")
        ax.set_ylabel(r"$f(x) = \frac{c}{2}x^2$")
        limit = 2.0 / c
    else:
        half = 1.15 * max(float(np.max(np.abs(shown))), start)
        g = np.linspace(-half, half, 120)
        G1, G2 = np.meshgrid(g, g)
        ax.contour(G1, G2, 0.5 * (curv[0] * G1**2 + curv[1] * G2**2), levels=10, colors="0.7")
        points = shown
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        limit = 2.0 / float(curv.max())
    ax.plot(points[:, 0], points[:, 1], "-o", color="C0", ms=3.5, lw=1)
    ax.plot(points[:1, 0], points[:1, 1], "o", color="C3", ms=7)
    ax.annotate(
        "start", points[0], xytext=(6, 6), textcoords="offset points", color="C3", fontsize=9
    )
    if title is None:
        if n_shown < len(traj):
            status = f"diverging (leaves the plot after step {n_shown - 1})"
        else:
            status = f"{len(traj) - 1} steps"
        title = status if lr is None else f"lr = {lr:.3g}, 2/c = {limit:.3g}: {status}"
    ax.set_title(title, fontsize=10)
    return fig


def plot_regression_fits(
    X: Any,
    y: Any,
    models: Any,
    labels: Sequence[str] | None = None,
    X_val: Any = None,
    y_val: Any = None,
    ax: Any = None,
    title: str | None = None,
) -> Figure:
    """One-input regression: the data points and the curve each model predicts.

    Training points are drawn filled, validation points (if given) hollow, so that a curve
    that threads every training point but misses the validation points (overfitting) and a
    curve too stiff to follow either (underfitting) are easy to tell apart.

    Args:
        X: ``(N, 1)`` training inputs, as the models expect them (already scaled if the
            models were trained on scaled inputs).
        y: ``(N, 1)`` or ``(N,)`` training targets.
        models: one model or a list of them; each needs ``forward(X) -> (M, 1)``.
        labels: one legend label per model.
        X_val: ``(M, 1)`` validation inputs, optional.
        y_val: their targets (required with ``X_val``).
        ax: axes to draw on (a new figure when omitted).
        title: axes title.

    Returns:
        The figure drawn on.
    """
    import numpy as np

    from bpcourse._validate import as_array

    X_tr = as_array("X", X, ndim=2)
    y_tr = as_array("y", y, ndim=(1, 2)).reshape(-1)
    if X_tr.shape[1] != 1 or y_tr.shape[0] != X_tr.shape[0]:
        raise ValueError(
            f"X, y: expected X of shape (N, 1) and N targets, got X of shape {X_tr.shape} "
            f"and {y_tr.shape[0]} targets"
        )
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val, y_val: pass both or neither")
    points = [X_tr[:, 0]]
    if X_val is not None:
        Xv = as_array("X_val", X_val, ndim=2)
        yv = as_array("y_val", y_val, ndim=(1, 2)).reshape(-1)
        if Xv.shape[1] != 1 or yv.shape[0] != Xv.shape[0]:
            raise ValueError(
                f"X_val, y_val: expected X_val of shape (M, 1) and M targets, got X_val of "
                f"shape {Xv.shape} and {yv.shape[0]} targets"
            )
        points.append(Xv[:, 0])
    fits = list(models) if isinstance(models, (list, tuple)) else [models]
    if not fits or not all(hasattr(m, "forward") for m in fits):
        raise TypeError("models: expected a model with forward(X), or a list of them")
    if labels is not None and len(labels) != len(fits):
        raise ValueError(f"labels: expected {len(fits)} labels (one per model), got {len(labels)}")
    fig, ax = _new_axes(ax, (5.5, 3.6))
    everything = np.concatenate(points)
    low, high = float(everything.min()), float(everything.max())
    pad = 0.05 * max(high - low, 1e-12)
    grid = np.linspace(low - pad, high + pad, 300)[:, None]
    for i, model in enumerate(fits):
        with np.errstate(all="ignore"):
            curve = np.asarray(model.forward(grid), dtype=float).reshape(-1)
        name = labels[i] if labels is not None else f"model {i + 1}"
        ax.plot(grid[:, 0], curve, color=f"C{i % 10}", lw=1.8, label=name)
    ax.plot(X_tr[:, 0], y_tr, "o", color="0.2", ms=4, label="training data")
    if X_val is not None:
        ax.plot(Xv[:, 0], yv, "o", mfc="none", mec="0.2", ms=5, label="validation data")
    span = np.concatenate([y_tr] + ([yv] if X_val is not None else []))
    margin = 0.25 * max(float(span.max() - span.min()), 1e-12)
    ax.set_ylim(float(span.min()) - margin, float(span.max()) + margin)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=8, loc="best")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return fig


# --- gradient flow (lesson 05) --------------------------------------------------------------


_KEY = {"fontsize": 8, "va": "top"}


class _NormsPanel:
    """Per-layer gradient norms on one axes, as artists that :meth:`update` refills.

    Building the axes, bars and legend once and then only changing their data keeps a redraw
    in the tens of milliseconds, which is what lets the explorer follow a slider.
    """

    def __init__(self, ax: Any, ylabel: str) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.ticker import MaxNLocator

        self.ax = ax
        _log_y(ax)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=1))
        self.bars = PolyCollection([], facecolors="C0", edgecolors="none")
        ax.add_collection(self.bars)
        (self.predicted,) = ax.plot([], [], "-", color="C1", lw=2)
        (self.missing,) = ax.plot([], [], "v", color="C3", ms=7)
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_ylabel(ylabel)
        _pin_labels(ax)
        # plain texts instead of a legend: a legend re-packs its boxes on every draw (~15 ms)
        ax.text(0.02, 0.96, "bars: measured", transform=ax.transAxes, color="C0", **_KEY)
        self.key = ax.text(0.98, 0.96, "", transform=ax.transAxes, color="C1", ha="right", **_KEY)

    def update(self, norms: Any, prediction: Any = None, title: str | None = None) -> None:
        import numpy as np

        values = np.asarray(norms, dtype=float)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"norms: expected a 1-D array with one norm per layer, got shape {values.shape}"
            )
        depth = values.size
        layers = np.arange(1, depth + 1, dtype=float)
        good = np.isfinite(values) & (values > 0)
        low = float(values[good].min()) if good.any() else 1e-16
        high = float(values[good].max()) if good.any() else 1.0
        label = "no prediction for this setting"
        px, py = np.empty(0), np.empty(0)
        if prediction is not None:
            scale = np.asarray(getattr(prediction, "scale", prediction), dtype=float)
            if scale.shape != values.shape:
                raise ValueError(
                    f"prediction: expected {depth} relative scales (one per layer), "
                    f"got shape {scale.shape}"
                )
            anchor = values[-1] if good[-1] else high
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                predicted = scale * anchor
            keep = np.isfinite(predicted) & (predicted > 0)
            px, py = layers[keep], predicted[keep]
            label = str(getattr(prediction, "description", "prediction"))
            if keep.any():
                low, high = min(low, float(py.min())), max(high, float(py.max()))
        bottom = low / 3.0
        # head room on the log scale for the legend: a third of the decades shown
        top = high * 10.0 ** (0.35 * (np.log10(high / low) + 1.0))
        self.bars.set_verts(
            [
                [(x - 0.4, bottom), (x - 0.4, v), (x + 0.4, v), (x + 0.4, bottom)]
                for x, v in zip(layers[good], values[good])
            ]
        )
        self.predicted.set_data(px, py)
        bad = ~good
        self.missing.set_data(layers[bad], np.full(int(bad.sum()), low))
        self.key.set_text(label)
        notes = [title] if title else []
        if depth > 1 and good[0] and good[-1]:
            notes.append(f"last/first {values[-1] / values[0]:.2g}")
        if bad.any():
            notes.append("▼: 0 (underflow) or overflow")
        self.ax.set_xlim(0.3, depth + 0.7)
        self.ax.set_ylim(bottom, top)
        self.ax.set_title(" · ".join(notes), fontsize=9, y=1.0)


class _FlowPanel:
    """Relative weight change of the first, a middle and the last layer against the epoch."""

    floor = 1e-16

    def __init__(self, ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        self.ax = ax
        _log_y(ax)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=1))
        self.lines = [ax.plot([], [], "-o", ms=3, color=f"C{i + 2}")[0] for i in range(3)]
        ax.set_ylim(self.floor / 3, 1e10)  # head room above 1 for the keys
        ax.set_xlabel("epoch")
        ax.set_ylabel("‖W − W₀‖/‖W₀‖")
        _pin_labels(ax)
        self.keys = [
            ax.text(x, 0.96, "", transform=ax.transAxes, color=f"C{i + 2}", **_KEY)
            for i, x in enumerate((0.03, 0.35, 0.67))
        ]

    def update(self, run: Any, title: str | None = None) -> None:
        import numpy as np

        if not hasattr(run, "weight_change") or not hasattr(run, "train_loss"):
            raise TypeError(f"run: expected a TrainResult, got {type(run).__name__}")
        change = np.asarray(run.weight_change, dtype=float)
        n_layers = change.shape[1]
        picks = [0, (n_layers - 1) // 2, n_layers - 1]
        names = ["first", "middle", "last"]
        for i, (line, key, l) in enumerate(zip(self.lines, self.keys, picks)):
            shown = l not in picks[:i]
            values = np.maximum(change[1:, l], self.floor)
            line.set_data(np.arange(1, len(values) + 1), values)
            line.set_visible(shown)
            key.set_text(f"● {names[i]} ({l + 1})" if shown else "")
        self.ax.set_xlim(0.5, max(len(change) - 1, 1) + 0.5)
        if title is None:
            if run.diverged:
                title = f"training diverged at epoch {run.diverged_epoch}"
            else:
                title = f"loss {run.train_loss[0]:.3g} → {run.train_loss[-1]:.3g}"
        self.ax.set_title(title, fontsize=9, y=1.0)


def plot_layer_gradient_norms(
    norms: Any,
    prediction: Any = None,
    ax: Any = None,
    title: str | None = None,
    ylabel: str = "gradient norm ‖∂L/∂b‖",
) -> Figure:
    """Per-layer gradient norms as bars on a log scale, first layer on the left.

    Args:
        norms: ``(depth,)`` from :func:`bpcourse.dynamics.layer_gradient_norms`. Zeros
            (underflow) and infinities (overflow) are marked with a triangle at the bottom
            instead of a bar.
        prediction: a :class:`bpcourse.dynamics.GradientScalePrediction`, or a ``(depth,)``
            array of relative scales (last layer = 1); drawn as a line through the last
            layer's measured norm, with its description in the legend.
        ax: axes to draw on (a new figure when omitted).
        title: axes title.
        ylabel: label of the norm axis.

    Returns:
        The figure drawn on.
    """
    fig, ax = _new_axes(ax, (5.5, 3.6))
    _NormsPanel(ax, ylabel).update(norms, prediction, title)
    return fig


def plot_training_flow(run: Any, ax: Any = None, title: str | None = None) -> Figure:
    r"""How far the first, a middle and the last layer moved during a training run.

    Plots $\|W^l_k - W^l_0\|_F / \|W^l_0\|_F$ against the epoch $k$ on a log scale: with
    vanishing gradients the first layer's line stays orders of magnitude below the last's.
    Values below $10^{-16}$ (no visible movement in float64) are drawn at $10^{-16}$.

    Args:
        run: a :class:`bpcourse.dynamics.TrainResult`.
        ax: axes to draw on (a new figure when omitted).
        title: axes title (default: the loss before and after, or where it diverged).

    Returns:
        The figure drawn on.
    """
    if not hasattr(run, "weight_change"):
        raise TypeError(f"run: expected a TrainResult, got {type(run).__name__}")
    fig, ax = _new_axes(ax, (5.5, 3.6))
    _FlowPanel(ax).update(run, title)
    return fig


def plot_activation_statistics(stats: Any, ax: Any = None, title: str | None = None) -> Figure:
    """Mean ± std of the activations per layer, with the saturated fraction on a second axis.

    Args:
        stats: a :class:`bpcourse.dynamics.LayerStatistics`.
        ax: axes to draw on (a new figure when omitted).
        title: axes title (default: the activation's name).

    Returns:
        The figure drawn on.
    """
    import numpy as np

    for attr in ("mean", "std", "saturation", "saturation_rule"):
        if not hasattr(stats, attr):
            raise TypeError(f"stats: expected a LayerStatistics, got {type(stats).__name__}")
    mean, std = np.asarray(stats.mean, dtype=float), np.asarray(stats.std, dtype=float)
    layers = np.arange(1, mean.size + 1)
    own_figure = ax is None
    fig, ax = _new_axes(ax, (5.5, 3.6))
    if own_figure:
        fig.subplots_adjust(right=0.86)  # room for the second axis' label
    ax.plot(layers, mean, "-o", ms=3, color="C0", label="mean activation")
    ax.fill_between(layers, mean - std, mean + std, color="C0", alpha=0.2, label="± std")
    ax.set_xlabel("layer")
    ax.set_ylabel("activation")
    twin = ax.twinx()
    twin.plot(
        layers,
        100 * np.asarray(stats.saturation),
        "--s",
        ms=3,
        color="C3",
        label=f"saturated: {stats.saturation_rule}",
    )
    twin.set_ylim(0, 105)
    twin.set_ylabel("saturated (%)", color="C3")
    handles = ax.get_legend_handles_labels()
    twin_handles = twin.get_legend_handles_labels()
    ax.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], fontsize=8)
    ax.set_title(title if title is not None else str(getattr(stats, "activation", "")), fontsize=10)
    return fig


class GradientFlowFigure:
    """The gradient-flow explorer's figure, built once and refilled by :meth:`update`.

    Left: :func:`plot_layer_gradient_norms` at initialisation with the prediction; right:
    :func:`plot_training_flow` of a short run. Reusing the figure makes a redraw several times
    cheaper than building a new one, which keeps the explorer responsive.

    Example:
        >>> from bpcourse.dynamics import gradient_flow_experiment
        >>> view = GradientFlowFigure()
        >>> view.update(gradient_flow_experiment(depth=5))
        >>> view.to_png()[:4]
        b'\\x89PNG'
    """

    def __init__(self, figsize: tuple[float, float] = (10.0, 3.6), dpi: int = 72) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.dpi = dpi
        self.figure = Figure(figsize=figsize)
        FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.08, right=0.99, bottom=0.14, top=0.9, wspace=0.25)
        left, right = self.figure.subplots(1, 2)
        self._norms = _NormsPanel(left, "‖∂L/∂b‖ at init")
        self._flow = _FlowPanel(right)

    def update(self, report: Any) -> None:
        """Show a :class:`bpcourse.dynamics.GradientFlowReport`."""
        for attr in ("norms", "prediction", "run", "settings"):
            if not hasattr(report, attr):
                raise TypeError(
                    f"report: expected a GradientFlowReport, got {type(report).__name__}"
                )
        s = report.settings
        self._norms.update(
            report.norms,
            report.prediction,
            f"{s['activation']}, {s['init']}, depth {s['depth']}, width {s['width']}",
        )
        run = report.run
        outcome = (
            f"diverged at epoch {run.diverged_epoch}"
            if run.diverged
            else f"loss {run.train_loss[0]:.3g} → {run.train_loss[-1]:.3g}"
        )
        clip = s.get("clip")
        clip_text = f", clip {clip[0]} {clip[1]:.3g}" if clip else ""
        self._flow.update(run, f"{s['num_epochs']} steps, lr {s['lr']:.3g}{clip_text}: {outcome}")

    def to_png(self) -> bytes:
        """The figure as PNG bytes (fast zlib level: encoding is part of every redraw)."""
        import matplotlib

        buf = io.BytesIO()
        # unhinted glyphs render ~20% faster; rc_context restores every setting afterwards
        with matplotlib.rc_context({"text.hinting": "none"}):
            self.figure.savefig(buf, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
        return buf.getvalue()


def plot_gradient_flow(report: Any) -> Figure:
    """The gradient-flow explorer's figure for one report, as a new figure.

    Args:
        report: a :class:`bpcourse.dynamics.GradientFlowReport`.

    Returns:
        A figure with two panels, the per-layer norms with the prediction and the short
        training run (see :class:`GradientFlowFigure`).
    """
    view = GradientFlowFigure()
    view.update(report)
    return view.figure


# --- beyond dense networks and cost (lesson 06) ---------------------------------------------

_COST_STYLES = {
    "diff": ("sympy.diff", "o", "-"),
    "diff+cse": ("sympy.diff + cse", "s", "--"),
    "reverse": ("reverse mode", "^", "-"),
}


def plot_symbolic_cost(table: object) -> Figure:
    """Op count and time of a symbolic gradient against depth, one line per method.

    Args:
        table: a :class:`bpcourse.symbolic.CostTable` (from ``cost_table``); skipped entries
            (NaN) are left out of the lines.

    Returns:
        A figure with two panels, operations and seconds against the depth $L$, both on log
        scales: expression swell shows as a steep curve, reverse mode as a line of slope 1.
    """
    import numpy as np
    from matplotlib.ticker import NullFormatter

    from bpcourse.symbolic import CostTable

    if not isinstance(table, CostTable):
        raise TypeError(
            f"table: expected a CostTable from cost_table(), got {type(table).__name__}"
        )
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_ops, ax_time = fig.subplots(1, 2)
    depths = np.asarray(table.depths, dtype=float)
    for method in table.methods:
        label, marker, style = _COST_STYLES.get(method, (method, "o", "-"))
        for ax, values in ((ax_ops, table.ops[method]), (ax_time, table.seconds[method])):
            y = np.asarray(values, dtype=float)
            keep = np.isfinite(y) & (y > 0)
            ax.plot(depths[keep], y[keep], marker=marker, linestyle=style, label=label)
    for ax, ylabel, title in (
        (ax_ops, "operations (sympy.count_ops)", "size of the gradient"),
        (ax_time, "seconds", "time to differentiate"),
    ):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(depths, [str(d) for d in table.depths])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("depth $L$ of the sigmoid chain")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
    ax_ops.legend()
    return fig


def _as_norm_curve(name: str, values: Any) -> Any:
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name}: expected a 1-D array with one norm per time step, got shape {arr.shape}"
        )
    return arr


def plot_rnn_gradient_norms(
    norms: Any,
    raw_norms: Any = None,
    spectral_radius: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Figure:
    r"""$\|\partial L/\partial h_t\|$ against the time step t on a log scale.

    Args:
        norms: ``(T,)`` from :func:`bpcourse.dynamics.rnn_gradient_norms`, first step first.
        raw_norms: ``(T,)`` the same without clipping, drawn as a thin grey line when given.
        spectral_radius: $\rho$; draws the linear-recurrence reference $\rho^{T-t}$ through the
            last step's norm (dotted).
        ax: axes to draw on (a new figure when omitted).
        title: axes title (default: the ratio of the first to the last step's norm).

    Returns:
        The figure drawn on. Zero or non-finite norms (underflow, overflow) are left out.
    """
    import numpy as np

    values = _as_norm_curve("norms", norms)
    T = values.size
    steps = np.arange(1, T + 1)
    fig, ax = _new_axes(ax, (6.0, 3.6))
    shown: list[Any] = []
    if raw_norms is not None:
        raw = _as_norm_curve("raw_norms", raw_norms)
        if raw.shape != values.shape:
            raise ValueError(
                f"raw_norms: expected shape {values.shape} (the shape of norms), got {raw.shape}"
            )
        keep = np.isfinite(raw) & (raw > 0)
        ax.plot(steps[keep], raw[keep], color="0.6", lw=1.2, label="without clipping")
        shown.append(raw[keep])
    keep = np.isfinite(values) & (values > 0)
    ax.plot(steps[keep], values[keep], "-o", ms=2.5, color="C0", lw=1.6, label="‖∂L/∂hₜ‖")
    shown.append(values[keep])
    if spectral_radius is not None and keep[-1]:
        rho = float(spectral_radius)
        if not (np.isfinite(rho) and rho > 0):
            raise ValueError(
                f"spectral_radius: expected a positive number, got {spectral_radius!r}"
            )
        with np.errstate(over="ignore", under="ignore"):
            ref = values[-1] * rho ** (T - steps.astype(float))
        ok = np.isfinite(ref) & (ref > 0)
        ax.plot(steps[ok], ref[ok], ":", color="C1", lw=1.6, label=f"ρ^(T−t), ρ = {rho:.3g}")
    _log_y(ax)
    every = np.concatenate(shown) if shown else np.array([1.0])
    if every.size:
        low, high = float(every.min()), float(every.max())
        ax.set_ylim(low / 5.0, high * 20.0)
    ax.set_xlim(0.5, T + 0.5)
    ax.set_xlabel("time step t (1 = first input)")
    ax.set_ylabel("gradient norm ‖∂L/∂hₜ‖")
    ax.legend(fontsize=8, loc="upper center", ncol=3, frameon=False)
    if title is None and keep[0] and keep[-1]:
        title = f"first/last step: {values[0] / values[-1]:.2g}"
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_rnn_training(
    runs: Any, labels: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """Loss (left) and gradient norm before clipping (right) per epoch of RNN training runs.

    Args:
        runs: a :class:`bpcourse.dynamics.RNNTrainResult` or a list of them.
        labels: one legend label per run (default: the clipping rule).
        title: figure title.

    Returns:
        A figure with two panels, both with a log-scale y axis. A run that diverged ends with
        a cross; a norm-clipping threshold is drawn as a dashed line on the right.
    """
    import numpy as np

    items = list(runs) if isinstance(runs, (list, tuple)) else [runs]
    if not items:
        raise ValueError("runs: expected at least one RNNTrainResult, got an empty list")
    for i, run in enumerate(items):
        if not all(hasattr(run, a) for a in ("loss", "grad_norm", "config")):
            raise TypeError(
                f"runs[{i}]: expected an RNNTrainResult from bpcourse.dynamics.train_rnn, "
                f"got {type(run).__name__}"
            )
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"labels: expected {len(items)} labels (one per run), got {len(labels)}")
    fig = Figure(figsize=(10.0, 3.6), layout="constrained")
    ax_loss, ax_norm = fig.subplots(1, 2)
    for i, run in enumerate(items):
        clip = run.config.get("clip")
        label = (
            labels[i]
            if labels is not None
            else ("no clipping" if clip is None else f"clip by {clip[0]} at {clip[1]:.3g}")
        )
        color = f"C{i % 10}"
        ax_loss.plot(run.epochs, run.loss, color=color, lw=1.5, label=label)
        if run.diverged:
            ax_loss.plot(run.epochs[-1], run.loss[-1], "x", color=color, ms=9, mew=2.5)
        norms = np.asarray(run.grad_norm, dtype=float)
        ax_norm.plot(np.arange(1, norms.size + 1), norms, color=color, lw=1.2, label=label)
        if clip is not None and clip[0] == "norm":
            ax_norm.axhline(clip[1], color=color, ls="--", lw=1.0)
    for ax, ylabel in (
        (ax_loss, "training loss (MSE)"),
        (ax_norm, "gradient norm before clipping"),
    ):
        _log_y(ax, minor=True)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    ax_loss.legend(fontsize=8)
    if title is not None:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_gradient_cost(cost: Any) -> Figure:
    """Backpropagation against central differences as the number of parameters grows.

    Args:
        cost: a :class:`bpcourse.dynamics.GradientCost` (from ``gradient_cost``).

    Returns:
        A figure with two log-log panels: seconds per full gradient against the number of
        parameters P (with one forward pass for scale), and the same cost in units of one
        forward pass, where backpropagation stays near a small constant and central
        differences follow the line 2P.
    """
    import numpy as np

    for attr in ("n_params", "forward_seconds", "backprop_seconds", "fd_seconds"):
        if not hasattr(cost, attr):
            raise TypeError(f"cost: expected a GradientCost, got {type(cost).__name__}")
    P = np.asarray(cost.n_params, dtype=float)
    fig = Figure(figsize=(10.0, 3.6), layout="constrained")
    ax_time, ax_units = fig.subplots(1, 2)
    ax_time.plot(P, cost.forward_seconds, "-o", color="0.5", label="one forward pass")
    ax_time.plot(P, cost.backprop_seconds, "-^", color="C0", label="backpropagation")
    ax_time.plot(P, cost.fd_seconds, "-s", color="C3", label="central differences")
    ax_time.set_ylabel("seconds per full gradient")
    ax_units.plot(
        P, cost.backprop_seconds / cost.forward_seconds, "-^", color="C0", label="backpropagation"
    )
    ax_units.plot(
        P, cost.fd_seconds / cost.forward_seconds, "-s", color="C3", label="central differences"
    )
    ax_units.plot(P, 2 * P, ":", color="C3", label="2P")
    ax_units.set_ylabel("cost in forward passes")
    for ax in (ax_time, ax_units):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of parameters P")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    return fig


# --- lesson 07: figures of the digit CNN and the character model ------------------------------
# Defined in their own modules, which import this one; so they are loaded on first use
# (PEP 562) rather than imported here, and ``<face>.<name>`` works as for every other name.
_LESSON07: dict[str, str] = {
    "plot_char_training": "bpcourse.plots_vision",
    "plot_cnn_training": "bpcourse.plots_vision",
    "plot_confusion_matrix": "bpcourse.plots_vision",
    "plot_digit_inspection": "bpcourse.plots_vision",
    "plot_digits": "bpcourse.plots_vision",
    "plot_embeddings": "bpcourse.plots_vision",
    "plot_feature_maps": "bpcourse.plots_vision",
    "plot_kernels": "bpcourse.plots_vision",
    "plot_saliency": "bpcourse.plots_vision",
}


def __getattr__(name: str) -> Any:
    if name not in _LESSON07:
        raise AttributeError(f"module 'bpcourse.plots' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LESSON07[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LESSON07])
