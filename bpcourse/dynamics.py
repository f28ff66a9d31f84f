r"""Experiments behind the explorers: gradient flow through depth, training runs, quadratics.

Everything here is a pure function of its arguments (seeded), returns numbers and arrays,
draws nothing, and is unit-tested without a kernel. The explorers in :mod:`bpcourse.widgets`
call these functions and hand the results to :mod:`bpcourse.plots`.

Gradient flow (lesson 05)
    :func:`layer_gradient_norms` measures, for a freshly initialised network of ``depth``
    hidden layers, one gradient norm per hidden layer (first layer first);
    :func:`layer_statistics` reports what the activations look like layer by layer;
    :func:`theoretical_gradient_scale` says how the norms *should* scale with depth.

Training (lesson 04)
    :func:`train` runs gradient descent on a small data set and records train and
    validation loss, divergence, per-layer gradient norms and how far each layer moved.

Learning rate on a quadratic (lesson 04)
    :func:`quadratic_descent` and :func:`quadratic_descent_2d` run gradient descent on
    $f(x) = \tfrac{c}{2} x^2$ (and on an ill-conditioned 2-D bowl), where the step multiplies
    $x$ by $1 - \eta c$: it converges for $\eta < 2/c$ and diverges for $\eta > 2/c$.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse import nn
from bpcourse._validate import (
    as_array,
    check_choice,
    check_clip,
    check_nonnegative_number,
    check_positive_int,
    check_positive_number,
    describe,
)
from bpcourse.data import Dataset, load_dataset, standardize, train_val_split
from bpcourse.optim import OPTIMIZERS, clip_grad_norm, clip_grad_value, make_optimizer

__all__ = [
    "BIAS_INITS",
    "GRADIENT_NORM_KINDS",
    "INPUT_DISTRIBUTIONS",
    "SATURATION_RULES",
    "GradientCost",
    "GradientFlowReport",
    "GradientScalePrediction",
    "LayerStatistics",
    "RNNTrainResult",
    "TrainResult",
    "delay_task",
    "early_stopping_epoch",
    "gradient_cost",
    "gradient_flow_experiment",
    "largest_stable_lr",
    "layer_gradient_norms",
    "layer_statistics",
    "quadratic_descent",
    "quadratic_descent_2d",
    "quadratic_regime",
    "rnn_gradient_norms",
    "sgd_epoch",
    "theoretical_gradient_scale",
    "trace_gradient_norms",
    "train",
    "train_rnn",
]


# --- shared checks ----------------------------------------------------------------------------


def _check_seed(seed: Any) -> int:
    return check_positive_int("seed", seed, minimum=0)


def _check_activation(name: str, value: Any) -> str:
    return check_choice(name, value, nn.ACTIVATIONS)


def _check_init(value: Any) -> str:
    return check_choice("init", value, nn.INITS)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


# --- gradient flow through a deep network at initialisation (lesson 05) ------------------------

GRADIENT_NORM_KINDS: tuple[str, ...] = ("delta", "weight")
"""What :func:`layer_gradient_norms` measures per layer: see its docstring."""

BIAS_INITS: tuple[str, ...] = ("zeros", "normal")
"""How the probe network's biases start: zeros (as ``MLP``) or $\\mathcal N(0, 1)$ (Nielsen)."""

INPUT_DISTRIBUTIONS: Mapping[str, Callable[[np.random.Generator, tuple[int, int]], np.ndarray]] = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "uniform": lambda rng, shape: rng.uniform(0.0, 1.0, shape),
}
"""Probe inputs: standardised features ``"normal"`` or pixel-like values in [0, 1] ``"uniform"``."""


SATURATION_RULES: Mapping[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str]] = {
    "sigmoid": (lambda Z, A: (A < 0.01) | (A > 0.99), "a < 0.01 or a > 0.99"),
    "tanh": (lambda Z, A: np.abs(A) > 0.99, "|a| > 0.99"),
    "relu": (lambda Z, A: Z <= 0, "a = 0 (unit off)"),
    "leaky_relu": (lambda Z, A: Z <= 0, "z <= 0 (small slope)"),
    "identity": (lambda Z, A: np.zeros(Z.shape, dtype=bool), "never saturates"),
}
"""Per activation: a test ``rule(Z, A) -> bool array`` of entries where the derivative is
(nearly) zero, and a short description of it for plot labels."""


def _probe_targets(rng: np.random.Generator, loss: str, n_samples: int, n_out: int) -> np.ndarray:
    labels = rng.integers(0, n_out, size=n_samples)
    if loss == "softmax_cross_entropy":
        return labels
    return np.eye(n_out)[labels]


_ProbeKey = tuple[int, int, str, str, int, int, int, int, str, str, str, str]


