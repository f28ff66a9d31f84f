"""Figures of what a gradient costs: symbolic differentiation against symbolic reverse mode,
and backpropagation against finite differences (lesson 06).
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

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

    from bpcourse.dynamics.symbolic_cost import CostTable

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
