"""Recurrent networks (lesson 06): gradient norms through time on a delay task, and training
with and without gradient clipping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse import nn
from bpcourse._validate import (
    check_nonnegative_number,
    check_positive_int,
    check_positive_number,
    seeded_rng,
)
from bpcourse.dynamics._checks import _check_seed, _readonly
from bpcourse.dynamics.training import _check_clip
from bpcourse.optim import clip_grad_norm, clip_grad_value


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
    rng = seeded_rng(seed)
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
