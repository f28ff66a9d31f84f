"""Figures of gradient norms: per layer at initialisation and during training (lesson 05),
the gradient-flow explorer's figure, and norms through time in a recurrent network (lesson 06).
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure

from bpcourse.plots._common import _log_y, _new_axes, _pin_labels

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
        # the prediction's key below, not beside it: the two overlap in narrow panels
        self.key = ax.text(0.02, 0.87, "", transform=ax.transAxes, color="C1", **_KEY)

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
        # head room on the log scale for the two keys: almost half of the decades shown
        top = high * 10.0 ** (0.45 * (np.log10(high / low) + 1.0))
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
