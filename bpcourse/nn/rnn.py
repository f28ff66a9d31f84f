r"""A vanilla recurrent layer $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$ and
backpropagation through time, with optional clipping of the gradient into each hidden state.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_choice,
    check_clip,
    check_positive_int,
    check_positive_number,
    check_shape,
)
from bpcourse.nn._checks import Array, _check_parameter_arrays
from bpcourse.nn.init import INITS
from bpcourse.nn.losses import _check_regression_target, _mse_grad

#
# Batches are rows, as for the dense layer: x_t is (N, n_in), h_t is (N, n_h) and
#     h_t = tanh(x_t W_xh + h_{t-1} W_hh + b),
# the row form of h_t = tanh(W_xh x_t + W_hh h_{t-1} + b). A sequence batch X is (N, T, n_in).
# The same W_xh, W_hh and b are used at every time step, so, exactly like a convolution kernel,
# their gradients are sums over the time steps.

#: How :func:`rnn_backward` may clip the gradient flowing back into each hidden state.
SEQUENCE_CLIPS: dict[str, Any] = {
    # rescale the whole (N, n_h) array so that its norm is at most c (direction kept)
    "norm": lambda g, c: g * min(1.0, c / max(float(np.sqrt(np.sum(np.abs(g) ** 2))), 1e-300)),
    # clamp every entry to [-c, c] (direction may change)
    "value": lambda g, c: np.clip(g.real, -c, c) + (1j * g.imag if np.iscomplexobj(g) else 0.0),
}


def recurrent_weights(n_hidden: int, spectral_radius: float, rng: Any) -> Array:
    r"""A random (n_hidden, n_hidden) recurrent matrix with a given spectral radius.

    A random orthogonal matrix $Q$ (from the QR factorisation of a Gaussian matrix, signs
    fixed so that it is uniformly distributed) times $\rho$: every eigenvalue and every
    singular value of $\rho Q$ has modulus $\rho$, so $\|(\rho Q)^k v\| = \rho^k \|v\|$ exactly.
    Through a linear recurrence a gradient is multiplied by $\rho$ per time step: it vanishes
    for $\rho < 1$ and explodes for $\rho > 1$.

    Args:
        n_hidden: size of the hidden state, >= 1.
        spectral_radius: $\rho > 0$.
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        W_hh: (n_hidden, n_hidden), float64.
    """
    n = check_positive_int("n_hidden", n_hidden)
    rho = check_positive_number("spectral_radius", spectral_radius)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(check_positive_int("rng", rng, minimum=0))
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    Q *= np.where(np.diag(R) < 0, -1.0, 1.0)  # Haar-distributed orthogonal matrix
    return rho * Q


def _check_rnn_weights(W_xh: Any, W_hh: Any) -> tuple[Array, Array]:
    W_xh = as_array("W_xh", W_xh, ndim=2, allow_complex=True)
    n_h = W_xh.shape[1]
    W_hh = as_array("W_hh", W_hh, ndim=2, allow_complex=True)
    check_shape("W_hh", W_hh, (n_h, n_h), "(n_h, n_h) with n_h = W_xh.shape[1]")
    return W_xh, W_hh


def rnn_step_forward(x: Any, h_prev: Any, W_xh: Any, W_hh: Any, b: Any) -> Array:
    r"""One step of a vanilla RNN: $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$.

    Args:
        x: (N, n_in) inputs at this time step.
        h_prev: (N, n_h) previous hidden state.
        W_xh: (n_in, n_h) input-to-hidden weights.
        W_hh: (n_h, n_h) hidden-to-hidden weights.
        b: (n_h,) bias.

    Returns:
        h: (N, n_h) the new hidden state.
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    x = as_array("x", x, ndim=2, allow_complex=True)
    check_shape("x", x, (None, n_in), "(N, n_in) with n_in = W_xh.shape[0]")
    h_prev = as_array("h_prev", h_prev, ndim=2, allow_complex=True)
    check_shape(
        "h_prev", h_prev, (x.shape[0], n_h), "(N, n_h): N = x.shape[0], n_h = W_hh.shape[0]"
    )
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (n_h,), "(n_h,)")
    return np.tanh(x @ W_xh + h_prev @ W_hh + b)


