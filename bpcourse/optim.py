r"""Gradient-descent optimizers and gradient clipping.

Two layers of the same ideas:

- pure single steps (:func:`sgd_step`, :func:`momentum_step`, :func:`adam_step`) that take
  arrays and return new arrays, for exercises and tests;
- optimizer objects (:class:`SGD`, :class:`Momentum`, :class:`Adam`) that hold the live
  parameter arrays of a model (``MLP.parameters()``) and update them in place on
  ``step(grads)``, where ``grads`` lists the gradients in the same order.

The update rules, for a parameter $\theta$ with gradient $g = \nabla_\theta L$:

- SGD: $\theta \leftarrow \theta - \eta\, g$.
- Momentum (heavy ball, PyTorch's convention): $v \leftarrow \mu v + g$,
  $\theta \leftarrow \theta - \eta v$. Unrolled, this is Polyak's
  $\theta_{t+1} = \theta_t - \eta g_t + \mu(\theta_t - \theta_{t-1})$.
- Adam (Kingma & Ba, 2015): $m \leftarrow \beta_1 m + (1-\beta_1) g$,
  $v \leftarrow \beta_2 v + (1-\beta_2) g^2$, $\hat m = m / (1-\beta_1^t)$,
  $\hat v = v / (1-\beta_2^t)$,
  $\theta \leftarrow \theta - \eta\,\hat m / (\sqrt{\hat v} + \epsilon)$,
  with $t = 1, 2, \dots$ the step number.

Clipping works on a list of gradient arrays: :func:`clip_grad_norm` rescales all of them
together when their global $L_2$ norm exceeds a threshold (direction kept), and
:func:`clip_grad_value` clamps each entry to $[-c, c]$ (direction may change).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_choice,
    check_pair,
    check_positive_number,
    check_probability,
    describe,
)

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "Momentum",
    "Optimizer",
    "adam_step",
    "clip_grad_norm",
    "clip_grad_value",
    "global_norm",
    "make_optimizer",
    "momentum_step",
    "sgd_step",
]


# --- argument checks ------------------------------------------------------------------------


def _check_lr(lr: Any) -> float:
    return check_positive_number("lr", lr)


def _check_like(name: str, value: Any, like: np.ndarray, like_name: str) -> np.ndarray:
    """Convert ``value`` to a finite float array shaped exactly like ``like``."""
    if (
        type(value) is np.ndarray
        and value.dtype == np.float64
        and value.shape == like.shape
        and np.isfinite(np.vdot(value, value))
    ):
        return value  # the common case, checked in one pass: finite, float64, right shape
    arr = as_array(name, value)
    if arr.shape != like.shape:
        raise ValueError(
            f"{name}: expected shape {like.shape} (the shape of {like_name}), got shape {arr.shape}"
        )
    return arr


def _as_array_list(name: str, values: Any) -> list[np.ndarray]:
    """Check that ``values`` is a list/tuple of finite arrays; return them as float64 arrays."""
    if isinstance(values, np.ndarray) or not isinstance(values, (list, tuple)):
        raise TypeError(
            f"{name}: expected a list of arrays (one per parameter, e.g. [dW1, db1, ...]), "
            f"got {describe(values)}"
        )
    return [as_array(f"{name}[{i}]", g) for i, g in enumerate(values)]


# --- pure single steps ----------------------------------------------------------------------


def sgd_step(param: Any, grad: Any, lr: float) -> np.ndarray:
    r"""One plain gradient-descent step, $\theta - \eta g$.

    Args:
        param: the parameter $\theta$, any shape.
        grad: its gradient $g$, the same shape as ``param``.
        lr: the learning rate $\eta > 0$.

    Returns:
        The new parameter as a new float64 array (the input is not modified).

    Example:
        >>> sgd_step([1.0, 2.0], [0.5, -1.0], lr=0.1)
        array([0.95, 2.1 ])
    """
    p = as_array("param", param)
    g = _check_like("grad", grad, p, "param")
    lr = _check_lr(lr)
    return p - lr * g


def momentum_step(
    param: Any, grad: Any, velocity: Any, lr: float, momentum: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    r"""One heavy-ball step: $v \leftarrow \mu v + g$, $\theta \leftarrow \theta - \eta v$.

    Args:
        param: the parameter $\theta$, any shape.
        grad: its gradient $g$, the same shape.
        velocity: the running velocity $v$, the same shape (zeros before the first step).
        lr: the learning rate $\eta > 0$.
        momentum: $\mu \in [0, 1)$; $\mu = 0$ is plain SGD.

    Returns:
        ``(new_param, new_velocity)``, both new arrays.

    Example:
        >>> p, v = momentum_step([1.0], [1.0], [0.5], lr=0.1, momentum=0.9)
        >>> p, v
        (array([0.855]), array([1.45]))
    """
    p = as_array("param", param)
    g = _check_like("grad", grad, p, "param")
    v = _check_like("velocity", velocity, p, "param")
    lr = _check_lr(lr)
    mu = check_probability("momentum", momentum)
    new_v = mu * v + g
    return p - lr * new_v, new_v


def adam_step(
    param: Any,
    grad: Any,
    m: Any,
    v: Any,
    t: int,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""One Adam step with bias correction.

    $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
    $\theta \leftarrow \theta - \eta\, \frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}$.

    Args:
        param: the parameter $\theta$, any shape.
        grad: its gradient $g$, the same shape.
        m: first-moment estimate, the same shape (zeros before the first step).
        v: second-moment estimate, the same shape (zeros before the first step).
        t: the number of this step, counting from 1 (the bias correction depends on it).
        lr: the learning rate $\eta > 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon > 0$ added to the denominator.

    Returns:
        ``(new_param, new_m, new_v)``.

    Example:
        On the first step the bias correction makes the update $\approx \eta\,\mathrm{sign}(g)$:

        >>> p, m, v = adam_step([1.0], [4.0], [0.0], [0.0], t=1, lr=0.1)
        >>> p.round(6)
        array([0.9])
    """
    p = as_array("param", param)
    g = _check_like("grad", grad, p, "param")
    m_arr = _check_like("m", m, p, "param")
    v_arr = _check_like("v", v, p, "param")
    if (v_arr < 0).any():  # a mean of squares: a negative entry is not a second moment
        raise ValueError(
            f"v: expected entries >= 0 (a running mean of g²), got {float(v_arr.min())!r}"
        )
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t: expected the step number, an integer >= 1, got {describe(t)}")
    lr = _check_lr(lr)
    beta1, beta2 = _check_betas(betas)
    eps = check_positive_number("eps", eps)
    new_m = beta1 * m_arr + (1.0 - beta1) * g
    new_v = beta2 * v_arr + (1.0 - beta2) * g * g
    m_hat = new_m / (1.0 - beta1 ** int(t))
    v_hat = new_v / (1.0 - beta2 ** int(t))
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), new_m, new_v


