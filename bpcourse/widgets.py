"""Slider explorers for lectures and self-study: one line in a blank notebook each.

>>> from bpcourse.widgets import gradient_flow_explorer
>>> gradient_flow_explorer()          # doctest: +SKIP

Each explorer is an :class:`Explorer`, an ``ipywidgets.VBox`` holding its controls, a PNG
image of the current figure, a progress bar for long runs and a message line. The explorers
only wire controls to :mod:`bpcourse.dynamics` (the numbers) and :mod:`bpcourse.plots` (the
pictures); they compute nothing themselves.

Design choices that keep them usable live and headless:

- sliders use ``continuous_update=False``: the figure is recomputed when a slider is
  released, not for every pixel of a drag;
- the figure is rendered to PNG bytes into an ``ipywidgets.Image``, so an update is one
  message to the browser, and a test can see that the picture changed;
- updates run synchronously in the kernel (no threads, timers or event loops are started), so
  executing a notebook with nbclient, nbval or nbgrader never waits on a widget;
- an exception during an update is shown as a readable message in the explorer (and kept in
  ``explorer.last_error``) instead of disappearing into a log.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np

from bpcourse import data, dynamics, nn, optim, plots
from bpcourse._validate import (
    as_array,
    check_choice,
    check_flag,
    check_positive_int,
    check_positive_number,
    check_probability,
    describe,
)
from bpcourse.dynamics.digits import DigitCNN
from bpcourse.plots.vision import plot_digit_inspection

__all__ = [
    "DIGIT_DEFAULTS",
    "GRADIENT_FLOW_DEFAULTS",
    "LEARNING_RATE_DEFAULTS",
    "RNN_DEFAULTS",
    "Explorer",
    "digit_explorer",
    "gradient_flow_explorer",
    "learning_rate_explorer",
    "rnn_explorer",
]

GRADIENT_FLOW_DEFAULTS: Mapping[str, Any] = {
    "depth": 10,
    "width": 30,
    "activation": "sigmoid",
    "init": "xavier",
    "lr": 0.1,
    "clip": False,
    "clip_threshold": 1.0,
    "max_depth": 50,
    "max_width": 128,
    "num_epochs": 8,
    "n_samples": 32,
    "seed": 0,
}
"""Defaults of :func:`gradient_flow_explorer`, chosen so that an update stays under ~100 ms
at every depth from 1 to 50 (see ``benchmarks/bench_widgets.py``)."""

LEARNING_RATE_DEFAULTS: Mapping[str, Any] = {
    "lr": 0.1,
    "optimizer": "sgd",
    "momentum": 0.9,
    "num_epochs": 100,
    "dataset": "sine",
    "activation": "tanh",
    "hidden": 16,
    "seed": 0,
}
"""Defaults of :func:`learning_rate_explorer`: on the noisy sine, full-batch SGD is slow at
0.001, good near 0.3, oscillates near 0.7 and diverges from about 0.9."""


def _optimizer_labels() -> list[tuple[str, str]]:
    """(menu label, registry name) of every optimizer in :data:`bpcourse.optim.OPTIMIZERS`."""
    return [(cls.label, name) for name, cls in optim.OPTIMIZERS.items()]


class Explorer(widgets.VBox):
    """A VBox of controls, a figure, a progress bar and a message line.

    Attributes:
        controls: the input widgets by name (``explorer.controls["depth"].value = 20``
            triggers an update, exactly like moving the slider).
        image: the ``ipywidgets.Image`` showing the current figure as PNG.
        progress: an ``ipywidgets.IntProgress`` shown during long updates.
        message: an ``ipywidgets.HTML`` line with the last error, if any.
        last_error: the exception of the last failed update, or ``None``.
        n_updates: number of completed updates (successful or not).

    Args:
        controls: name -> widget with a ``value``.
        render: called as ``render(values, progress)`` with the controls' values and a
            progress callback ``progress(done, total)``; returns PNG bytes.
        rows: how to lay the controls out, as lists of control names.
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        render: Callable[[dict[str, Any], Callable[[int, int], None]], bytes],
        rows: list[list[str]],
    ) -> None:
        self.controls = dict(controls)
        self._render = render
        # natural size: a 72-dpi figure stretched to the page width would look blurred
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(width="auto", max_width="100%")
        )
        # display "none" rather than hidden visibility, so the idle bar takes no space
        self.progress = widgets.IntProgress(
            value=0, min=0, max=1, description="running", layout=widgets.Layout(display="none")
        )
        self.message = widgets.HTML("")
        self.last_error: BaseException | None = None
        self.n_updates = 0
        boxes = [widgets.HBox([self.controls[name] for name in row]) for row in rows]
        super().__init__([*boxes, self.progress, self.image, self.message])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change: Mapping[str, Any]) -> None:
        self.update()

    def _report_progress(self, done: int, total: int) -> None:
        total = max(int(total), 1)
        # at most ~20 messages to the browser per run, however many epochs
        if done >= total or int(done) % max(total // 20, 1) == 0:
            self.progress.max = total
            self.progress.value = min(int(done), total)

    def update(self) -> None:
        """Recompute and redraw from the current control values.

        An exception is shown in ``message`` and kept in ``last_error``; the previous picture
        stays on screen so the explorer remains usable.
        """
        self.progress.value = 0
        self.progress.layout.display = ""
        try:
            png = self._render(self.values(), self._report_progress)
            # show the figure at its own pixel width (never stretched, so never blurred)
            self.image.layout.width = f"{int.from_bytes(png[16:20], 'big')}px"
            self.image.value = png
        except Exception as exc:  # shown to the user, never swallowed
            self.last_error = exc
            self.message.value = (
                '<span style="color:#b00020"><b>Could not update:</b> '
                f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>"
            )
        else:
            self.last_error = None
            self.message.value = ""
        finally:
            self.progress.layout.display = "none"
            self.n_updates += 1


def _options(overrides: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise TypeError(f"unexpected option(s) {unknown}; the options are {sorted(defaults)}")
    return {**defaults, **overrides}


def _log_slider(description: str, value: float, low: float, high: float) -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=math.log10(low),
        max=math.log10(high),
        step=0.05,
        description=description,
        readout_format=".3g",
        continuous_update=False,
        style={"description_width": "initial"},
    )


def gradient_flow_explorer(**options: Any) -> Explorer:
    """Depth, activation and initialisation against per-layer gradient norms.

    The left panel shows, for a freshly initialised network of ``depth`` hidden layers, the
    norm of each layer's gradient ($\\|\\partial L/\\partial b^l\\|$) on a log scale, next to
    the theoretical scaling where one is known (sigmoid's 1/4 bound, He's variance-preserving
    ReLU). The right panel shows how far the first, a middle and the last layer move during a
    short full-batch training run with the chosen learning rate and clipping.

    Args:
        **options: any of :data:`GRADIENT_FLOW_DEFAULTS`: ``depth``, ``width``,
            ``activation`` (those of :func:`bpcourse.nn.explorer_activations`: "sigmoid", "tanh",
            "relu"), ``init`` (:func:`bpcourse.nn.explorer_inits`: "normal", "xavier", "he"),
            ``lr``, ``clip`` (bool), ``clip_threshold``, ``max_depth``, ``max_width``,
            ``num_epochs`` (steps of the short run), ``n_samples``, ``seed``.

    Returns:
        An :class:`Explorer` with controls ``"depth"``, ``"learning rate"``, ``"activation"``,
        ``"init"``, ``"width"``, ``"clip"`` and ``"clip threshold"``.

    Example:
        >>> explorer = gradient_flow_explorer(depth=5)
        >>> explorer.controls["depth"].value = 20      # recomputes and redraws
        >>> explorer.last_error is None
        True
    """
    o = _options(options, GRADIENT_FLOW_DEFAULTS)
    max_depth = check_positive_int("max_depth", o["max_depth"])
    max_width = check_positive_int("max_width", o["max_width"])
    depth = check_positive_int("depth", o["depth"])
    width = check_positive_int("width", o["width"])
    if depth > max_depth or width > max_width:
        raise ValueError(
            f"depth, width: expected at most max_depth={max_depth} and max_width={max_width}, "
            f"got depth={depth}, width={width}"
        )
    activations = nn.explorer_activations()
    inits = nn.explorer_inits()
    check_choice("activation", o["activation"], activations)
    check_choice("init", o["init"], inits)
    check_flag("clip", o["clip"])
    lr = check_positive_number("lr", o["lr"])
    threshold = check_positive_number("clip_threshold", o["clip_threshold"])
    num_epochs = check_positive_int("num_epochs", o["num_epochs"])
    n_samples = check_positive_int("n_samples", o["n_samples"], minimum=8)
    seed = check_positive_int("seed", o["seed"], minimum=0)

    slider_style = {"description_width": "initial"}
    controls: dict[str, widgets.ValueWidget] = {
        "depth": widgets.IntSlider(
            value=depth,
            min=1,
            max=max_depth,
            description="depth",
            continuous_update=False,
            style=slider_style,
        ),
        "width": widgets.IntSlider(
            value=width,
            min=2,
            max=max_width,
            description="width",
            continuous_update=False,
            style=slider_style,
        ),
        "activation": widgets.Dropdown(
            options=activations, value=o["activation"], description="activation"
        ),
        "init": widgets.Dropdown(options=inits, value=o["init"], description="init"),
        "learning rate": _log_slider("learning rate", lr, 1e-3, 10.0),
        "clip": widgets.Checkbox(value=o["clip"], description="clip", indent=False),
        "clip threshold": _log_slider("clip threshold", threshold, 1e-2, 1e2),
    }
    view = plots.GradientFlowFigure()

    def render(values: dict[str, Any], progress: Callable[[int, int], None]) -> bytes:
        clip = ("norm", values["clip threshold"]) if values["clip"] else None
        report = dynamics.gradient_flow_experiment(
            values["depth"],
            values["width"],
            values["activation"],
            values["init"],
            values["learning rate"],
            clip,
            num_epochs=num_epochs,
            seed=seed,
            n_samples=n_samples,
        )
        view.update(report)
        return view.to_png()

    return Explorer(
        controls,
        render,
        rows=[
            ["depth", "width", "activation", "init"],
            ["learning rate", "clip", "clip threshold"],
        ],
    )


def learning_rate_explorer(**options: Any) -> Explorer:
    """Learning rate and optimizer against training and validation loss curves.

    Moving the learning rate shows the four regimes of gradient descent: too small (slow),
    good, too large (oscillating) and far too large (diverging, drawn as a cross with
    "diverged at epoch k"). The run is full-batch, seeded, and restarts from the same
    initial weights for every setting.

    Args:
        **options: any of :data:`LEARNING_RATE_DEFAULTS`: ``lr``, ``optimizer`` ("sgd",
            "momentum", "adam"), ``momentum`` (mu of the momentum optimizer, in [0, 0.99];
            its slider is active only while that optimizer is chosen), ``num_epochs``,
            ``dataset`` ("sine", "iris", "moons", "spirals"), ``activation``, ``hidden``
            (units of the hidden layer), ``seed``.

    Returns:
        An :class:`Explorer` with controls ``"learning rate"``, ``"optimizer"``,
        ``"momentum μ"``, ``"epochs"`` and ``"data set"``.

    Example:
        >>> explorer = learning_rate_explorer()
        >>> explorer.controls["learning rate"].value = 5.0   # diverges, shown on the plot
        >>> explorer.last_error is None
        True
    """
    o = _options(options, LEARNING_RATE_DEFAULTS)
    lr = check_positive_number("lr", o["lr"])
    optimizer_labels = _optimizer_labels()
    optimizer = check_choice("optimizer", o["optimizer"], [v for _, v in optimizer_labels])
    momentum = check_probability("momentum", o["momentum"])
    if momentum > 0.99:
        raise ValueError(f"momentum: expected a number in [0, 0.99], got {o['momentum']!r}")
    num_epochs = check_positive_int("num_epochs", o["num_epochs"])
    datasets = list(data.DATASETS)
    dataset = check_choice("dataset", o["dataset"], datasets)
    activation = check_choice("activation", o["activation"], nn.explorer_activations())
    hidden = check_positive_int("hidden", o["hidden"])
    seed = check_positive_int("seed", o["seed"], minimum=0)

    controls: dict[str, widgets.ValueWidget] = {
        "learning rate": _log_slider("learning rate", lr, 1e-3, 30.0),
        "optimizer": widgets.Dropdown(
            options=optimizer_labels, value=optimizer, description="optimizer"
        ),
        "momentum μ": widgets.FloatSlider(
            value=momentum,
            min=0.0,
            max=0.99,
            step=0.01,
            description="momentum μ",
            disabled=optimizer != "momentum",
            continuous_update=False,
        ),
        "epochs": widgets.IntSlider(
            value=num_epochs,
            min=min(10, num_epochs),
            max=max(1000, num_epochs),
            step=10,
            description="epochs",
            continuous_update=False,
        ),
        "data set": widgets.Dropdown(options=datasets, value=dataset, description="data set"),
    }

    def follow_optimizer(change: Mapping[str, Any]) -> None:
        controls["momentum μ"].disabled = change["new"] != "momentum"

    controls["optimizer"].observe(follow_optimizer, names="value")

    def render(values: dict[str, Any], progress: Callable[[int, int], None]) -> bytes:
        dataset = data.load_dataset(values["data set"], seed=seed)
        with_momentum = values["optimizer"] == "momentum"
        result = dynamics.train(
            dataset,
            lr=values["learning rate"],
            optimizer=values["optimizer"],
            num_epochs=values["epochs"],
            layer_sizes=(dataset.n_features, hidden, dataset.n_outputs),
            activation=activation,
            seed=seed,
            optimizer_kw={"momentum": values["momentum μ"]} if with_momentum else None,
            progress=progress,
        )
        label = dict((v, k) for k, v in optimizer_labels)[values["optimizer"]]
        if with_momentum:
            label += f" μ = {values['momentum μ']:.2f}"
        fig = plots.plot_loss_curves(
            result,
            labels=[label],
            title=f"{values['data set']}: {label}, lr = {values['learning rate']:.3g}",
        )
        return plots.figure_to_png(fig, dpi=72)

    return Explorer(
        controls,
        render,
        rows=[["learning rate", "optimizer", "momentum μ"], ["epochs", "data set"]],
    )


RNN_DEFAULTS: Mapping[str, Any] = {
    "spectral_radius": 1.5,
    "seq_len": 50,
    "clip": "none",
    "clip_threshold": 1.0,
    "max_seq_len": 200,
    "n_hidden": 32,
    "n_samples": 16,
    "seed": 0,
}
"""Defaults of :func:`rnn_explorer`: at radius 1.5 the gradient grows by more than two orders of
magnitude over 50 steps; an update (two short BPTT runs and the figure) takes 0.1-0.3 s."""

_CLIP_LABELS = (("none", "none"), ("global norm", "norm"), ("by value", "value"))


def rnn_explorer(**options: Any) -> Explorer:
    """Spectral radius, sequence length and clipping against the gradient through time.

    The figure shows $\\|\\partial L/\\partial h_t\\|$ for every time step t of a freshly
    initialised tanh RNN (:func:`bpcourse.dynamics.rnn_gradient_norms`) on a log scale:
    below a spectral radius of 1 the gradient vanishes towards the first step, above 1 it
    explodes. With a clipping mode the gradient reaching each state is clipped (to a norm of
    at most the threshold, or entry by entry to [-threshold, threshold]) before it flows
    further back; the unclipped curve stays visible in grey.

    Args:
        **options: any of :data:`RNN_DEFAULTS`: ``spectral_radius``, ``seq_len``, ``clip``
            ("none", "norm", "value"), ``clip_threshold``, ``max_seq_len``, ``n_hidden``,
            ``n_samples``, ``seed``.

    Returns:
        An :class:`Explorer` with controls ``"spectral radius"``, ``"sequence length"``,
        ``"clipping"`` and ``"clip threshold"``.

    Example:
        >>> explorer = rnn_explorer()
        >>> explorer.controls["clipping"].value = "norm"    # recomputes and redraws
        >>> explorer.last_error is None
        True
    """
    o = _options(options, RNN_DEFAULTS)
    rho = check_positive_number("spectral_radius", o["spectral_radius"])
    max_len = check_positive_int("max_seq_len", o["max_seq_len"], minimum=2)
    seq_len = check_positive_int("seq_len", o["seq_len"], minimum=2)
    if seq_len > max_len:
        raise ValueError(f"seq_len: expected at most max_seq_len={max_len}, got {seq_len}")
    if not 0.1 <= rho <= 3.0:
        raise ValueError(f"spectral_radius: expected a number in [0.1, 3], got {rho!r}")
    clip = check_choice("clip", o["clip"], [v for _, v in _CLIP_LABELS])
    threshold = check_positive_number("clip_threshold", o["clip_threshold"])
    n_hidden = check_positive_int("n_hidden", o["n_hidden"])
    n_samples = check_positive_int("n_samples", o["n_samples"])
    seed = check_positive_int("seed", o["seed"], minimum=0)

    style = {"description_width": "initial"}
    controls: dict[str, widgets.ValueWidget] = {
        "spectral radius": widgets.FloatSlider(
            value=rho,
            min=0.1,
            max=3.0,
            step=0.05,
            description="spectral radius",
            continuous_update=False,
            style=style,
        ),
        "sequence length": widgets.IntSlider(
            value=seq_len,
            min=2,
            max=max_len,
            description="sequence length",
            continuous_update=False,
            style=style,
        ),
        "clipping": widgets.Dropdown(
            options=list(_CLIP_LABELS), value=clip, description="clipping"
        ),
        "clip threshold": _log_slider("clip threshold", threshold, 1e-2, 1e2),
    }

    def render(values: dict[str, Any], progress: Callable[[int, int], None]) -> bytes:
        radius, length = values["spectral radius"], values["sequence length"]
        kw = {"n_hidden": n_hidden, "n_samples": n_samples}
        raw = dynamics.rnn_gradient_norms(radius, length, None, seed, **kw)
        mode = values["clipping"]
        if mode == "none":
            norms, shown_raw, how = raw, None, "no clipping"
        else:
            rule = (mode, values["clip threshold"])
            norms = dynamics.rnn_gradient_norms(radius, length, rule, seed, **kw)
            shown_raw = raw
            label = dict((v, k) for k, v in _CLIP_LABELS)[mode]
            how = f"clipped ({label}) at {values['clip threshold']:.3g}"
        fig = plots.plot_rnn_gradient_norms(
            norms,
            raw_norms=shown_raw,
            spectral_radius=radius,
            title=f"ρ = {radius:.3g}, T = {length}, {how}: first/last {norms[0] / norms[-1]:.2g}",
        )
        return plots.figure_to_png(fig, dpi=72)

    return Explorer(
        controls,
        render,
        rows=[["spectral radius", "sequence length"], ["clipping", "clip threshold"]],
    )


# --- the digit explorer (lesson 07) ----------------------------------------------------------

#: What :func:`digit_explorer` trains and shows when it is given no network: lesson 07's split
#: of the digits (a quarter held out for validation, every class in proportion) and its
#: network (eight 3 × 3 kernels), trained for fewer epochs (about 95 % on the held-out
#: quarter, in a fraction of a second).
DIGIT_DEFAULTS: Mapping[str, Any] = {"val_fraction": 0.25, "n_kernels": 8, "epochs": 5, "seed": 0}


def _default_digits() -> tuple[DigitCNN, Any, Any]:
    """A DigitCNN trained as :data:`DIGIT_DEFAULTS` says, and the held-out images and labels."""
    images, labels = data.load_digits()
    flat = images.reshape(len(images), -1)
    seed = DIGIT_DEFAULTS["seed"]
    X_tr, X_va, y_tr, y_va = data.train_val_split(
        flat, labels, val_fraction=DIGIT_DEFAULTS["val_fraction"], seed=seed, stratify=True
    )
    X_tr, X_va = X_tr.reshape(-1, *images.shape[1:]), X_va.reshape(-1, *images.shape[1:])
    model = DigitCNN.init(n_kernels=DIGIT_DEFAULTS["n_kernels"], seed=seed)
    trained, _ = dynamics.train_digit_cnn(
        model, X_tr, y_tr, X_va, y_va, epochs=DIGIT_DEFAULTS["epochs"], seed=seed
    )
    return trained, X_va, y_va


def digit_explorer(
    model: DigitCNN | None = None, X: Any = None, y: Any = None, index: int = 0
) -> Explorer:
    """Saliency and kernel responses of a trained :class:`~bpcourse.dynamics.DigitCNN`, digit
    by digit.

    Called with no network, it trains one first (:data:`DIGIT_DEFAULTS`, under a second) and
    shows the digits it did not train on.

    Args:
        model: the trained network; ``None`` for the default one.
        X: (N, 1, 8, 8) images to pick from; ``None`` for the default network's held-out
            digits (then ``y`` must be ``None`` too). y: (N,) their labels.
        index: the image shown first.

    Returns:
        An :class:`~bpcourse.widgets.Explorer` with the controls ``"digit"`` (which image),
        ``"blank patch"`` (set a 2 × 2 patch of the image to 0: how do the saliency and the
        prediction change?), ``"patch row"`` and ``"patch column"`` (where that patch is).
    """
    if (X is None) != (y is None):
        given, missing = ("X", "y") if y is None else ("y", "X")
        raise ValueError(
            f"{missing}: expected {'labels' if missing == 'y' else 'images'} with {given}, "
            f"got None (give X and y together, or neither for the held-out digits)"
        )
    if model is None or X is None:
        default_model, X_default, y_default = _default_digits()
        model = default_model if model is None else model
        if X is None:
            X, y = X_default, y_default
    if not isinstance(model, DigitCNN):
        raise TypeError(f"model: expected a DigitCNN or None, got {describe(model)}")
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