def _probe_setup(key: _ProbeKey) -> tuple[Any, np.ndarray, np.ndarray, str]:
    """The fresh network, the probe batch and the loss for one (checked) setting."""
    (depth, width, activation, init, seed, n_samples, n_in, n_out, loss, bias_init, inputs,
     output_activation) = key  # fmt: skip
    sizes = (n_in, *([width] * depth), n_out)
    model = nn.MLP(sizes, activation, output_activation, init=init, seed=seed)
    rng = np.random.default_rng([seed, 1])  # data stream independent of the weights' stream
    if bias_init == "normal":
        for b in model.biases:
            b[...] = rng.standard_normal(b.shape)
    X = INPUT_DISTRIBUTIONS[inputs](rng, (n_samples, n_in))
    y = _probe_targets(rng, loss, n_samples, n_out)
    return model, X, y, loss


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
    activation, depth = key[2], key[0]
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
    depth = check_positive_int("depth", depth)
    width = check_positive_int("width", width)
    return (
        depth,
        width,
        _check_activation("activation", activation),
        _check_init(init),
        _check_seed(seed),
        check_positive_int("n_samples", n_samples),
        width if n_in is None else check_positive_int("n_in", n_in),
        check_positive_int("n_out", n_out, minimum=2 if loss == "softmax_cross_entropy" else 1),
        check_choice("loss", loss, nn.LOSSES),
        check_choice("bias_init", bias_init, BIAS_INITS),
        check_choice("inputs", inputs, INPUT_DISTRIBUTIONS),
        _check_activation("output_activation", output_activation),
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
    delta_norms, weight_norms = _probe_norms(args)
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
    _, rule_text = SATURATION_RULES.get(args[2], (None, "not defined for this activation"))
    return LayerStatistics(
        mean=np.array(mean),
        std=np.array(std),
        saturation=np.array(saturation),
        dead_units=np.array(dead_units),
        derivative_rms=np.array(derivative_rms),
        saturation_rule=rule_text,
        activation=args[2],
    )


# Variance of the initial weights of a layer with n_in inputs and n_out outputs.
_INIT_VARIANCE: Mapping[str, Callable[[int, int], float]] = {
    "normal": lambda n_in, n_out: 1.0,
    "lecun": lambda n_in, n_out: 1.0 / n_in,
    "xavier": lambda n_in, n_out: 2.0 / (n_in + n_out),
    "he": lambda n_in, n_out: 2.0 / n_in,
}

# Per activation: (slope factor, kind, how the factor was obtained).
_SLOPE_FACTOR: Mapping[str, tuple[float, str, str]] = {
    "sigmoid": (0.25, "upper bound", "σ′ ≤ 1/4"),
    "tanh": (1.0, "upper bound", "tanh′ ≤ 1"),
    "relu": (math.sqrt(0.5), "estimate", "half the units pass"),
    "leaky_relu": (
        math.sqrt((1.0 + nn.LEAKY_RELU_SLOPE**2) / 2.0),
        "estimate",
        "half the units at a small slope",
    ),
    "identity": (1.0, "estimate", "slope 1"),
}


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
    depth = check_positive_int("depth", depth)
    width = check_positive_int("width", width)
    activation = _check_activation("activation", activation)
    init = _check_init(init)
    if activation not in _SLOPE_FACTOR or init not in _INIT_VARIANCE:
        return None
    slope, kind, slope_text = _SLOPE_FACTOR[activation]
    gain = math.sqrt(width * _INIT_VARIANCE[init](width, width))
    factor = gain * slope
    exponents = np.arange(depth - 1, -1, -1, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        scale = factor**exponents
    text = f"{kind} {factor:.3g}^k ({slope_text})"
    return GradientScalePrediction(scale=scale, factor=factor, kind=kind, description=text)


# --- training runs (lesson 04) -----------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` recorded.

    The loss arrays have one entry per recorded epoch: index 0 is before training, index
    ``k`` after ``k`` epochs. A run that diverged stops at the first bad epoch, which is not
    recorded (every recorded loss is finite).

    Attributes:
        epochs: ``(K + 1,)`` epoch numbers 0..K of the recorded losses.
        train_loss: ``(K + 1,)`` data loss on the training part (without the L2 penalty).
        val_loss: ``(K + 1,)`` data loss on the validation part.
        train_accuracy: ``(K + 1,)`` for classification, else ``None``.
        val_accuracy: ``(K + 1,)`` for classification, else ``None``.
        grad_norms: ``(K, L)`` Frobenius norm of $\\partial L/\\partial W^l$ for each layer
            (first layer first, output layer last), averaged over the steps of each epoch,
            before clipping.
        weight_change: ``(K + 1, L)`` relative distance moved by each layer's weights,
            $\\lVert W^l_k - W^l_0 \\rVert_F / \\lVert W^l_0 \\rVert_F$.
        diverged: whether the run stopped because the loss blew up.
        diverged_epoch: the epoch (1-based) during which it blew up, else ``None``.
        stopped_early: whether early stopping ended the run.
        best_epoch: epoch with the lowest validation loss.
        n_clipped: number of steps where clipping changed the gradient.
        task: ``"classification"`` or ``"regression"``.
        loss: the loss name used.
        config: the settings of the run (learning rate, optimizer, sizes, ...).
        model: the trained network (``None`` in cached results).
    """

    epochs: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_accuracy: np.ndarray | None
    val_accuracy: np.ndarray | None
    grad_norms: np.ndarray
    weight_change: np.ndarray
    diverged: bool
    diverged_epoch: int | None
    stopped_early: bool
    best_epoch: int
    n_clipped: int
    task: str
    loss: str
    config: Mapping[str, Any]
    model: Any = None

    @property
    def num_epochs_run(self) -> int:
        """Number of completed epochs K."""
        return int(self.epochs[-1])


def _check_clip(clip: Any) -> tuple[str, float] | None:
    return check_clip(clip, ("norm", "value"))


def _resolve_dataset(dataset: Any, seed: int, dataset_kw: Mapping[str, Any] | None) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, str):
        return load_dataset(dataset, seed=seed, **dict(dataset_kw or {}))
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        X = as_array("dataset[0] (X)", dataset[0], ndim=2)
        y_raw = np.asarray(dataset[1])
        if y_raw.ndim == 1 and np.issubdtype(y_raw.dtype, np.integer):
            if y_raw.shape[0] != X.shape[0] or y_raw.min() < 0:
                raise ValueError(
                    f"dataset[1] (y): expected {X.shape[0]} labels >= 0, got {describe(y_raw)}"
                )
            return Dataset("custom", X, y_raw, "classification", max(int(y_raw.max()) + 1, 2))
        y = as_array("dataset[1] (y)", y_raw, ndim=2)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"dataset[1] (y): expected shape ({X.shape[0]}, k) (one row per row of X) for "
                f"regression, or int labels ({X.shape[0]},), got shape {y.shape}"
            )
        return Dataset("custom", X, y, "regression", y.shape[1])
    raise TypeError(
        f"dataset: expected a name such as 'iris', a Dataset or a pair (X, y), got "
        f"{describe(dataset)}"
    )


def _evaluate(
    model: Any, X: np.ndarray, y: np.ndarray, loss_name: str, classification: bool
) -> tuple[float, float]:
    """Loss and accuracy (NaN for regression) of ``model``; inf when the output overflowed."""
    y_hat = model.forward(X)
    if not np.all(np.isfinite(y_hat)):
        return math.inf, math.nan
    value = float(nn.LOSSES[loss_name].value(y_hat, y))
    acc = float(np.mean(np.argmax(y_hat, axis=1) == y)) if classification else math.nan
    return value, acc


def train(
    dataset: str | Dataset | tuple[Any, Any] = "iris",
    *,
    lr: float = 0.1,
    optimizer: str = "sgd",
    num_epochs: int = 100,
    layer_sizes: Sequence[int] | None = None,
    activation: str = "tanh",
    init: str = "xavier",
    clip: tuple[str, float] | None = None,
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    val_fraction: float = 0.25,
    standardize_inputs: bool = True,
    seed: int = 0,
    optimizer_kw: Mapping[str, Any] | None = None,
    dataset_kw: Mapping[str, Any] | None = None,
    divergence_factor: float = 1e3,
    early_stopping_patience: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    r"""Train an MLP with gradient descent and record how it went, epoch by epoch.

    Each epoch shuffles the training part into mini-batches (one full batch by default) and
    for each batch runs forward, backward and an optimizer step. The output layer is linear;
    classification uses softmax cross-entropy and integer labels, regression mean squared
    error. With ``weight_decay`` $\lambda > 0$ the gradient of $\tfrac{\lambda}{2}\sum_l
    \lVert W^l \rVert_F^2$ is added to each weight gradient (biases are not decayed); the
    recorded losses are the data losses without that penalty.

    The run stops cleanly, with ``diverged=True``, as soon as the loss on the training part
    becomes non-finite or exceeds ``divergence_factor`` times $\max(L_0, 1)$ ($L_0$ the
    initial loss); overflow in between is silenced with ``np.errstate`` and no
    ``RuntimeWarning`` escapes.

    Args:
        dataset: a name from ``bpcourse.data.DATASETS`` (``"iris"``, ``"moons"``, ``"spirals"``,
            ``"sine"``), a :class:`~bpcourse.data.Dataset`, or a pair ``(X, y)`` with int labels
            ``y: (N,)`` (classification) or values ``y: (N, k)`` (regression).
        lr: learning rate, > 0.
        optimizer: ``"sgd"``, ``"momentum"`` or ``"adam"``.
        num_epochs: number of passes over the training part.
        layer_sizes: full sizes ``(n_features, hidden..., n_outputs)``; default
            ``(n_features, 16, n_outputs)``. The first and last must match the data.
        activation: hidden activation name.
        init: weight initialisation name.
        clip: ``None``, ``("norm", t)`` (rescale the global gradient norm to at most t) or
            ``("value", t)`` (clamp every entry to [-t, t]).
        weight_decay: L2 coefficient $\lambda \ge 0$.
        batch_size: mini-batch size; ``None`` for full-batch gradient descent.
        val_fraction: share of the data held out for validation, in (0, 1).
        standardize_inputs: scale features with the training part's mean and std.
        seed: seeds the data, the split, the initial weights and the batch order.
        optimizer_kw: extra optimizer settings, e.g. ``{"momentum": 0.9}``.
        dataset_kw: options of a generated data set, e.g. ``{"n_samples": 200}``.
        divergence_factor: how far above the initial loss counts as diverged, > 1.
        early_stopping_patience: stop when the validation loss has not improved for this many
            epochs (``None``: never).
        progress: called as ``progress(epoch, num_epochs)`` after each epoch (for a progress
            bar).

    Returns:
        A :class:`TrainResult`.

    Example:
        >>> good = train("iris", lr=0.5, num_epochs=100)
        >>> bool(good.train_loss[-1] < 0.2 * good.train_loss[0]), good.diverged
        (True, False)
    """
    lr = check_positive_number("lr", lr)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    num_epochs = check_positive_int("num_epochs", num_epochs)
    activation = _check_activation("activation", activation)
    init = _check_init(init)
    clip_rule = _check_clip(clip)
    weight_decay = check_nonnegative_number("weight_decay", weight_decay)
    seed = _check_seed(seed)
    divergence_factor = check_positive_number("divergence_factor", divergence_factor)
    if divergence_factor <= 1:
        raise ValueError(f"divergence_factor: expected a number > 1, got {divergence_factor!r}")
    patience = (
        None
        if early_stopping_patience is None
        else check_positive_int("early_stopping_patience", early_stopping_patience)
    )
    if progress is not None and not callable(progress):
        raise TypeError(f"progress: expected a callable or None, got {describe(progress)}")
    data = _resolve_dataset(dataset, seed, dataset_kw)
    classification = data.task == "classification"
    loss_name = data.loss

    if layer_sizes is None:
        sizes: tuple[int, ...] = (data.n_features, 16, data.n_outputs)
    else:
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
            raise TypeError(
                f"layer_sizes: expected a sequence of ints, got {describe(layer_sizes)}"
            )
        sizes = tuple(check_positive_int(f"layer_sizes[{i}]", s) for i, s in enumerate(layer_sizes))
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes: expected at least 2 sizes, got {sizes}")
        if sizes[0] != data.n_features or sizes[-1] != data.n_outputs:
            raise ValueError(
                f"layer_sizes: expected ({data.n_features}, ..., {data.n_outputs}) to match the "
                f"{data.n_features} features and {data.n_outputs} outputs of the data, got {sizes}"
            )

    X_tr, X_val, y_tr, y_val = train_val_split(
        data.X, data.y, val_fraction=val_fraction, seed=seed, stratify=classification
    )
    if standardize_inputs:
        X_tr, mu, sigma = standardize(X_tr)
        X_val, _, _ = standardize(X_val, mu, sigma)
    n_train = X_tr.shape[0]
    if batch_size is None:
        bs = n_train
    else:
        bs = min(check_positive_int("batch_size", batch_size), n_train)

    model = nn.MLP(sizes, activation=activation, output_activation="identity", init=init, seed=seed)
    params = model.parameters()
    opt = make_optimizer(optimizer, params, lr, **dict(optimizer_kw or {}))
    W0 = [W.copy() for W in model.weights]
    W0_norms = np.array([max(float(np.linalg.norm(W)), 1e-300) for W in W0])
    rng = np.random.default_rng([seed, 2])

    train_loss, val_loss, train_acc, val_acc = [], [], [], []
    grad_norms: list[np.ndarray] = []
    weight_change: list[np.ndarray] = [np.zeros(len(sizes) - 1)]
    diverged, diverged_epoch, stopped_early, n_clipped = False, None, False, 0

    with np.errstate(all="ignore"):
        loss0, acc0 = _evaluate(model, X_tr, y_tr, loss_name, classification)
        vloss0, vacc0 = _evaluate(model, X_val, y_val, loss_name, classification)
        if not (math.isfinite(loss0) and math.isfinite(vloss0)):
            raise ValueError(
                "the initial loss is not finite: the initialisation or the data overflow float64"
            )
        threshold = divergence_factor * max(loss0, 1.0)
        train_loss.append(loss0)
        val_loss.append(vloss0)
        train_acc.append(acc0)
        val_acc.append(vacc0)
        best_val, best_epoch, since_best = vloss0, 0, 0

        for epoch in range(1, num_epochs + 1):
            batches = (
                [(X_tr, y_tr)]
                if bs == n_train
                else [
                    (X_tr[idx], y_tr[idx])
                    for order in [rng.permutation(n_train)]
                    for idx in (order[i : i + bs] for i in range(0, n_train, bs))
                ]
            )
            epoch_norms = np.zeros(len(sizes) - 1)
            for X_b, y_b in batches:
                batch_loss, dW, db = model.loss_and_gradients(X_b, y_b, loss=loss_name)
                sq_w = [float(np.vdot(g, g)) for g in dW]
                sq_b = sum(float(np.vdot(g, g)) for g in db)
                # a NaN or inf anywhere in the gradients makes this sum non-finite
                if not (
                    math.isfinite(batch_loss)
                    and batch_loss <= threshold
                    and math.isfinite(sum(sq_w) + sq_b)
                ):
                    diverged = True
                    break
                epoch_norms += np.sqrt(sq_w)
                grads = [g for pair in zip(dW, db) for g in pair]
                if weight_decay > 0:
                    for i, W in enumerate(model.weights):
                        grads[2 * i] = grads[2 * i] + weight_decay * W
                if clip_rule is not None:
                    how, t = clip_rule
                    if how == "norm":
                        grads, total = clip_grad_norm(grads, t)
                        n_clipped += int(total > t)
                    else:
                        n_clipped += int(any(np.any(np.abs(g) > t) for g in grads))
                        grads = clip_grad_value(grads, t)
                opt.step(grads)  # parameters that overflow show up as a bad loss below
            if not diverged:
                tr_l, tr_a = _evaluate(model, X_tr, y_tr, loss_name, classification)
                va_l, va_a = _evaluate(model, X_val, y_val, loss_name, classification)
                diverged = not (math.isfinite(tr_l) and tr_l <= threshold and math.isfinite(va_l))
            if diverged:
                diverged_epoch = epoch
                break
            train_loss.append(tr_l)
            val_loss.append(va_l)
            train_acc.append(tr_a)
            val_acc.append(va_a)
            grad_norms.append(epoch_norms / len(batches))
            moved = [W - W_init for W, W_init in zip(model.weights, W0)]
            weight_change.append(np.sqrt([float(np.vdot(d, d)) for d in moved]) / W0_norms)
            if va_l < best_val:
                best_val, best_epoch, since_best = va_l, epoch, 0
            else:
                since_best += 1
            if progress is not None:
                progress(epoch, num_epochs)
            if patience is not None and since_best >= patience:
                stopped_early = True
                break

    config = {
        "dataset": data.name,
        "lr": lr,
        "optimizer": optimizer,
        "num_epochs": num_epochs,
        "layer_sizes": sizes,
        "activation": activation,
        "init": init,
        "clip": clip_rule,
        "weight_decay": weight_decay,
        "batch_size": batch_size,
        "seed": seed,
    }
    n_layers = len(sizes) - 1
    return TrainResult(
        epochs=np.arange(len(train_loss)),
        train_loss=np.array(train_loss),
        val_loss=np.array(val_loss),
        train_accuracy=np.array(train_acc) if classification else None,
        val_accuracy=np.array(val_acc) if classification else None,
        grad_norms=np.array(grad_norms).reshape(-1, n_layers),
        weight_change=np.array(weight_change).reshape(-1, n_layers),
        diverged=diverged,
        diverged_epoch=diverged_epoch,
        stopped_early=stopped_early,
        best_epoch=best_epoch,
        n_clipped=n_clipped,
        task=data.task,
        loss=loss_name,
        config=config,
        model=model,
    )


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
    norms = _readonly(
        layer_gradient_norms(depth, width, activation, init, seed, n_samples=n_samples)
    )
    prediction = theoretical_gradient_scale(depth, activation, init, width)
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


# --- gradient descent on a quadratic (lesson 04) ----------------------------------------------


def quadratic_regime(curvature: float, lr: float) -> str:
    r"""Name what gradient descent does on $f(x) = \tfrac{c}{2}x^2$ with step size $\eta$.

    Each step multiplies $x$ by $r = 1 - \eta c$:

    - $\eta < 1/c$ ($0 < r < 1$): ``"converges monotonically"``;
    - $\eta = 1/c$ ($r = 0$): ``"converges in one step"``;
    - $1/c < \eta < 2/c$ ($-1 < r < 0$): ``"oscillates and converges"``;
    - $\eta = 2/c$ ($r = -1$): ``"oscillates forever"``;
    - $\eta > 2/c$ ($r < -1$): ``"diverges"``.
    """
    c = check_positive_number("curvature", curvature)
    lr = check_positive_number("lr", lr)
    r = 1.0 - lr * c
    if math.isclose(r, 0.0, abs_tol=1e-12):
        return "converges in one step"
    if math.isclose(r, -1.0, abs_tol=1e-12):
        return "oscillates forever"
    if r > 0:
        return "converges monotonically"
    if r > -1:
        return "oscillates and converges"
    return "diverges"


def quadratic_descent(curvature: float, lr: float, steps: int = 20, x0: float = 1.0) -> np.ndarray:
    r"""Iterates of gradient descent on $f(x) = \tfrac{c}{2}x^2$, where $f'(x) = c\,x$.

    $x_{k+1} = x_k - \eta c\, x_k = (1 - \eta c)\, x_k$, so $x_k = (1-\eta c)^k x_0$: the
    iterates shrink when $|1 - \eta c| < 1$, i.e. $0 < \eta < 2/c$, and grow without bound when
    $\eta > 2/c$ (see :func:`quadratic_regime`).

    Args:
        curvature: $c = f''(x) > 0$.
        lr: step size $\eta > 0$.
        steps: number of steps.
        x0: starting point (finite).

    Returns:
        ``(steps + 1,)`` array $x_0, \dots, x_{steps}$; shorter if the iterates overflow
        float64 (the array ends at the last finite value).

    Example:
        >>> quadratic_descent(curvature=2.0, lr=0.75, steps=3)   # 1 - 1.5 = -0.5
        array([ 1.   , -0.5  ,  0.25 , -0.125])
    """
    c = check_positive_number("curvature", curvature)
    lr = check_positive_number("lr", lr)
    steps = check_positive_int("steps", steps)
    x = float(as_array("x0", x0, ndim=0))
    out = [x]
    for _ in range(steps):
        x = x - lr * c * x
        if not math.isfinite(x) or abs(x) > 1e300:
            break
        out.append(x)
    return np.array(out)


def quadratic_descent_2d(
    curvatures: tuple[float, float] = (1.0, 10.0),
    lr: float = 0.1,
    steps: int = 30,
    x0: tuple[float, float] = (1.0, 1.0),
    optimizer: str = "sgd",
    **optimizer_kw: Any,
) -> np.ndarray:
    r"""Gradient descent on the ill-conditioned bowl $f(x) = \tfrac12 (c_1 x_1^2 + c_2 x_2^2)$.

    The largest curvature limits the learning rate ($\eta < 2/\max c_i$), while the smallest
    sets how slowly the flat direction converges: the condition number $\max c/\min c$ is why
    plain gradient descent zig-zags across a narrow valley, and why momentum and Adam help.

    Args:
        curvatures: $(c_1, c_2)$, both > 0.
        lr: learning rate, > 0.
        steps: number of steps.
        x0: starting point $(x_1, x_2)$.
        optimizer: ``"sgd"``, ``"momentum"`` or ``"adam"`` (from :mod:`bpcourse.optim`).
        **optimizer_kw: e.g. ``momentum=0.9``.

    Returns:
        ``(steps + 1, 2)`` trajectory; shorter if the iterates overflow float64.
    """
    c = as_array("curvatures", curvatures, ndim=1)
    if c.shape != (2,) or np.any(c <= 0):
        raise ValueError(f"curvatures: expected two positive numbers, got {c.tolist()}")
    lr = check_positive_number("lr", lr)
    steps = check_positive_int("steps", steps)
    x = as_array("x0", x0, ndim=1).copy()
    if x.shape != (2,):
        raise ValueError(f"x0: expected shape (2,), got shape {x.shape}")
    opt = make_optimizer(optimizer, [x], lr, **optimizer_kw)
    out = [x.copy()]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            grad = c * x
            if not np.all(np.isfinite(grad)):
                break
            opt.step([grad])
            if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e300:
                break
            out.append(x.copy())
    return np.array(out)


# --- reference helpers of the lesson 04 and 05 exercises --------------------------------------


def largest_stable_lr(hessian: Any) -> float:
    r"""The largest learning rate for which gradient descent converges on a quadratic.

    On $f(\theta) = \tfrac12 \theta^\top H \theta$ (or any loss near a minimum, with $H$ its
    Hessian) one step multiplies the component of $\theta$ along the eigenvector of eigenvalue
    $\lambda$ by $1 - \eta\lambda$. Every component shrinks when $|1 - \eta\lambda| < 1$ for
    all eigenvalues, i.e. $\eta < 2 / \lambda_\max$: the steepest direction sets the limit.

    Args:
        hessian: a curvature $c > 0$ (a number, for $f(x) = \tfrac{c}{2}x^2$) or a symmetric
            ``(n, n)`` matrix $H$ with at least one positive eigenvalue.

    Returns:
        $2 / \lambda_\max(H)$ (or $2/c$).

    Raises:
        ValueError: for a non-square or non-symmetric matrix, or one without positive
            curvature (then no learning rate is too large).

    Example:
        >>> largest_stable_lr(4.0)
        0.5
        >>> largest_stable_lr([[1.0, 0.0], [0.0, 10.0]])
        0.2
    """
    H = as_array("hessian", hessian, ndim=(0, 2))
    if H.ndim == 0:
        return 2.0 / check_positive_number("hessian", float(H))
    n, m = H.shape
    if n != m or n == 0:
        raise ValueError(f"hessian: expected a square (n, n) matrix, got shape {H.shape}")
    scale = max(float(np.max(np.abs(H))), 1e-300)
    if not np.allclose(H, H.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError("hessian: expected a symmetric matrix (a Hessian is symmetric)")
    top = float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    if top <= 0:
        raise ValueError(
            f"hessian: expected a positive largest eigenvalue, got {top:.3g}; without "
            "positive curvature no learning rate is too large"
        )
    return 2.0 / top


def early_stopping_epoch(val_loss: Any, patience: int) -> tuple[int, int]:
    """Where early stopping with ``patience`` stops on a validation curve, and what it keeps.

    ``val_loss[k]`` is the validation loss after ``k`` epochs (``k = 0``: before training, as
    in :attr:`TrainResult.val_loss`). An epoch improves when its loss is strictly lower than
    every earlier one; training stops at the first epoch that ends ``patience`` epochs in a
    row without improvement, and the weights of the best epoch seen so far are kept. This is
    the rule :func:`train` applies with ``early_stopping_patience``.

    Args:
        val_loss: ``(K + 1,)`` validation losses, epoch 0 first.
        patience: number of epochs without improvement to tolerate, >= 1.

    Returns:
        ``(best_epoch, stop_epoch)``: the epoch whose weights are kept, and the epoch after
        which training stops (``K`` when the patience never runs out).

    Example:
        >>> early_stopping_epoch([1.0, 0.5, 0.6, 0.7, 0.4], patience=2)
        (1, 3)
    """
    losses = as_array("val_loss", val_loss, ndim=1)
    if losses.size == 0:
        raise ValueError("val_loss: expected at least one value (epoch 0), got an empty array")
    patience = check_positive_int("patience", patience)
    best, since_best = 0, 0
    for epoch in range(1, losses.size):
        if losses[epoch] < losses[best]:
            best, since_best = epoch, 0
        else:
            since_best += 1
            if since_best >= patience:
                return best, epoch
    return best, losses.size - 1


def sgd_epoch(
    model: Any, X: Any, y: Any, lr: float, batch_size: int, loss: str = "mse"
) -> list[float]:
    r"""One epoch of mini-batch gradient descent over the rows of ``X``, in the given order.

    The batches are rows ``0 .. B-1``, ``B .. 2B-1``, ... (the last one may be smaller). For
    each batch: forward and backward (``model.loss_and_gradients``), then
    $W \leftarrow W - \eta\,\partial L/\partial W$ and
    $b \leftarrow b - \eta\,\partial L/\partial b$ for every layer, in place. Shuffle the
    rows before calling to get stochastic gradient descent.

    Args:
        model: an :class:`bpcourse.nn.MLP` (updated in place).
        X: ``(N, n_in)`` inputs.
        y: targets with N rows, as the loss expects.
        lr: learning rate $\eta > 0$.
        batch_size: rows per batch B >= 1 (``B >= N`` gives one full-batch step).
        loss: ``"mse"`` or ``"softmax_cross_entropy"``.

    Returns:
        The loss of each batch, computed before that batch's update.
    """
    for attr in ("weights", "biases", "loss_and_gradients"):
        if not hasattr(model, attr):
            raise TypeError(f"model: expected an MLP, got {describe(model)}")
    X_arr = as_array("X", X, ndim=2)
    y_arr = np.asarray(y)
    if y_arr.ndim == 0 or y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"y: expected {X_arr.shape[0]} rows (one per row of X), got {describe(y_arr)}"
        )
    lr = check_positive_number("lr", lr)
    batch_size = check_positive_int("batch_size", batch_size)
    check_choice("loss", loss, nn.LOSSES)
    losses = []
    for start in range(0, X_arr.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        value, dweights, dbiases = model.loss_and_gradients(X_arr[rows], y_arr[rows], loss=loss)
        for W, b, dW, db in zip(model.weights, model.biases, dweights, dbiases):
            W -= lr * dW
            b -= lr * db
        losses.append(float(value))
    return losses


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


# --- recurrent networks: gradients through time and clipping (lesson 06) ---------------------


def delay_task(
    n_samples: int = 32, seq_len: int = 20, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A memory task for a recurrent network: recall the first value of a sequence at its end.

    Each sequence has two input channels. At the first step channel 0 holds the value to
    remember, $v \\sim U(-1, 1)$, and channel 1 a marker 1; at every later step channel 0 holds
    distracting noise $\\mathcal N(0, \\text{noise}^2)$ and channel 1 is 0. The target is $v$:
    to predict it from its last state the network must carry $v$ through ``seq_len - 1`` steps,
    and the gradient must travel back just as far.

    Args:
        n_samples: number of sequences N.
        seq_len: number of time steps T, >= 2.
        noise: standard deviation of the distractors, >= 0.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``(X, y)`` with X: (N, T, 2) and y: (N, 1).
    """
    n = check_positive_int("n_samples", n_samples)
    T = check_positive_int("seq_len", seq_len, minimum=2)
    sigma = check_nonnegative_number("noise", noise)
    rng = np.random.default_rng(_check_seed(seed))
    value = rng.uniform(-1.0, 1.0, n)
    X = np.zeros((n, T, 2))
    X[:, 0, 0] = value
    X[:, 0, 1] = 1.0
    X[:, 1:, 0] = sigma * rng.standard_normal((n, T - 1))
    return X, value[:, None]


def rnn_gradient_norms(
    spectral_radius: float,
    seq_len: int,
    clip: tuple[str, float] | None = None,
    seed: int = 0,
    *,
    n_hidden: int = 32,
    n_samples: int = 16,
    input_scale: float = 0.1,
) -> np.ndarray:
    r"""$\|\partial L / \partial h_t\|$ for every time step of a freshly initialised RNN.

    A tanh RNN (:class:`bpcourse.nn.RNN`) whose $W_{hh}$ is a random orthogonal matrix times
    ``spectral_radius`` reads ``n_samples`` random sequences (entries
    $\mathcal N(0, \text{input\_scale}^2)$, one input channel) and predicts random targets
    from its last state; the gradient of the mean squared error is propagated back through
    time. Below a radius of 1 the norms shrink geometrically towards the first step
    (vanishing), above 1 they grow (exploding). With ``clip`` the gradient reaching each
    state is clipped before it is passed further back (see :func:`bpcourse.nn.rnn_backward`),
    which caps the growth.

    Args:
        spectral_radius: $\rho > 0$ of $W_{hh}$.
        seq_len: number of time steps T.
        clip: ``None``, ``("norm", c)`` or ``("value", c)``.
        seed: seeds the weights, inputs and targets.
        n_hidden: hidden units.
        n_samples: sequences in the batch.
        input_scale: standard deviation of the inputs, > 0.

    Returns:
        (T,) norms, first time step first (the Frobenius norm over the batch).

    Example:
        >>> norms = rnn_gradient_norms(0.8, seq_len=30)
        >>> bool(norms[0] < 1e-2 * norms[-1])      # vanishing towards the first step
        True
    """
    rho = check_positive_number("spectral_radius", spectral_radius)
    T = check_positive_int("seq_len", seq_len)
    seed = _check_seed(seed)
    n_h = check_positive_int("n_hidden", n_hidden)
    n = check_positive_int("n_samples", n_samples)
    scale = check_positive_number("input_scale", input_scale)
    rng = np.random.default_rng([seed, 6])
    X = scale * rng.standard_normal((n, T, 1))
    y = rng.standard_normal((n, 1))
    model = nn.RNN(1, n_h, 1, spectral_radius=rho, seed=seed)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = model.backprop(X, y, clip=clip).grad_norms
    return _readonly(norms)


@dataclass(frozen=True)
class RNNTrainResult:
    """What :func:`train_rnn` recorded.

    Attributes:
        epochs: ``(K + 1,)`` epoch numbers 0..K.
        loss: ``(K + 1,)`` training loss before the first step and after each epoch.
        grad_norm: ``(K,)`` global norm of the parameter gradient at each step, before
            clipping.
        n_clipped: number of steps where clipping changed the gradient.
        diverged: whether the run stopped because the loss blew up.
        diverged_epoch: the epoch (1-based) during which it blew up, else ``None``.
        config: the settings of the run.
        model: the trained :class:`bpcourse.nn.RNN`.
    """

    epochs: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    n_clipped: int
    diverged: bool
    diverged_epoch: int | None
    config: Mapping[str, Any]
    model: Any = None

    @property
    def largest_jump(self) -> float:
        """The largest factor by which the loss rose above its best value so far (1 if never)."""
        best = np.minimum.accumulate(self.loss)
        if self.loss.size < 2:
            return 1.0
        return float(max(1.0, np.max(self.loss[1:] / best[:-1])))


def train_rnn(
    seq_len: int = 20,
    *,
    lr: float = 0.1,
    num_epochs: int = 150,
    clip: tuple[str, float] | None = None,
    spectral_radius: float = 1.0,
    n_hidden: int = 8,
    n_samples: int = 32,
    noise: float = 0.2,
    seed: int = 0,
    divergence_factor: float = 1e3,
) -> RNNTrainResult:
    r"""Train a tanh RNN on :func:`delay_task` by full-batch gradient descent.

    Every epoch is one forward pass, backpropagation through time, optional clipping of the
    parameter gradient and the step $\theta \leftarrow \theta - \eta\,g$. Clipping acts on the
    whole gradient ``[dW_xh, dW_hh, db, dW_hy, db_y]``: ``("norm", c)`` rescales it to global
    norm at most c (Pascanu et al., 2013; ``torch.nn.utils.clip_grad_norm_``), ``("value", c)``
    clamps every entry to [-c, c]. Without clipping, a step taken where the loss surface is a
    steep wall (an exploding gradient) throws the parameters far away: the loss jumps up.

    The run stops with ``diverged=True`` when the loss becomes non-finite or exceeds
    ``divergence_factor`` times $\max(L_0, 1)$; no ``RuntimeWarning`` escapes.

    Args:
        seq_len: sequence length T of the task.
        lr: learning rate, > 0.
        num_epochs: number of gradient steps.
        clip: ``None``, ``("norm", c)`` or ``("value", c)``.
        spectral_radius: $\rho$ of the initial recurrent matrix.
        n_hidden: hidden units.
        n_samples: sequences in the (full) batch.
        noise: standard deviation of the distractors of the task.
        seed: seeds the task and the initial weights.
        divergence_factor: how far above the initial loss counts as diverged, > 1.

    Returns:
        An :class:`RNNTrainResult`.
    """
    T = check_positive_int("seq_len", seq_len, minimum=2)
    lr = check_positive_number("lr", lr)
    num_epochs = check_positive_int("num_epochs", num_epochs)
    clip_rule = _check_clip(clip)
    rho = check_positive_number("spectral_radius", spectral_radius)
    seed = _check_seed(seed)
    factor = check_positive_number("divergence_factor", divergence_factor)
    if factor <= 1:
        raise ValueError(f"divergence_factor: expected a number > 1, got {divergence_factor!r}")
    X, y = delay_task(n_samples, T, noise, seed)
    model = nn.RNN(2, n_hidden, 1, spectral_radius=rho, seed=seed)
    params = model.parameters()
    losses: list[float] = []
    norms: list[float] = []
    n_clipped, diverged, diverged_epoch = 0, False, None
    with np.errstate(all="ignore"):
        trace = model.backprop(X, y)
        threshold = factor * max(float(trace.loss), 1.0)
        losses.append(float(trace.loss))
        for epoch in range(1, num_epochs + 1):
            grads = [trace.grads[name] for name in model.names]
            total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
            if not math.isfinite(total):
                diverged, diverged_epoch = True, epoch
                break
            norms.append(total)
            if clip_rule is not None:
                how, c = clip_rule
                if how == "norm":
                    grads, _ = clip_grad_norm(grads, c)
                    n_clipped += int(total > c)
                else:
                    n_clipped += int(any(np.any(np.abs(g) > c) for g in grads))
                    grads = clip_grad_value(grads, c)
            for P, g in zip(params, grads):
                P -= lr * g
            trace = model.backprop(X, y)
            value = float(trace.loss)
            if not (math.isfinite(value) and value <= threshold):
                diverged, diverged_epoch = True, epoch
                break
            losses.append(value)
    config = {
        "seq_len": T,
        "lr": lr,
        "num_epochs": num_epochs,
        "clip": clip_rule,
        "spectral_radius": rho,
        "n_hidden": n_hidden,
        "n_samples": n_samples,
        "noise": noise,
        "seed": seed,
    }
    return RNNTrainResult(
        epochs=np.arange(len(losses)),
        loss=np.array(losses),
        grad_norm=np.array(norms[: len(losses) - 1] if not diverged else norms),
        n_clipped=n_clipped,
        diverged=diverged,
        diverged_epoch=diverged_epoch,
        config=config,
        model=model,
    )


# --- the cost of a gradient: backpropagation against finite differences (lesson 06) -----------


@dataclass(frozen=True)
class GradientCost:
    r"""Timings of one gradient by backpropagation and by central differences, per network size.

    Attributes:
        hidden: the hidden width of each network measured.
        n_params: number of weights and biases P of each network.
        forward_seconds: time of one forward pass with the loss (see :func:`gradient_cost`).
        backprop_seconds: time of one forward + backward pass.
        fd_seconds: time of the full central-difference gradient (2P forward passes), the
            better of two runs.
        fd_forward_passes: forward passes central differences needed, 2P.
        relative_error: $\|g_\text{bp} - g_\text{fd}\| / (\|g_\text{bp}\| + \|g_\text{fd}\|)$
            over all parameters together (a check that the two gradients agree).
    """

    hidden: tuple[int, ...]
    n_params: np.ndarray
    forward_seconds: np.ndarray
    backprop_seconds: np.ndarray
    fd_seconds: np.ndarray
    fd_forward_passes: np.ndarray
    relative_error: np.ndarray

    @property
    def backprop_in_forwards(self) -> np.ndarray:
        """Cost of backpropagation in units of one forward pass."""
        return self.backprop_seconds / self.forward_seconds

    @property
    def fd_in_forwards(self) -> np.ndarray:
        """Cost of central differences in units of one forward pass (about 2P)."""
        return self.fd_seconds / self.forward_seconds

    def format(self) -> str:
        """The table as fixed-width text, one row per network."""
        head = (
            f"{'P':>7} | {'forward ms':>10} | {'backprop ms':>11} | {'= forwards':>10} | "
            f"{'finite diff. ms':>15} | {'= forwards':>10} | {'rel. error':>10}"
        )
        lines = [head, "-" * len(head)]
        for i in range(len(self.hidden)):
            lines.append(
                f"{int(self.n_params[i]):>7} | {1e3 * self.forward_seconds[i]:>10.3f} | "
                f"{1e3 * self.backprop_seconds[i]:>11.3f} | "
                f"{self.backprop_in_forwards[i]:>10.1f} | "
                f"{1e3 * self.fd_seconds[i]:>15.1f} | {self.fd_in_forwards[i]:>10.0f} | "
                f"{self.relative_error[i]:>10.1e}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _time_per_call(fn: Callable[[], Any], repeats: int, rounds: int = 5) -> float:
    """Seconds per call of ``fn``: the mean over ``repeats`` back-to-back calls, best of
    ``rounds`` such runs (after one warm-up call), so that a busy machine inflates it less."""
    fn()
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def _central_differences_in_place(
    loss: Callable[[], float], P: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Central differences of ``loss()`` with respect to the live array ``P`` (flattened).

    Each entry is moved by $\\pm h$ in place and restored, so one entry costs exactly two calls
    of ``loss`` and almost nothing else: the timing is that of 2P forward passes.
    """
    flat = P.reshape(-1)  # a view: P is contiguous
    grad = np.empty(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = loss()
        flat[i] = old - h
        f_minus = loss()
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def gradient_cost(
    hidden: Sequence[int] = (2, 4, 8, 16, 32),
    *,
    n_in: int = 8,
    n_samples: int = 64,
    repeats: int = 20,
    seed: int = 0,
) -> GradientCost:
    r"""Time one full gradient by backpropagation and by central differences as P grows.

    For each width h an MLP ``[n_in, h, h, 1]`` (tanh, mean squared error) is timed three
    ways: one forward pass with the loss, one :meth:`~bpcourse.nn.MLP.loss_and_gradients`
    (forward + backward), and the central-difference gradient of every weight and bias
    (two forward passes per parameter, $h = 10^{-5}$). The first two are the mean time of
    ``repeats`` back-to-back calls, best of five such runs; the last is the better of two
    runs. Backpropagation costs a small constant number of forward
    passes whatever P; finite differences cost 2P of them. Timings on a shared machine are
    noisy: read the ratios as orders of magnitude.

    Args:
        hidden: hidden widths, each >= 1 (P grows about as h²).
        n_in: input features.
        n_samples: batch size N.
        repeats: calls per timing run of the fast measurements, >= 1.
        seed: seeds the network and the data.

    Returns:
        A :class:`GradientCost`.
    """
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or not hidden:
        raise TypeError(f"hidden: expected a non-empty sequence of widths, got {describe(hidden)}")
    widths = tuple(check_positive_int(f"hidden[{i}]", h) for i, h in enumerate(hidden))
    n_in = check_positive_int("n_in", n_in)
    n = check_positive_int("n_samples", n_samples)
    repeats = check_positive_int("repeats", repeats)
    seed = _check_seed(seed)
    rng = np.random.default_rng([seed, 61])
    X = rng.standard_normal((n, n_in))
    y = rng.standard_normal((n, 1))
    n_params, forward, backprop, fd, error = [], [], [], [], []
    for h in widths:
        model = nn.MLP([n_in, h, h, 1], activation="tanh", seed=seed)
        params = model.parameters()
        loss = functools.partial(model.loss, X, y)
        forward.append(_time_per_call(loss, repeats))
        backprop.append(_time_per_call(functools.partial(model.loss_and_gradients, X, y), repeats))
        _, dW, db = model.loss_and_gradients(X, y)
        numeric: list[np.ndarray] = []
        best = math.inf
        for _ in range(2):  # the better of two runs, as the fast timings take the best of five
            start = time.perf_counter()
            numeric = [_central_differences_in_place(loss, P) for P in params]
            best = min(best, time.perf_counter() - start)
        fd.append(best)
        g_bp = np.concatenate([g.ravel() for pair in zip(dW, db) for g in pair])
        g_fd = np.concatenate(numeric)
        norms = float(np.linalg.norm(g_bp) + np.linalg.norm(g_fd))
        error.append(float(np.linalg.norm(g_bp - g_fd)) / max(norms, 1e-300))
        n_params.append(sum(P.size for P in params))
    P_all = np.array(n_params)
    return GradientCost(
        hidden=widths,
        n_params=P_all,
        forward_seconds=np.array(forward),
        backprop_seconds=np.array(backprop),
        fd_seconds=np.array(fd),
        fd_forward_passes=2 * P_all,
        relative_error=np.array(error),
    )