def rnn_step_backward(
    dh: Any, x: Any, h_prev: Any, h: Any, W_xh: Any, W_hh: Any
) -> tuple[Array, Array, Array, Array, Array]:
    r"""Backward pass of :func:`rnn_step_forward`, given $dh = \partial L / \partial h_t$.

    With $dz = dh \odot (1 - h_t^2)$ (the tanh derivative written with the output):
    $dx = dz\,W_{xh}^\top$, $dh_\text{prev} = dz\,W_{hh}^\top$, $dW_{xh} = x^\top dz$,
    $dW_{hh} = h_\text{prev}^\top dz$, $db = \sum_\text{rows} dz$: a dense layer's backward
    pass (lesson 03) with two inputs.

    Args:
        dh: (N, n_h) gradient of the loss with respect to the new state h.
        x: (N, n_in) the step's input.
        h_prev: (N, n_h) the previous state.
        h: (N, n_h) the new state, ``rnn_step_forward(x, h_prev, W_xh, W_hh, b)``.
        W_xh: (n_in, n_h).
        W_hh: (n_h, n_h).

    Returns:
        dx: (N, n_in), dh_prev: (N, n_h), dW_xh: (n_in, n_h), dW_hh: (n_h, n_h), db: (n_h,).
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    x = as_array("x", x, ndim=2, allow_complex=True)
    check_shape("x", x, (None, n_in), "(N, n_in) with n_in = W_xh.shape[0]")
    hint = "(N, n_h): N = x.shape[0], n_h = W_hh.shape[0]"
    checked = [
        as_array(n, v, ndim=2, allow_complex=True)
        for n, v in (("dh", dh), ("h_prev", h_prev), ("h", h))
    ]
    for name, arr in zip(("dh", "h_prev", "h"), checked):
        check_shape(name, arr, (x.shape[0], n_h), hint)
    dh, h_prev, h = checked
    return _rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh)


def _rnn_step_backward(
    dh: Array, x: Array, h_prev: Array, h: Array, W_xh: Array, W_hh: Array
) -> tuple[Array, Array, Array, Array, Array]:
    dz = dh * (1.0 - h * h)
    return dz @ W_xh.T, dz @ W_hh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def _check_sequence(X: Any, n_in: int) -> Array:
    X = as_array("X", X, ndim=3, allow_complex=True)
    check_shape("X", X, (None, None, n_in), f"(N, T, n_in) with n_in = W_xh.shape[0] = {n_in}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X: expected at least one sequence of at least one step, got {X.shape}")
    return X


def rnn_forward(X: Any, W_xh: Any, W_hh: Any, b: Any, h0: Any = None) -> Array:
    r"""Run a vanilla RNN over a batch of sequences.

    $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$ for $t = 1, \dots, T$.

    Args:
        X: (N, T, n_in) N sequences of T steps.
        W_xh: (n_in, n_h).
        W_hh: (n_h, n_h).
        b: (n_h,).
        h0: (N, n_h) initial state (zeros when omitted).

    Returns:
        H: (N, T + 1, n_h) every hidden state, ``H[:, 0]`` = h0 and ``H[:, t]`` = $h_t$.
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    X = _check_sequence(X, n_in)
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (n_h,), "(n_h,) with n_h = W_xh.shape[1]")
    N = X.shape[0]
    if h0 is None:
        h0 = np.zeros((N, n_h))
    h0 = as_array("h0", h0, ndim=2, allow_complex=True)
    check_shape("h0", h0, (N, n_h), "(N, n_h)")
    return _rnn_forward(X, W_xh, W_hh, b, h0)


def _rnn_forward(X: Array, W_xh: Array, W_hh: Array, b: Array, h0: Array) -> Array:
    N, T, _ = X.shape
    dtype = np.result_type(X, W_xh, W_hh, b, h0)
    H = np.empty((N, T + 1, W_hh.shape[0]), dtype=dtype)
    H[:, 0] = h0
    inputs = X @ W_xh + b  # all input terms at once: (N, T, n_h)
    for t in range(T):
        z = H[:, t] @ W_hh
        z += inputs[:, t]
        np.tanh(z, out=H[:, t + 1])  # straight into the state array, no copy
    return H


