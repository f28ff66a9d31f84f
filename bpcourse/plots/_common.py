"""Helpers shared by the figures: PNG encoding, log axes, new axes of a given size."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure


def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render ``fig`` with the Agg canvas and return PNG bytes (used by the explorers)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from bpcourse._validate import check_positive_int, describe

    if not isinstance(fig, Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {describe(fig)}")
    dpi = check_positive_int("dpi", dpi)

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


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
    """Place the axis labels at fixed offsets instead of measuring the tick labels each draw.

    The y label sits about 0.6 inch left of the axes (room for tick labels like "1e-14"),
    converted to axes coordinates from the axes' width when the panel is made, so that it
    does not run into the tick labels of narrow panels."""
    parent = ax.figure
    root = parent if isinstance(parent, Figure) else parent.figure  # a SubFigure's Figure
    width_in = ax.get_position().width * root.get_figwidth()
    ax.xaxis.set_label_coords(0.5, -0.12)
    ax.yaxis.set_label_coords(-min(0.6 / max(width_in, 0.5), 0.4), 0.5)


def _new_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    """Return ``(figure, ax)``: the given axes and its figure, or a new single-axes figure."""
    if ax is not None:
        from matplotlib.axes import Axes

        from bpcourse._validate import describe

        if not isinstance(ax, Axes):
            raise TypeError(f"ax: expected a matplotlib Axes or None, got {describe(ax)}")
        figure: Any = ax.figure  # (a Figure, or a SubFigure, which draws the same way)
        return figure, ax
    fig = Figure(figsize=figsize)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.88)
    return fig, fig.add_subplot()