def _check_betas(betas: Any) -> tuple[float, float]:
    beta1, beta2 = check_pair("betas", betas, "(beta1, beta2)")
    return check_probability("betas[0]", beta1), check_probability("betas[1]", beta2)


# --- clipping -------------------------------------------------------------------------------


def global_norm(grads: Sequence[Any]) -> float:
    r"""The $L_2$ norm of all gradient arrays together, $\sqrt{\sum_i \lVert g_i \rVert^2}$."""
    return _global_norm(_as_array_list("grads", grads))


def _global_norm(arrays: list[np.ndarray]) -> float:
    """The norm of finite arrays; where the squares overflow (entries above about 1e154), the
    arrays are divided by their largest entry first, so the norm stays right while it fits."""
    with np.errstate(over="ignore"):
        total = float(np.sqrt(sum(float(np.sum(g * g)) for g in arrays)))
    if math.isinf(total):
        big = max(float(np.max(np.abs(g))) for g in arrays if g.size)
        total = big * float(np.sqrt(sum(float(np.sum((g / big) ** 2)) for g in arrays)))
    return total


def clip_grad_norm(grads: Sequence[Any], max_norm: float) -> tuple[list[np.ndarray], float]:
    r"""Rescale a list of gradients so that their global $L_2$ norm is at most ``max_norm``.

    With $n = \sqrt{\sum_i \lVert g_i \rVert^2}$, every array is multiplied by
    $\min(1, \text{max\_norm} / n)$: the direction of the whole gradient is kept and only its
    length shrinks. Gradients already within the threshold are returned unchanged (as copies).
    Unlike PyTorch's ``clip_grad_norm_`` no $10^{-6}$ is added to $n$, so the clipped norm equals
    ``max_norm`` exactly (up to rounding).

    Args:
        grads: list of gradient arrays (any shapes), e.g. ``[dW1, db1, dW2, db2]``.
        max_norm: the threshold, > 0.

    Returns:
        ``(clipped_grads, total_norm)``: new arrays and the norm *before* clipping.

    Example:
        >>> clipped, n = clip_grad_norm([np.array([3.0]), np.array([4.0])], max_norm=1.0)
        >>> n, [round(c.item(), 12) for c in clipped]
        (5.0, [0.6, 0.8])
    """
    arrays = _as_array_list("grads", grads)
    max_norm = check_positive_number("max_norm", max_norm)
    total = _global_norm(arrays)
    scale = max_norm / total if total > max_norm else 1.0
    return [g * scale for g in arrays], total


def clip_grad_value(grads: Sequence[Any], clip_value: float) -> list[np.ndarray]:
    """Clamp every gradient entry to $[-c, c]$ (the direction of the gradient may change).

    Args:
        grads: list of gradient arrays (any shapes).
        clip_value: $c > 0$.

    Returns:
        New arrays, shaped like the inputs.

    Example:
        >>> clip_grad_value([np.array([-3.0, 0.5, 2.0])], clip_value=1.0)
        [array([-1. ,  0.5,  1. ])]
    """
    arrays = _as_array_list("grads", grads)
    c = check_positive_number("clip_value", clip_value)
    return [np.clip(g, -c, c) for g in arrays]


# --- optimizer objects ----------------------------------------------------------------------