@dataclass(frozen=True)
class RNNGradients:
    r"""What :func:`rnn_backward` returns.

    Attributes:
        dX: (N, T, n_in) gradient with respect to the inputs.
        dW_xh: (n_in, n_h), summed over the time steps.
        dW_hh: (n_h, n_h), summed over the time steps.
        db: (n_h,), summed over the time steps and the batch.
        dh0: (N, n_h) gradient with respect to the initial state.
        dH: (N, T, n_h) the total gradient $\partial L / \partial h_t$ for $t = 1..T$ (what
            flowed into each state from its own output and from the later steps, after
            clipping if any).
    """

    # the names of the maths (dX = dL/dX), as for the arguments of the layer functions
    dX: Array  # noqa: N815
    dW_xh: Array  # noqa: N815
    dW_hh: Array  # noqa: N815
    db: Array
    dh0: Array
    dH: Array  # noqa: N815

    @property
    def grad_norms(self) -> Array:
        r"""(T,) $\|\partial L / \partial h_t\|$ (Frobenius norm over the batch), $t = 1..T$."""
        return np.sqrt(np.sum(np.abs(self.dH) ** 2, axis=(0, 2)))


def _check_sequence_clip(clip: Any) -> tuple[str, float] | None:
    return check_clip(clip, SEQUENCE_CLIPS)


def rnn_backward(
    dH_out: Any, X: Any, H: Any, W_xh: Any, W_hh: Any, clip: tuple[str, float] | None = None
) -> RNNGradients:
    r"""Backpropagation through time for :func:`rnn_forward`.

    Walking back from $t = T$ to 1, the gradient reaching $h_t$ is what the loss sends to it
    directly (``dH_out[:, t-1]``, e.g. from a readout) plus what comes back from $h_{t+1}$:

    $$\frac{\partial L}{\partial h_t} = \text{dH\_out}_t
    + \Big(\frac{\partial L}{\partial h_{t+1}} \odot (1 - h_{t+1}^2)\Big) W_{hh}^\top .$$

    Each step is the chain rule of :func:`rnn_step_backward`; the weight gradients of all
    steps are added up (computed together after the walk back, see ``_rnn_backward``).
    Over many steps the gradient is multiplied again and again by $\mathrm{diag}(1 - h^2)
    W_{hh}^\top$: it shrinks geometrically when that factor is small and grows when it is
    large (vanishing and exploding gradients through time).

    Args:
        dH_out: (N, T, n_h) gradient of the loss with respect to each $h_t$ from outside the
            recurrence (zeros except the last step for a many-to-one model).
        X: (N, T, n_in) the inputs.
        H: (N, T + 1, n_h) the states from :func:`rnn_forward`.
        W_xh: (n_in, n_h).
        W_hh: (n_h, n_h).
        clip: ``None``, ``("norm", c)`` or ``("value", c)``: clip $\partial L/\partial h_t$ at
            every step before passing it further back (rescale its norm over the batch to at
            most c, or clamp every entry to [-c, c]; see :data:`SEQUENCE_CLIPS`).

    Returns:
        An :class:`RNNGradients` (with the per-step gradients ``dH`` and ``grad_norms``).
    """
    W_xh, W_hh = _check_rnn_weights(W_xh, W_hh)
    n_in, n_h = W_xh.shape
    X = _check_sequence(X, n_in)
    N, T, _ = X.shape
    H = as_array("H", H, ndim=3, allow_complex=True)
    check_shape("H", H, (N, T + 1, n_h), "(N, T + 1, n_h): the states from rnn_forward")
    dH_out = as_array("dH_out", dH_out, ndim=3, allow_complex=True)
    check_shape("dH_out", dH_out, (N, T, n_h), "(N, T, n_h)")
    return _rnn_backward(dH_out, X, H, W_xh, W_hh, _check_sequence_clip(clip))


