"""Figures of lesson 07: digits, learned kernels, a confusion matrix, saliency, training curves,
the character model's curves with and without clipping, and its embeddings.

As in :mod:`bpcourse.plots`, every function returns a :class:`matplotlib.figure.Figure` made
with the object-oriented API and never calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bpcourse._validate import as_array, check_positive_int, describe

__all__ = [
    "plot_char_training",
    "plot_cnn_training",
    "plot_confusion_matrix",
    "plot_digit_inspection",
    "plot_digits",
    "plot_embeddings",
    "plot_feature_maps",
    "plot_kernels",
    "plot_saliency",
]


def _images(name: str, X: Any) -> np.ndarray:
    """(N, 1, H, W) or (N, H, W) -> (N, H, W)."""
    arr = as_array(name, X, ndim=(3, 4))
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise ValueError(f"{name}: expected one channel (N, 1, H, W), got shape {arr.shape}")
        arr = arr[:, 0]
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one image, got shape {arr.shape}")
    return arr


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = min(cols, n)
    return -(-n // cols), cols


def plot_digits(
    X: Any, y: Any = None, predicted: Any = None, cols: int = 10, title: str | None = None
) -> Figure:
    """A grid of digit images, each titled with its label (and the prediction, red if wrong)."""
    imgs = _images("X", X)
    cols = check_positive_int("cols", cols)
    n = imgs.shape[0]
    labels = None if y is None else np.asarray(y).reshape(-1)
    preds = None if predicted is None else np.asarray(predicted).reshape(-1)
    for name, arr in (("y", labels), ("predicted", preds)):
        if arr is not None and arr.shape != (n,):
            raise ValueError(f"{name}: expected shape ({n},), one per image, got {arr.shape}")
    rows, cols = _grid(n, cols)
    fig = Figure(figsize=(1.0 * cols, 1.15 * rows + (0.3 if title else 0)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(imgs[i], cmap="gray_r", vmin=0.0)
        parts = []
        if labels is not None:
            parts.append(str(int(labels[i])))
        if preds is not None:
            parts.append(f"→{int(preds[i])}")
        wrong = labels is not None and preds is not None and labels[i] != preds[i]
        ax.set_title(" ".join(parts), fontsize=9, color="tab:red" if wrong else "black")
    if title:
        fig.suptitle(title)
    return fig


def plot_kernels(K: Any, title: str = "learned 3 × 3 kernels") -> Figure:
    """Every kernel of a one-channel convolution layer K (C, 1, kh, kw), red-blue around 0."""
    arr = as_array("K", K, ndim=4)
    if arr.shape[1] != 1:
        raise ValueError(
            f"K: expected kernels of one input channel (C, 1, kh, kw), got {arr.shape}"
        )
    C = arr.shape[0]
    lim = float(np.abs(arr).max()) or 1.0
    fig = Figure(figsize=(1.2 * C + 0.8, 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, C, squeeze=False)).ravel()
    ims = []
    for c, ax in enumerate(axes):
        ims.append(ax.imshow(arr[c, 0], cmap="RdBu_r", vmin=-lim, vmax=lim))
        ax.set_title(f"kernel {c}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(ims[0], ax=list(axes), shrink=0.8)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_feature_maps(maps: Any, image: Any = None, title: str | None = None) -> Figure:
    """The responses (C, h, w) of the kernels to one image, next to the image itself."""
    arr = as_array("maps", maps, ndim=3)
    C = arr.shape[0]
    extra = 0 if image is None else 1
    fig = Figure(figsize=(1.15 * (C + extra), 1.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, C + extra, squeeze=False)).ravel()
    if image is not None:
        img = _images("image", np.asarray(image).reshape(1, *np.shape(image)[-2:]))[0]
        axes[0].imshow(img, cmap="gray_r", vmin=0.0)
        axes[0].set_title("input", fontsize=8)
    top = float(arr.max()) or 1.0
    for c in range(C):
        ax = axes[extra + c]
        ax.imshow(arr[c], cmap="viridis", vmin=0.0, vmax=top)
        ax.set_title(f"kernel {c}", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_confusion_matrix(M: Any, title: str = "validation confusion matrix") -> Figure:
    """Counts M[true, predicted] as a heat map with the numbers written in."""
    arr = np.asarray(M)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.dtype.kind not in "iu":
        raise TypeError(f"M: expected a square integer matrix of counts, got {describe(M)}")
    n = arr.shape[0]
    fig = Figure(figsize=(4.6, 4.0), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(arr, cmap="Blues")
    for i in range(n):
        for j in range(n):
            if arr[i, j]:
                color = "white" if arr[i, j] > arr.max() / 2 else "black"
                ax.text(j, i, str(arr[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_saliency(
    images: Any, saliency: Any, labels: Any = None, title: str | None = None
) -> Figure:
    """Each image above its saliency map dL/dX (red: raising the pixel raises the loss)."""
    imgs = _images("images", images)
    sal = _images("saliency", saliency)
    if sal.shape != imgs.shape:
        raise ValueError(f"saliency: expected the shape of images {imgs.shape}, got {sal.shape}")
    n = imgs.shape[0]
    lab = None if labels is None else np.asarray(labels).reshape(-1)
    fig = Figure(figsize=(1.3 * n + 0.6, 2.9), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        axes[0, i].imshow(imgs[i], cmap="gray_r", vmin=0.0)
        if lab is not None:
            axes[0, i].set_title(f"label {int(lab[i])}", fontsize=8)
        lim = float(np.abs(sal[i]).max()) or 1.0
        axes[1, i].imshow(sal[i], cmap="RdBu_r", vmin=-lim, vmax=lim)  # own scale each
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[1, 0].set_ylabel("dL/dX\n(red +, blue −)", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_cnn_training(history: Any, title: str = "digit CNN") -> Figure:
    """Loss and accuracy per epoch, training and validation (a :class:`TrainingHistory`)."""
    for attr in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        if not hasattr(history, attr):
            raise TypeError(f"history: expected a TrainingHistory, got {describe(history)}")
    epochs = np.arange(1, len(history.train_loss) + 1)
    fig = Figure(figsize=(9.0, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(epochs, history.train_loss, "o-", label="training")
    ax1.plot(epochs, history.val_loss, "s-", label="validation")
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy")
    ax1.legend()
    ax2.plot(epochs, 100 * np.asarray(history.train_accuracy), "o-", label="training")
    ax2.plot(epochs, 100 * np.asarray(history.val_accuracy), "s-", label="validation")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy (%)")
    ax2.legend()
    fig.suptitle(title)
    return fig


def plot_char_training(runs: Mapping[str, Any], title: str | None = None) -> Figure:
    """Training loss (left) and gradient norm before clipping (right, log) per step, one line
    per run; ``runs`` maps a label to a :class:`CharTrainingHistory`."""
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError(f"runs: expected a dict of histories by label, got {describe(runs)}")
    fig = Figure(figsize=(9.5, 3.3), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for label, h in runs.items():
        if not hasattr(h, "loss") or not hasattr(h, "grad_norm"):
            raise TypeError(f"runs[{label!r}]: expected a CharTrainingHistory, got {describe(h)}")
        steps = np.arange(1, len(h.loss) + 1)
        ax1.plot(steps, h.loss, label=label, lw=1.2)
        ax2.plot(steps, h.grad_norm, label=label, lw=1.0)
    ax1.set_xlabel("step")
    ax1.set_ylabel("cross-entropy over time")
    ax1.legend()
    ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_ylabel("gradient norm (before clipping)")
    ax2.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_embeddings(E: Any, chars: Sequence[str], title: str = "character embeddings") -> Figure:
    """The rows of an embedding table projected on their first two principal components, each
    drawn as its character."""
    arr = as_array("E", E, ndim=2)
    if isinstance(chars, str) or len(chars) != arr.shape[0]:
        raise ValueError(
            f"chars: expected {arr.shape[0]} characters (one per row of E), got {describe(chars)}"
        )
    centred = arr - arr.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ Vt[:2].T
    fig = Figure(figsize=(4.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    vowels = set("aeiouy")
    for (x, y), ch in zip(xy, chars):
        color = "tab:red" if ch in vowels else ("tab:green" if ch == "." else "tab:blue")
        ax.text(x, y, ch, ha="center", va="center", fontsize=12, color=color)
    pad = 0.1 * (np.ptp(xy, axis=0) + 1e-9)
    ax.set_xlim(xy[:, 0].min() - pad[0], xy[:, 0].max() + pad[0])
    ax.set_ylim(xy[:, 1].min() - pad[1], xy[:, 1].max() + pad[1])
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(title + " (red: vowels and y, green: end mark)")
    return fig


def _mosaic(maps: np.ndarray, cols: int) -> np.ndarray:
    """(C, h, w) -> one image of the maps in a grid with a one-pixel NaN gap between them."""
    C, h, w = maps.shape
    rows = -(-C // cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for c in range(C):
        r, k = divmod(c, cols)
        out[r * (h + 1) : r * (h + 1) + h, k * (w + 1) : k * (w + 1) + w] = maps[c]
    return out


def plot_digit_inspection(
    image: Any,
    saliency: Any,
    maps: Any,
    probabilities: Any,
    label: int,
    title: str | None = None,
) -> Figure:
    """One digit: the image, its saliency dL/dX, the kernels' ReLU responses (as one mosaic)
    and the predicted probabilities. Four axes only, so that it draws quickly."""
    img = _images("image", np.reshape(np.asarray(image, dtype=float), (1, *np.shape(image)[-2:])))[
        0
    ]
    sal = _images("saliency", np.reshape(np.asarray(saliency, dtype=float), (1, *img.shape)))[0]
    fm = as_array("maps", maps, ndim=3)
    p = as_array("probabilities", probabilities, ndim=1)
    # fixed axes positions (no layout engine): the explorer redraws this figure on every change
    fig = Figure(figsize=(10.0, 2.5))
    boxes = [(0.01, 0.06, 0.17, 0.76), (0.2, 0.06, 0.17, 0.76), (0.39, 0.06, 0.33, 0.76)]
    axes = [fig.add_axes(box) for box in boxes]
    axes.append(fig.add_axes((0.76, 0.14, 0.22, 0.68)))
    axes[0].imshow(img, cmap="gray_r", vmin=0.0)
    axes[0].set_title(f"digit (label {int(label)})", fontsize=9)
    lim = float(np.abs(sal).max()) or 1.0
    axes[1].imshow(sal, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[1].set_title("saliency dL/dX", fontsize=9)
    axes[2].imshow(_mosaic(fm, cols=-(-fm.shape[0] // 2)), cmap="viridis", vmin=0.0)
    axes[2].set_title("kernel responses (after ReLU)", fontsize=9)
    for ax in axes[:3]:
        ax.set_xticks([])
        ax.set_yticks([])
    colors = ["tab:blue"] * p.size
    colors[int(label)] = "tab:green"
    axes[3].bar(range(p.size), p, color=colors)
    axes[3].set_xticks(range(p.size))
    axes[3].set_ylim(0, 1)
    axes[3].set_title(f"predicted {int(np.argmax(p))} ({100 * p.max():.0f} %)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