class Optimizer:
    """Base class: holds the live parameter arrays and checks gradients before a step.

    Args:
        params: the arrays to train, e.g. ``model.parameters()``; they are updated in place,
            so they must be float64 numpy arrays (a copy would not update the model).
        lr: the learning rate, > 0.
    """

    name = "optimizer"
    #: how menus (the explorers) show it
    label = "optimizer"
    hyperparameters: tuple[str, ...] = ()

    def __init__(self, params: Sequence[np.ndarray], lr: float) -> None:
        if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
            raise TypeError(
                f"params: expected a list of numpy arrays such as model.parameters(), "
                f"got {describe(params)}"
            )
        if len(params) == 0:
            raise ValueError("params: expected at least one parameter array, got an empty list")
        for i, p in enumerate(params):
            if not isinstance(p, np.ndarray):
                raise TypeError(
                    f"params[{i}]: expected a numpy array (updated in place), got {describe(p)}"
                )
            if p.dtype != np.float64:
                raise TypeError(
                    f"params[{i}]: expected a float64 array (updated in place), got dtype {p.dtype}"
                )
            if not p.flags.writeable:
                raise ValueError(f"params[{i}]: expected a writable array (updated in place)")
            if not np.isfinite(p).all():
                raise ValueError(
                    f"params[{i}]: expected finite values, got NaN or infinite entries (the "
                    f"steps would only spread them)"
                )
        self.params: list[np.ndarray] = list(params)
        self.lr = _check_lr(lr)
        self.t = 0

    def _check_grads(self, grads: Sequence[Any]) -> list[np.ndarray]:
        if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
            raise TypeError(
                f"grads: expected a list of {len(self.params)} arrays in the order of params, "
                f"got {describe(grads)}"
            )
        if len(grads) != len(self.params):
            raise ValueError(
                f"grads: expected {len(self.params)} arrays (one per parameter), got {len(grads)}"
            )
        return [
            _check_like(f"grads[{i}]", g, p, f"params[{i}]")
            for i, (g, p) in enumerate(zip(grads, self.params))
        ]

    def step(self, grads: Sequence[Any]) -> None:
        """Update every parameter in place from ``grads`` (same order and shapes as params).

        Raises:
            ValueError: if a gradient has the wrong shape (the message names its index) or
                contains NaN/inf.
        """
        checked = self._check_grads(grads)
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, checked)):
            self._update(i, p, g)

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr!r}, n_params={len(self.params)})"


class SGD(Optimizer):
    r"""Plain gradient descent, $\theta \leftarrow \theta - \eta g$.

    Example:
        >>> W = np.array([1.0, 2.0])
        >>> SGD([W], lr=0.5).step([np.array([1.0, 1.0])])
        >>> W
        array([0.5, 1.5])
    """

    name = "sgd"
    label = "SGD"

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        p -= self.lr * g


class Momentum(Optimizer):
    r"""Heavy-ball momentum: $v \leftarrow \mu v + g$, $\theta \leftarrow \theta - \eta v$.

    Args:
        params: live parameter arrays (updated in place).
        lr: learning rate $\eta > 0$.
        momentum: $\mu \in [0, 1)$.
    """

    name = "momentum"
    label = "momentum"
    hyperparameters = ("momentum",)

    def __init__(self, params: Sequence[np.ndarray], lr: float, momentum: float = 0.9) -> None:
        super().__init__(params, lr)
        self.momentum = check_probability("momentum", momentum)
        self.velocities = [np.zeros_like(p) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        v = self.velocities[i]
        v *= self.momentum
        v += g
        p -= self.lr * v


class Adam(Optimizer):
    r"""Adam with bias-corrected first and second moments (see :func:`adam_step`).

    Args:
        params: live parameter arrays (updated in place).
        lr: learning rate $\eta > 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon > 0$.
    """

    name = "adam"
    label = "Adam"
    hyperparameters = ("betas", "eps")

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        self.betas = _check_betas(betas)
        self.eps = check_positive_number("eps", eps)
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        beta1, beta2 = self.betas
        m, v = self.m[i], self.v[i]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1**self.t)
        v_hat = v / (1.0 - beta2**self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS: Mapping[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "adam": Adam,
}


def make_optimizer(name: str, params: Sequence[np.ndarray], lr: float, **kw: Any) -> Optimizer:
    """Build an optimizer by name: ``"sgd"``, ``"momentum"`` or ``"adam"``.

    Args:
        name: a key of :data:`OPTIMIZERS`.
        params: live parameter arrays, e.g. ``model.parameters()``.
        lr: learning rate, > 0.
        **kw: extra hyper-parameters of that optimizer (``momentum=``, ``betas=``, ``eps=``).

    Raises:
        ValueError: for an unknown name. TypeError: for a hyper-parameter the optimizer lacks.
    """
    check_choice("name (the optimizer)", name, OPTIMIZERS)
    cls = OPTIMIZERS[name]
    allowed = set(cls.hyperparameters)
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise TypeError(
            f"{name}: expected hyper-parameters among {sorted(allowed) or 'none besides lr'}, "
            f"got {unknown}"
        )
    return cls(params, lr, **kw)
