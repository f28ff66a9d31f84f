r"""Training runs (lesson 04): :func:`train` runs gradient descent on a small data set and
records train and validation loss, divergence, per-layer gradient norms and how far each
layer moved; plus the reference helpers of the lesson 04 exercises (early stopping, one SGD
epoch).
"""

from __future__ import annotations

import math
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
    check_options,
    check_positive_int,
    check_positive_number,
    describe,
)
from bpcourse.data import DATASETS, Dataset, load_dataset, standardize, train_val_split
from bpcourse.dynamics._checks import _check_activation, _check_init, _check_seed
from bpcourse.optim import OPTIMIZERS, clip_grad_norm, clip_grad_value, make_optimizer


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
        check_choice("dataset", dataset, DATASETS)
        return load_dataset(dataset, seed=seed, **check_options("dataset_kw", dataset_kw))
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
    """Loss and accuracy (NaN for regression) of ``model``; inf when the output overflowed.

    ``y`` must have passed the loss's ``check_target`` (``train`` does it once per split)."""
    y_hat = model.forward(X)
    if not np.all(np.isfinite(y_hat)):
        return math.inf, math.nan
    value = float(nn.LOSSES[loss_name].value_kernel(y_hat, y))  # y checked once, by train
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
    target_check = nn.LOSSES[loss_name].check_target
    y_tr = target_check(y_tr, (X_tr.shape[0], sizes[-1]))
    y_val = target_check(y_val, (X_val.shape[0], sizes[-1]))
    n_train = X_tr.shape[0]
    if batch_size is None:
        bs = n_train
    else:
        bs = min(check_positive_int("batch_size", batch_size), n_train)

    model = nn.MLP(sizes, activation=activation, output_activation="identity", init=init, seed=seed)
    params = model.parameters()
    opt = make_optimizer(optimizer, params, lr, **check_options("optimizer_kw", optimizer_kw))
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
                batch_loss, grads = model.gradients(X_b, y_b, loss=loss_name)  # W1, b1, W2, ...
                sq_w = [float(np.vdot(g, g)) for g in grads[0::2]]
                sq_b = sum(float(np.vdot(g, g)) for g in grads[1::2])
                # a NaN or inf anywhere in the gradients makes this sum non-finite
                if not (
                    math.isfinite(batch_loss)
                    and batch_loss <= threshold
                    and math.isfinite(sum(sq_w) + sq_b)
                ):
                    diverged = True
                    break
                epoch_norms += np.sqrt(sq_w)
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
    if isinstance(model, nn.MLP):  # every row checked before the first update
        X_arr, y_arr, _ = model._check_batch(X_arr, y_arr, loss)
    losses = []
    for start in range(0, X_arr.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        value, dweights, dbiases = model.loss_and_gradients(X_arr[rows], y_arr[rows], loss=loss)
        for W, b, dW, db in zip(model.weights, model.biases, dweights, dbiases):
            W -= lr * dW
            b -= lr * db
        losses.append(float(value))
    return losses
