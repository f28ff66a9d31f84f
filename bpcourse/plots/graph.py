"""Drawing a computational graph of :class:`bpcourse.engine.Value` nodes (lesson 02).

The layout is computed here (ranks by longest path from the leaves, boxes sized to their
text, edges routed around boxes), without graphviz.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

# Geometry of draw_graph, in inches (the figure it makes is sized so that 1 data unit = 1 in).
_GRAPH_MIN_BOX_WIDTH = 1.0
_GRAPH_LINE_HEIGHT = 0.17
_GRAPH_OP_RADIUS = 0.24
_GRAPH_GAP = {"LR": 0.32, "TB": 0.2}  # between a box and the operation circle next to it
_GRAPH_ROW_GAP = 0.28  # between neighbouring boxes of one rank
_GRAPH_WAYPOINT_ROWS = 0.3  # room taken by an edge passing a rank, in rows
_GRAPH_FONT_SIZE = 8.0
# With rankdir="auto" a graph is laid out left to right only while that is at most this wide
# (inches, at 1 layout unit = 1 inch): JupyterLab scales wider images down to the notebook's
# width (about 650 px in a narrow window), and 8 pt text at 100 dpi, 11 px, must not fall
# below 9 px there.
GRAPH_MAX_WIDTH = 6.5
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
    rankdir: str = "auto",
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
        rankdir: ``"LR"`` (inputs on the left, output on the right), ``"TB"`` (inputs at the
            top, output at the bottom) or ``"auto"``: top to bottom when only that drawing fits
            in :data:`GRAPH_MAX_WIDTH` inches, otherwise left to right, so that the text stays
            legible when a notebook scales the figure down to its width.
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

    from bpcourse._validate import check_choice, check_flag, check_positive_int, describe
    from bpcourse.engine import Value, format_number, graph

    if not isinstance(root, Value):
        raise TypeError(f"root: expected a bpcourse.engine.Value, got {describe(root)}")
    check_flag("show_grad", show_grad)
    check_choice("rankdir", rankdir, ["auto", "LR", "TB"])
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
    radius = _GRAPH_OP_RADIUS

    def steps(direction: str) -> tuple[float, float, float, float]:
        """(along, across, rank_step, row_step) in inches for a layout direction."""
        # Along the ranks a box takes box_w (LR) or box_h (TB); across them, the other one.
        along, across = (box_w, box_h) if direction == "LR" else (box_h, box_w)
        rank_step = along + 2 * _GRAPH_GAP[direction] + 2 * radius
        return along, across, rank_step, across + _GRAPH_ROW_GAP

    if rankdir == "auto":
        n_ranks, n_rows = max(rank) - min(rank), max(row) - min(row)
        width = {
            "LR": n_ranks * steps("LR")[2] + box_w,
            "TB": n_rows * steps("TB")[3] + box_w,
        }
        rankdir = "TB" if width["LR"] > GRAPH_MAX_WIDTH >= width["TB"] else "LR"
    along, across, rank_step, row_step = steps(rankdir)
    gap = _GRAPH_GAP[rankdir]
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