def _rnn_backward(
    dH_out: Array,
    X: Array,
    H: Array,
    W_xh: Array,
    W_hh: Array,
    clip: tuple[str, float] | None,
) -> RNNGradients:
    r"""The chain rule of :func:`rnn_step_backward` at every step, with the products regrouped.

    Only the gradient carried back to the previous state, $dz_t W_{hh}^\top$, has to be
    computed step by step: each step needs the one after it. The other products of a step
    (``dx``, ``dW_xh``, ``dW_hh``) do not feed the recurrence, and the weight gradients are
    sums over the steps of products, $\sum_t x_t^\top dz_t$, which is one product over all
    (example, step) pairs. So the loop keeps every $dz_t$, and those products are done once
    after it, as a few large matrix products instead of T small ones each.
    """
    N, T, n_in = X.shape
    n_h = W_hh.shape[0]
    dtype = np.result_type(dH_out, X, H, W_xh, W_hh)
    dH = np.empty(dH_out.shape, dtype=dtype)
    dZ = np.empty(dH_out.shape, dtype=dtype)  # dL/dz_t, z_t the pre-activation of step t
    carry = np.zeros((N, n_h), dtype=dtype)  # dL/dh_t from step t + 1
    W_hh_T = W_hh.T
    clip_fn = None if clip is None else SEQUENCE_CLIPS[clip[0]]
    for t in range(T, 0, -1):
        dh = dH_out[:, t - 1] + carry
        if clip_fn is not None and clip is not None:
            dh = clip_fn(dh, clip[1])
        dH[:, t - 1] = dh
        h = H[:, t]
        dz = dh * (1.0 - h * h)  # through tanh, as in rnn_step_backward
        dZ[:, t - 1] = dz
        carry = dz @ W_hh_T
    dZ_all = dZ.reshape(N * T, n_h)
    dX = (dZ_all @ W_xh.T).reshape(N, T, n_in)
    dW_xh = X.reshape(N * T, n_in).T @ dZ_all
    dW_hh = H[:, :-1].reshape(N * T, n_h).T @ dZ_all  # h_{t-1} pairs with dz_t
    db = dZ_all.sum(axis=0)
    return RNNGradients(dX, dW_xh, dW_hh, db, carry, dH)


@dataclass
class RNNTrace:
    """Everything one forward and backward pass of :meth:`RNN.backprop` computed.

    Attributes:
        loss: the loss value.
        H: (N, T + 1, n_h) hidden states, ``H[:, 0]`` the (zero) initial state.
        y_hat: (N, n_out) predictions.
        grads: the gradients by parameter name, shaped like :attr:`RNN.params`.
        dH: (N, T, n_h) $\\partial L/\\partial h_t$, $t = 1..T$.
    """

    loss: Any
    H: Array
    y_hat: Array
    grads: dict[str, Array]
    dH: Array  # noqa: N815

    @property
    def grad_norms(self) -> Array:
        """(T,) $\\|\\partial L/\\partial h_t\\|$ per time step, first step first."""
        return np.sqrt(np.sum(np.abs(self.dH) ** 2, axis=(0, 2)))


#: The losses :class:`RNN` computes.
_RNN_LOSSES = ("mse",)


