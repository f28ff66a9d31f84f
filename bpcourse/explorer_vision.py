"""The explorer of lesson 07: pick a digit, see what the trained CNN sees.

The controls choose an image of a set (for example the validation digits) and, optionally,
blank out a 2 × 2 patch of it (does the prediction hinge on the pixels the saliency marks?);
the figure shows the image, its saliency map $\\partial L /
\\partial X$ from :meth:`bpcourse.cnn.DigitCNN.saliency`, the kernels' responses from
:meth:`bpcourse.cnn.DigitCNN.feature_maps` and the predicted probabilities
(:func:`bpcourse.plots_vision.plot_digit_inspection`). Nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np

from bpcourse import nn, plots
from bpcourse._validate import as_array, check_positive_int, describe
from bpcourse.cnn import DigitCNN
from bpcourse.plots_vision import plot_digit_inspection
from bpcourse.widgets import Explorer

__all__ = ["digit_explorer"]


def digit_explorer(model: DigitCNN, X: Any, y: Any, index: int = 0) -> Explorer:
    """Saliency and kernel responses of a trained :class:`~bpcourse.cnn.DigitCNN`, digit by digit.

    Args:
        model: the trained network.
        X: (N, 1, 8, 8) images to pick from. y: (N,) their labels.
        index: the image shown first.

    Returns:
        An :class:`~bpcourse.widgets.Explorer` with the controls ``"digit"`` (which image),
        ``"blank patch"`` (set a 2 × 2 patch of the image to 0: how do the saliency and the
        prediction change?), ``"patch row"`` and ``"patch column"`` (where that patch is).
    """
    if not isinstance(model, DigitCNN):
        raise TypeError(f"model: expected a DigitCNN, got {describe(model)}")
    images = as_array("X", X, ndim=4)
    labels = np.asarray(y)
    if labels.shape != (images.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"y: expected {images.shape[0]} integer labels, got {describe(y)}")
    model.logits(images[:1])  # checks the image shape against the model
    n = images.shape[0]
    index = check_positive_int("index", index, minimum=0)
    if index >= n:
        raise ValueError(f"index: expected an integer in 0..{n - 1}, got {index}")
    side = images.shape[2]
    style = {"description_width": "initial"}
    controls: dict[str, widgets.ValueWidget] = {
        "digit": widgets.IntSlider(
            value=index, min=0, max=n - 1, description="digit", continuous_update=False,
            style=style,
        ),
        "blank patch": widgets.Checkbox(value=False, description="blank a 2 × 2 patch"),
        "patch row": widgets.IntSlider(
            value=side // 2 - 1, min=0, max=side - 2, description="patch row",
            continuous_update=False, style=style,
        ),
        "patch column": widgets.IntSlider(
            value=side // 2 - 1, min=0, max=side - 2, description="patch column",
            continuous_update=False, style=style,
        ),
    }  # fmt: skip

    def render(values: dict[str, Any], progress: Callable[[int, int], None]) -> bytes:
        i = values["digit"]
        img = images[i : i + 1].copy()
        r, c = values["patch row"], values["patch column"]
        blanked = bool(values["blank patch"])
        if blanked:
            img[:, :, r : r + 2, c : c + 2] = 0.0
        label = labels[i : i + 1]
        saliency = model.saliency(img, label)
        maps = model.feature_maps(img)[0]
        probs = nn.softmax(model.logits(img))[0]
        title = f"image {i}" + (f", 2 × 2 patch at row {r}, column {c} set to 0" if blanked else "")
        fig = plot_digit_inspection(img[0, 0], saliency[0, 0], maps, probs, int(label[0]), title)
        return plots.figure_to_png(fig, dpi=72)

    return Explorer(
        controls, render, rows=[["digit", "blank patch"], ["patch row", "patch column"]]
    )
