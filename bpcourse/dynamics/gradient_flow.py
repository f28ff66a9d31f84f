r"""Gradient flow through depth at initialisation (lesson 05) and the experiment behind the
gradient-flow explorer.

:func:`layer_gradient_norms` measures one gradient norm per hidden layer of a freshly
initialised network, :func:`layer_statistics` what the activations look like layer by layer,
:func:`theoretical_gradient_scale` how the norms should scale with depth, and
:func:`gradient_flow_experiment` bundles them with a short training run for the explorer.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from bpcourse import nn
from bpcourse._validate import (
    as_array,
    check_choice,
    check_positive_int,
    check_positive_number,
    describe,
)
from bpcourse.data import load_dataset
from bpcourse.dynamics._checks import _check_activation, _check_init, _check_seed, _readonly
from bpcourse.dynamics.training import TrainResult, _check_clip, train
from bpcourse.nn.activations import SaturationRule

GRADIENT_NORM_KINDS: tuple[str, ...] = ("delta", "weight")
"""What :func:`layer_gradient_norms` measures per layer: see its docstring."""

BIAS_INITS: tuple[str, ...] = ("zeros", "normal")
"""How the probe network's biases start: zeros (as ``MLP``) or $\\mathcal N(0, 1)$ (Nielsen)."""

INPUT_DISTRIBUTIONS: Mapping[str, Callable[[np.random.Generator, tuple[int, int]], np.ndarray]] = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "uniform": lambda rng, shape: rng.uniform(0.0, 1.0, shape),
}
"""Probe inputs: standardised features ``"normal"`` or pixel-like values in [0, 1] ``"uniform"``."""