class RNN:
    r"""A many-to-one vanilla RNN: read a sequence, predict from the last hidden state.

    $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$ with $h_0 = 0$, then
    $\hat y = h_T W_{hy} + b_y$, and the loss is :func:`mse` of $\hat y$.

    Args:
        n_in: input features per time step.
        n_hidden: size of the hidden state.
        n_out: outputs.
        spectral_radius: $\rho$ of the initial $W_{hh}$ (a scaled random orthogonal matrix,
            see :func:`recurrent_weights`).
        init: initialisation of $W_{xh}$ and $W_{hy}$, one of :data:`INITS`.
        seed: seed of ``numpy.random.default_rng``.

    Attributes:
        params: the parameters by name, ``"W_xh"`` (n_in, n_h), ``"W_hh"`` (n_h, n_h), ``"b"``
            (n_h,), ``"W_hy"`` (n_h, n_out), ``"b_y"`` (n_out,).
        names: the parameter names in the order of :meth:`parameters`.
        sizes: ``(n_in, n_hidden, n_out)``.

    Example:
        >>> model = RNN(n_in=2, n_hidden=8, spectral_radius=0.9, seed=0)
        >>> trace = model.backprop(np.zeros((4, 10, 2)), np.ones(4))
        >>> trace.grads["W_hh"].shape, trace.grad_norms.shape
        ((8, 8), (10,))
    """

    names = ("W_xh", "W_hh", "b", "W_hy", "b_y")

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int = 1,
        spectral_radius: float = 1.0,
        init: str = "xavier",
        seed: int = 0,
    ) -> None:
        n_in = check_positive_int("n_in", n_in)
        n_h = check_positive_int("n_hidden", n_hidden)
        n_out = check_positive_int("n_out", n_out)
        rho = check_positive_number("spectral_radius", spectral_radius)
        check_choice("init", init, INITS)
        self.seed = check_positive_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        self.params: dict[str, Array] = {
            "W_xh": INITS[init](n_in, n_h, rng),
            "W_hh": recurrent_weights(n_h, rho, rng),
            "b": np.zeros(n_h),
            "W_hy": INITS[init](n_h, n_out, rng),
            "b_y": np.zeros(n_out),
        }
        self.sizes = (n_in, n_h, n_out)

    def __repr__(self) -> str:
        n_in, n_h, n_out = self.sizes
        return f"{type(self).__name__}({n_in}, {n_h}, {n_out}, seed={self.seed})"

    # --- the parameter protocol (shared by every model of the package) --------------------

    def named_parameters(self) -> list[tuple[str, Array]]:
        """The live parameter arrays with their names, in the order of :attr:`names`."""
        return [(name, self.params[name]) for name in self.names]

    def parameters(self) -> list[Array]:
        """The live parameter arrays in the order of :attr:`names` (for the optimizers)."""
        return [self.params[name] for name in self.names]

    def with_parameters(self, arrays: Sequence[Any]) -> RNN:
        """A new RNN like this one holding ``arrays`` (in the order of :attr:`names`, each of
        its parameter's shape; used as given, not copied). This one is unchanged."""
        checked = _check_parameter_arrays(arrays, self.named_parameters())
        new = _copy.copy(self)
        new.params = dict(zip(self.names, checked))
        return new

    def gradients(
        self, X: Any, y: Any, loss: str = "mse", clip: tuple[str, float] | None = None
    ) -> tuple[Any, list[Array]]:
        """The loss and its gradients in the order of :attr:`names` (see :meth:`backprop`)."""
        trace = self.backprop(X, y, clip=clip, loss=loss)
        return trace.loss, [trace.grads[name] for name in self.names]

    def copy(self) -> RNN:
        """An independent copy."""
        new = _copy.copy(self)
        new.params = {name: P.copy() for name, P in self.params.items()}
        return new

    def _check_input(self, X: Any) -> Array:
        return _check_sequence(X, self.sizes[0])

    def forward(self, X: Any) -> Array:
        """Predictions for a batch of sequences.

        Args:
            X: (N, T, n_in).

        Returns:
            y_hat: (N, n_out).
        """
        X = self._check_input(X)
        return self._forward(X)[1]

    def _forward(self, X: Array) -> tuple[Array, Array]:
        p = self.params
        h0 = np.zeros((X.shape[0], self.sizes[1]))
        H = _rnn_forward(X, p["W_xh"], p["W_hh"], p["b"], h0)
        return H, H[:, -1] @ p["W_hy"] + p["b_y"]

    def loss(self, X: Any, y: Any, loss: str = "mse") -> Any:
        """Mean squared error of the predictions (a complex number for complex parameters).

        Args:
            X: (N, T, n_in).
            y: (N, n_out) targets, or (N,) when n_out = 1.
            loss: ``"mse"``, the only loss of this model (named as for every model).
        """
        check_choice("loss", loss, _RNN_LOSSES)
        X = self._check_input(X)
        y = _check_regression_target(y, (X.shape[0], self.sizes[2]))
        y_hat = self._forward(X)[1]
        diff = (y_hat - y).ravel()
        return (np.dot(diff, diff) / diff.size).item()

    def backprop(
        self, X: Any, y: Any, clip: tuple[str, float] | None = None, loss: str = "mse"
    ) -> RNNTrace:
        """Forward pass, loss and backpropagation through time.

        Args:
            X: (N, T, n_in).
            y: (N, n_out) targets, or (N,) when n_out = 1.
            clip: per-step clipping of $\\partial L/\\partial h_t$, as in :func:`rnn_backward`.
            loss: ``"mse"``, as for :meth:`loss`.

        Returns:
            An :class:`RNNTrace` with the gradients of every parameter.
        """
        check_choice("loss", loss, _RNN_LOSSES)
        X = self._check_input(X)
        y = _check_regression_target(y, (X.shape[0], self.sizes[2]))
        clip_rule = _check_sequence_clip(clip)
        p = self.params
        H, y_hat = self._forward(X)
        diff = (y_hat - y).ravel()
        value = (np.dot(diff, diff) / diff.size).item()
        dy = _mse_grad(y_hat, y)  # (N, n_out)
        dH_out = np.zeros((X.shape[0], X.shape[1], self.sizes[1]), dtype=np.result_type(dy, H))
        dH_out[:, -1] = dy @ p["W_hy"].T
        back = _rnn_backward(dH_out, X, H, p["W_xh"], p["W_hh"], clip_rule)
        grads = {
            "W_xh": back.dW_xh,
            "W_hh": back.dW_hh,
            "b": back.db,
            "W_hy": H[:, -1].T @ dy,
            "b_y": dy.sum(axis=0),
        }
        return RNNTrace(value, H, y_hat, grads, back.dH)
