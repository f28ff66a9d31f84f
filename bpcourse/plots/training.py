"""Figures of training runs: loss curves, regression fits, and recurrent training with and
without clipping (lessons 04 and 06).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from bpcourse.plots._common import _log_y, _new_axes


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


def plot_decision_boundary(
    score: Any,
    X: Any,
    y: Any,
    ax: Any = None,
    title: str | None = None,
    resolution: int = 50,
) -> Figure:
    """The regions a two-feature binary classifier assigns to each class, with the data.

    ``score`` is evaluated on a ``resolution`` x ``resolution`` grid covering the data (with
    a margin); points with score > 0 belong to class 1. The two regions are shaded, the
    boundary (score = 0) is drawn as a line, and the data points are drawn in their class's
    colour, a misclassified one with a black edge.

    Args:
        score: a function from an ``(M, 2)`` array of points to ``M`` real scores.
        X: the data, ``(N, 2)``.
        y: labels in {0, 1}, ``(N,)``.
        ax: axes to draw on (a new figure when omitted).
        title: axes title; by default the accuracy on ``X``.
        resolution: grid points per axis, an integer in 5..1000.

    Returns:
        The figure drawn on.
    """
    import numpy as np
    from matplotlib.colors import ListedColormap

    from bpcourse._validate import as_array, check_positive_int, describe

    if not callable(score):
        raise TypeError(f"score: expected a function of an (M, 2) array, got {describe(score)}")
    points = as_array("X", X, ndim=2)
    if points.shape[1] != 2 or points.shape[0] < 1:
        raise ValueError(f"X: expected shape (N, 2) with N >= 1, got shape {points.shape}")
    labels = np.asarray(y)
    if labels.shape != (points.shape[0],) or not np.isin(labels, (0, 1)).all():
        raise ValueError(
            f"y: expected {points.shape[0]} labels in {{0, 1}}, got shape {labels.shape} "
            f"with values {sorted(set(np.ravel(labels).tolist()))[:5]}"
        )
    resolution = check_positive_int("resolution", resolution, minimum=5)
    if resolution > 1000:  # a million evaluations of score already take a while
        raise ValueError(f"resolution: expected an integer in 5..1000, got {resolution}")
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.15 * np.maximum(hi - lo, 1e-9)
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G1, G2 = np.meshgrid(g1, g2)
    grid_scores = np.asarray(score(np.column_stack([G1.ravel(), G2.ravel()])), dtype=float)
    if grid_scores.shape != (G1.size,):
        raise ValueError(
            f"score: expected {G1.size} scores for {G1.size} grid points, got shape "
            f"{grid_scores.shape}"
        )
    S = grid_scores.reshape(G1.shape)
    predicted = np.asarray(score(points), dtype=float) > 0
    fig, ax = _new_axes(ax, (4.6, 4.0))
    ax.contourf(G1, G2, (S > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                cmap=ListedColormap(["#dbe9f6", "#fde3c8"]))  # fmt: skip
    if S.min() < 0 < S.max():
        ax.contour(G1, G2, S, levels=[0.0], colors="0.3", linewidths=1.2)
    wrong = predicted != (labels == 1)
    for cls, color in ((0, "C0"), (1, "C1")):
        mine = labels == cls
        ax.scatter(*points[mine & ~wrong].T, s=18, color=color, label=f"class {cls}")
        if np.any(mine & wrong):
            ax.scatter(*points[mine & wrong].T, s=30, color=color, edgecolors="k", linewidths=1.2)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(fontsize=8, loc="upper right")
    accuracy = float(np.mean(~wrong))
    ax.set_title(title if title is not None else f"accuracy {accuracy:.0%}", fontsize=10)
    return fig