class _SaturationRules(Mapping[str, tuple[SaturationRule, str]]):
    """The saturation rules of the registered activations, read live from
    :data:`bpcourse.nn.ACTIVATIONS` (an activation registered there appears here)."""

    def __getitem__(self, name: str) -> tuple[SaturationRule, str]:
        rule = nn.ACTIVATIONS[name].saturation
        if rule is None:
            raise KeyError(name)
        return rule

    def __iter__(self) -> Iterator[str]:
        return (name for name, act in nn.ACTIVATIONS.items() if act.saturation is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


SATURATION_RULES: Mapping[str, tuple[SaturationRule, str]] = _SaturationRules()
"""Per activation: a test ``rule(Z, A) -> bool array`` of entries where the derivative is
(nearly) zero, and a short description of it for plot labels (from the activation registry)."""


def _probe_targets(rng: np.random.Generator, loss: str, n_samples: int, n_out: int) -> np.ndarray:
    labels = rng.integers(0, n_out, size=n_samples)
    if loss == "softmax_cross_entropy":
        return labels
    return np.eye(n_out)[labels]


class _ProbeKey(NamedTuple):
    """One checked probe setting: the key of the probe caches."""

    depth: int
    width: int
    activation: str
    init: str
    seed: int
    n_samples: int
    n_in: int
    n_out: int
    loss: str
    bias_init: str
    inputs: str
    output_activation: str


def _probe_setup(key: _ProbeKey) -> tuple[Any, np.ndarray, np.ndarray, str]:
    """The fresh network, the probe batch and the loss for one (checked) setting."""
    k = key
    sizes = (k.n_in, *([k.width] * k.depth), k.n_out)
    model = nn.MLP(sizes, k.activation, k.output_activation, init=k.init, seed=k.seed)
    rng = np.random.default_rng([k.seed, 1])  # data stream independent of the weights' stream
    if k.bias_init == "normal":
        for b in model.biases:
            b[...] = rng.standard_normal(b.shape)
    X = INPUT_DISTRIBUTIONS[k.inputs](rng, (k.n_samples, k.n_in))
    y = _probe_targets(rng, k.loss, k.n_samples, k.n_out)
    return model, X, y, k.loss


@functools.lru_cache(maxsize=512)
def _probe_norms(key: _ProbeKey) -> tuple[np.ndarray, np.ndarray]:
    """``(delta_norms, weight_norms)`` of every layer, output layer included (read-only)."""
    model, X, y, loss = _probe_setup(key)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        _, dweights, dbiases = model.loss_and_gradients(X, y, loss=loss)
        delta_norms = np.array([np.linalg.norm(db) for db in dbiases])
        weight_norms = np.array([np.linalg.norm(dW) for dW in dweights])
    return _readonly(delta_norms), _readonly(weight_norms)


@functools.lru_cache(maxsize=128)
def _probe_statistics(key: _ProbeKey) -> tuple[np.ndarray, ...]:
    """Per hidden layer: mean, std, saturation, dead units, rms slope (read-only arrays)."""
    model, X, y, loss = _probe_setup(key)
    activation, depth = key.activation, key.depth
    rule = SATURATION_RULES[activation][0] if activation in SATURATION_RULES else None
    columns: list[list[float]] = [[], [], [], [], []]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        trace = model.backprop(X, y, loss=loss)
        for l in range(depth):
            Z, A = trace.Z[l], trace.A[l + 1]
            flags = rule(Z, A) if rule is not None else np.zeros(Z.shape, dtype=bool)
            dA = nn.ACTIVATIONS[activation].df(Z, A)  # the kernel: no finiteness check
            values = (
                A.mean(),
                A.std(),
                flags.mean(),
                flags.all(axis=0).mean(),
                np.sqrt(np.mean(dA * dA)),
            )
            for column, value in zip(columns, values):
                column.append(float(value))
    return tuple(_readonly(np.array(c, dtype=np.float64)) for c in columns)


def _probe_args(
    depth: Any,
    width: Any,
    activation: Any,
    init: Any,
    seed: Any,
    n_samples: Any,
    n_in: Any,
    n_out: Any,
    loss: Any,
    bias_init: Any,
    inputs: Any,
    output_activation: Any,
) -> _ProbeKey:
    width = check_positive_int("width", width)
    return _ProbeKey(
        depth=check_positive_int("depth", depth),
        width=width,
        activation=_check_activation("activation", activation),
        init=_check_init(init),
        seed=_check_seed(seed),
        n_samples=check_positive_int("n_samples", n_samples),
        n_in=width if n_in is None else check_positive_int("n_in", n_in),
        n_out=check_positive_int(
            "n_out", n_out, minimum=2 if loss == "softmax_cross_entropy" else 1
        ),
        loss=check_choice("loss", loss, nn.LOSSES),
        bias_init=check_choice("bias_init", bias_init, BIAS_INITS),
        inputs=check_choice("inputs", inputs, INPUT_DISTRIBUTIONS),
        output_activation=_check_activation("output_activation", output_activation),
    )


def layer_gradient_norms(
    depth: int,
    width: int = 30,
    activation: str = "sigmoid",
    init: str = "xavier",
    seed: int = 0,
    *,
    n_samples: int = 100,
    n_in: int | None = None,
    n_out: int = 10,
    loss: str = "mse",
    kind: str = "delta",
    bias_init: str = "zeros",
    inputs: str = "normal",
    output_activation: str = "identity",
    include_output: bool = False,
) -> np.ndarray:
    r"""Gradient norm of every hidden layer of a freshly initialised network, first layer first.

    The network is ``MLP((n_in, width, ..., width, n_out))`` with ``depth`` hidden layers of
    ``width`` units, built with ``activation`` and ``init`` and the given ``seed``. One batch of
    ``n_samples`` random inputs (``inputs``: $\mathcal N(0,1)$ or $U(0,1)$ entries) with random
    class targets (one-hot rows for ``"mse"``, integer labels for ``"softmax_cross_entropy"``)
    goes forward and backward once, and for each layer $l$ this returns

    - ``kind="delta"`` (default): $\lVert \partial L / \partial b^l \rVert_2 =
      \lVert \sum_n \delta^l_n \rVert_2$, the norm of the error signal
      $\delta^l = \partial L / \partial z^l$ summed over the batch (with a mean loss this is
      the batch-mean error). This is the quantity Nielsen plots ("the speed of learning" of
      layer $l$'s biases).
    - ``kind="weight"``: $\lVert \partial L / \partial W^l \rVert_F$, the Frobenius norm of the
      weight gradient $A^{l-1\top} \delta^l$.

    Nielsen's setting (*Neural Networks and Deep Learning*, ch. 5: 784-30-30-30-30-10, sigmoid
    output, quadratic cost, $\mathcal N(0, 1/n_\text{in})$ weights and $\mathcal N(0,1)$ biases,
    $\lVert\delta\rVert \approx 0.003, 0.017, 0.070, 0.285$) is
    ``layer_gradient_norms(4, 30, "sigmoid", "lecun", n_in=784, inputs="uniform",
    bias_init="normal", output_activation="sigmoid", n_samples=1000)``. Our mean squared
    error is his quadratic cost divided by 5 (the mean over 10 outputs instead of half the
    sum) and the inputs are random pixels rather than MNIST digits, so the absolute values
    are smaller (about $10^{-4}$ to $10^{-2}$); the ratio between the last and the first
    hidden layer, about 100, is what carries over (``tests/test_phenomena.py``).

    Args:
        depth: number of hidden layers (>= 1).
        width: units per hidden layer (>= 1).
        activation: hidden activation, a name in ``nn.ACTIVATIONS``.
        init: weight initialisation, a name in ``nn.INITS``.
        seed: seeds the weights and (on a separate stream) the probe batch.
        n_samples: batch size N of the probe.
        n_in: input width; defaults to ``width``.
        n_out: output width (number of classes of the random targets).
        loss: ``"mse"`` or ``"softmax_cross_entropy"``.
        kind: ``"delta"`` or ``"weight"`` (see above).
        bias_init: ``"zeros"`` (as ``MLP`` starts) or ``"normal"``, $\mathcal N(0, 1)$.
        inputs: ``"normal"`` or ``"uniform"``.
        output_activation: activation of the output layer.
        include_output: also append the output layer's norm (then ``depth + 1`` values).

    Returns:
        ``(depth,)`` float64 array (or ``(depth + 1,)`` with ``include_output``), first
        hidden layer first. A value may be ``inf`` or ``0`` when the signal over- or
        underflows float64 (deep networks with a bad initialisation).

    Example:
        >>> norms = layer_gradient_norms(20, 30, "sigmoid", "xavier")
        >>> bool(norms[-1] / norms[0] > 1e8)   # vanishing: the first layer learns far slower
        True
    """
    args = _probe_args(
        depth,
        width,
        activation,
        init,
        seed,
        n_samples,
        n_in,
        n_out,
        loss,
        bias_init,
        inputs,
        output_activation,
    )
    check_choice("kind", kind, GRADIENT_NORM_KINDS)
    return _layer_gradient_norms(args, kind, include_output)


def _layer_gradient_norms(key: _ProbeKey, kind: str, include_output: bool) -> np.ndarray:
    """:func:`layer_gradient_norms` for a checked setting."""
    delta_norms, weight_norms = _probe_norms(key)
    norms = delta_norms if kind == "delta" else weight_norms
    return np.array(norms if include_output else norms[:-1])


@dataclass(frozen=True)
class LayerStatistics:
    """What the hidden activations of a fresh network look like, one entry per hidden layer.

    Attributes:
        mean: mean activation, ``(depth,)``.
        std: standard deviation of the activations, ``(depth,)``.
        saturation: fraction of entries where the activation's derivative is (nearly) zero,
            ``(depth,)``; what counts is in ``saturation_rule``.
        dead_units: fraction of units saturated for *every* sample of the batch, ``(depth,)``
            (for ReLU: dead units, which pass no gradient at all).
        derivative_rms: root mean square of $f'(z)$ over the batch, ``(depth,)``: the factor by
            which the error signal is scaled, on average, on its way through the activation.
        saturation_rule: e.g. ``"|a| > 0.99"`` for tanh.
        activation: the activation's name.
    """

    mean: np.ndarray
    std: np.ndarray
    saturation: np.ndarray
    dead_units: np.ndarray
    derivative_rms: np.ndarray
    saturation_rule: str
    activation: str


def layer_statistics(
    depth: int,
    width: int = 30,
    activation: str = "sigmoid",
    init: str = "xavier",
    seed: int = 0,
    *,
    n_samples: int = 100,
    n_in: int | None = None,
    n_out: int = 10,
    bias_init: str = "zeros",
    inputs: str = "normal",
) -> LayerStatistics:
    """Per-layer activation mean, spread and saturation of the network that
    :func:`layer_gradient_norms` probes (same arguments, same seed, same batch).

    Saturation means the activation sits where its slope is almost zero: $a$ within 0.01 of 0
    or 1 for sigmoid, $|a| > 0.99$ for tanh, $z \\le 0$ (output 0) for ReLU. Saturated units
    block the gradient, which is one cause of vanishing gradients.

    Returns:
        A :class:`LayerStatistics` with arrays of shape ``(depth,)``.
    """
    args = _probe_args(
        depth,
        width,
        activation,
        init,
        seed,
        n_samples,
        n_in,
        n_out,
        "mse",
        bias_init,
        inputs,
        "identity",
    )
    mean, std, saturation, dead_units, derivative_rms = _probe_statistics(args)
    _, rule_text = SATURATION_RULES.get(args.activation, (None, "not defined for this activation"))
    return LayerStatistics(
        mean=np.array(mean),
        std=np.array(std),
        saturation=np.array(saturation),
        dead_units=np.array(dead_units),
        derivative_rms=np.array(derivative_rms),
        saturation_rule=rule_text,
        activation=args.activation,
    )


@dataclass(frozen=True)
class GradientScalePrediction:
    r"""How gradient norms should scale from layer to layer, relative to the last hidden layer.

    Attributes:
        scale: ``(depth,)`` predicted norm of each hidden layer divided by the last one's:
            ``factor ** (depth - 1 - l)`` for layer ``l`` (so ``scale[-1] == 1``). Multiply by
            a measured last-layer norm to draw the prediction next to a measurement.
        factor: the predicted ratio between consecutive layers,
            $\sqrt{n\,\sigma_w^2}\cdot s$ with $n$ the width, $\sigma_w^2$ the initial weight
            variance and $s$ the slope factor of the activation.
        kind: ``"upper bound"`` (the slope factor is the activation's largest slope, so the
            measured decay is at least this fast) or ``"estimate"``.
        description: a short legend text, e.g. ``"upper bound 0.25^k (σ′ ≤ 1/4)"`` with
            ``k`` the number of layers between a layer and the last one.
    """

    scale: np.ndarray
    factor: float
    kind: str
    description: str


def theoretical_gradient_scale(
    depth: int, activation: str, init: str, width: int
) -> GradientScalePrediction | None:
    r"""Predicted per-layer gradient scale of a ``depth``-hidden-layer network at initialisation.

    Going back one layer, backpropagation computes $\delta^{l} = (\delta^{l+1} W^{l+1\top})
    \odot f'(z^l)$. A random matrix with entries of variance $\sigma_w^2$ and $n$ rows
    multiplies the length of a typical vector by $\sqrt{n\,\sigma_w^2}$, and the activation's
    slope scales it by about $s$, so each layer multiplies the norm by
    $g = \sqrt{n\,\sigma_w^2}\, s$ and layer $l$ of $D$ sits at $g^{D-1-l}$ times the last.

    - sigmoid: $s = \max \sigma' = 1/4$, an upper bound: with Xavier/LeCun weights
      ($n\sigma_w^2 = 1$) the gradient shrinks at least $4\times$ per layer, so $4^{-(D-1)}$.
    - tanh: $s = \max \tanh' = 1$, an upper bound.
    - ReLU with He weights: $n\sigma_w^2 = 2$ and half the units pass, $s = \sqrt{1/2}$, so
      $g = 1$: the norm is preserved with depth (He et al., 2015).
    - identity: $g = \sqrt{n \sigma_w^2}$ exactly in expectation.

    Args:
        depth: number of hidden layers (>= 1).
        activation: hidden activation name.
        init: initialisation name.
        width: hidden width $n$ (the hidden layers are square, so fan-in = fan-out = $n$).

    Returns:
        A :class:`GradientScalePrediction`, or ``None`` when no prediction is known for this
        activation or initialisation.
    """
    return _theoretical_gradient_scale(
        check_positive_int("depth", depth),
        _check_activation("activation", activation),
        _check_init(init),
        check_positive_int("width", width),
    )


def _theoretical_gradient_scale(
    depth: int, activation: str, init: str, width: int
) -> GradientScalePrediction | None:
    """:func:`theoretical_gradient_scale` for checked arguments."""
    slope_rule = nn.ACTIVATIONS[activation].slope
    if slope_rule is None:
        return None
    slope, kind, slope_text = slope_rule
    gain = math.sqrt(width * nn.INITS[init].variance(width, width))
    factor = gain * slope
    exponents = np.arange(depth - 1, -1, -1, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        scale = factor**exponents
    text = f"{kind} {factor:.3g}^k ({slope_text})"
    return GradientScalePrediction(scale=scale, factor=factor, kind=kind, description=text)


# --- the gradient-flow explorer's experiment -------------------------------------------------


@dataclass(frozen=True)
class GradientFlowReport:
    """Everything the gradient-flow explorer shows for one setting (arrays are read-only).

    Attributes:
        norms: ``(depth,)`` gradient norms of the hidden layers at initialisation
            (:func:`layer_gradient_norms`, ``kind="delta"``).
        prediction: :func:`theoretical_gradient_scale` for the setting, or ``None``.
        run: a short training run of the same architecture (without its model).
        settings: the arguments, for titles.
    """

    norms: np.ndarray
    prediction: GradientScalePrediction | None
    run: TrainResult
    settings: Mapping[str, Any]


@functools.lru_cache(maxsize=256)
def _gradient_flow_cached(
    depth: int,
    width: int,
    activation: str,
    init: str,
    lr: float,
    clip: tuple[str, float] | None,
    num_epochs: int,
    seed: int,
    n_samples: int,
    dataset: str,
) -> GradientFlowReport:
    # the arguments are checked once, by gradient_flow_experiment: the unchecked kernels here
    probe = _ProbeKey(
        depth=depth,
        width=width,
        activation=activation,
        init=init,
        seed=seed,
        n_samples=n_samples,
        n_in=width,
        n_out=10,
        loss="mse",
        bias_init="zeros",
        inputs="normal",
        output_activation="identity",
    )
    norms = _readonly(_layer_gradient_norms(probe, "delta", include_output=False))
    prediction = _theoretical_gradient_scale(depth, activation, init, width)
    data = load_dataset(dataset, seed=seed, n_samples=n_samples)
    run = train(
        data,
        lr=lr,
        num_epochs=num_epochs,
        layer_sizes=(data.n_features, *([width] * depth), data.n_outputs),
        activation=activation,
        init=init,
        clip=clip,
        seed=seed,
    )
    frozen: dict[str, Any] = {}
    for field in dataclasses.fields(run):
        value = getattr(run, field.name)
        frozen[field.name] = _readonly(value) if isinstance(value, np.ndarray) else value
    frozen["model"] = None
    settings = {
        "depth": depth,
        "width": width,
        "activation": activation,
        "init": init,
        "lr": lr,
        "clip": clip,
        "num_epochs": num_epochs,
        "dataset": dataset,
    }
    return GradientFlowReport(norms, prediction, TrainResult(**frozen), settings)


def gradient_flow_experiment(
    depth: int,
    width: int = 30,
    activation: str = "sigmoid",
    init: str = "xavier",
    lr: float = 0.1,
    clip: tuple[str, float] | None = None,
    *,
    num_epochs: int = 8,
    seed: int = 0,
    n_samples: int = 32,
    dataset: str = "moons",
) -> GradientFlowReport:
    """Gradient norms at initialisation plus a short training run, for one explorer setting.

    Results are cached by their arguments (a repeated setting costs nothing), which is why the
    returned arrays are read-only and the run carries no model.

    Args:
        depth, width, activation, init: the network (``depth`` hidden layers of ``width``).
        lr: learning rate of the short run.
        clip: ``None`` or ``("norm", t)`` / ``("value", t)`` for the short run.
        num_epochs: full-batch steps of the short run.
        seed: seed of everything.
        n_samples: batch size of the probe and size of the training data.
        dataset: a generated classification data set for the run (``"moons"``, ``"spirals"``).

    Returns:
        A :class:`GradientFlowReport`.
    """
    clip_rule = _check_clip(clip)
    return _gradient_flow_cached(
        check_positive_int("depth", depth),
        check_positive_int("width", width),
        _check_activation("activation", activation),
        _check_init(init),
        check_positive_number("lr", lr),
        clip_rule,
        check_positive_int("num_epochs", num_epochs),
        _check_seed(seed),
        check_positive_int("n_samples", n_samples, minimum=8),
        check_choice("dataset", dataset, ("moons", "spirals")),
    )


def trace_gradient_norms(trace: Any) -> np.ndarray:
    r"""Per-layer gradient norms of one backward pass, first layer first, output layer last.

    For layer $l$ this is $\lVert \sum_n \delta^l_n \rVert_2$, the error signal
    $\delta^l = \partial L/\partial z^l$ summed over the batch, which equals
    $\lVert \partial L / \partial b^l \rVert_2$: the quantity :func:`layer_gradient_norms`
    reports (with ``include_output=True``).

    Args:
        trace: a :class:`bpcourse.nn.Trace` from ``MLP.backprop``.

    Returns:
        ``(L,)`` float64 array, one norm per layer.
    """
    deltas = getattr(trace, "deltas", None)
    if not isinstance(deltas, (list, tuple)) or not deltas:
        raise TypeError(f"trace: expected a Trace from MLP.backprop, got {describe(trace)}")
    return np.array(
        [
            float(np.linalg.norm(np.sum(as_array(f"trace.deltas[{l}]", d, ndim=2), axis=0)))
            for l, d in enumerate(deltas)
        ]
    )
