r"""Dense layers and the multilayer perceptron :class:`MLP` with its backward pass.

:func:`dense_forward` and :func:`dense_backward` are one layer $Z = XW + b$ and its three
gradients; :class:`MLP` stacks them, with :meth:`MLP.backprop` (every intermediate kept, a
:class:`Trace`) and :meth:`MLP.loss_and_gradients` (the fast path used for training).
"""

from __future__ import annotations

import copy as _copy
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_choice,
    check_positive_int,
    check_shape,
    describe,
)
from bpcourse.nn._checks import Array, _as_checked_array, _check_parameter_arrays
from bpcourse.nn.activations import ACTIVATIONS, Activation
from bpcourse.nn.init import INITS
from bpcourse.nn.losses import _VALUE_AND_GRAD, LOSSES, Loss

_F64 = np.dtype(np.float64)


def _is_plain_finite_f64(value: Any) -> bool:
    r"""True for a float64 ndarray with only finite entries (False says nothing more).

    Finiteness takes one dot product: $\sum_i x_i^2$ is finite only if every $x_i$ is; a
    finite array whose squares overflow gives False and goes through the full checks.
    """
    if type(value) is not np.ndarray or value.dtype != _F64:
        return False
    flat = value.ravel()
    return math.isfinite(np.dot(flat, flat))


_ONES: dict[int, Array] = {}


def _ones(n: int) -> Array:
    """A read-only vector of n ones, made once per length."""
    ones = _ONES.get(n)
    if ones is None:
        ones = np.ones(n)
        ones.flags.writeable = False
        if len(_ONES) < 64:
            _ONES[n] = ones
    return ones


# ---------------------------------------------------------------------------------------------
# One dense layer (the reference functions, CS231n style)
# ---------------------------------------------------------------------------------------------


def dense_forward(X: Any, W: Any, b: Any) -> Array:
    r"""Affine layer $Z = X W + b$.

    Args:
        X: (N, n_in) inputs, one example per row.
        W: (n_in, n_out) weights.
        b: (n_out,) biases, added to every row.

    Returns:
        Z: (N, n_out) pre-activations.
    """
    W = as_array("W", W, ndim=2, allow_complex=True)
    n_in, n_out = W.shape
    X = as_array("X", X, ndim=2, allow_complex=True)
    check_shape("X", X, (None, n_in), "(N, n_in) with n_in = W.shape[0]")
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (n_out,), "(n_out,) with n_out = W.shape[1]")
    return X @ W + b


def dense_backward(dZ: Any, X: Any, W: Any) -> tuple[Array, Array, Array]:
    r"""Backward pass of :func:`dense_forward`, given $dZ = \partial L / \partial Z$.

    $dX = dZ\,W^\top$, $dW = X^\top dZ$, $db = \sum_{\text{rows}} dZ$: each is the chain rule
    for $Z = XW + b$ written for the whole batch at once.

    Args:
        dZ: (N, n_out) gradient of the loss with respect to the layer output Z.
        X: (N, n_in) the layer's input from the forward pass.
        W: (n_in, n_out) the layer's weights.

    Returns:
        dX: (N, n_in), dW: (n_in, n_out), db: (n_out,).
    """
    W = as_array("W", W, ndim=2, allow_complex=True)
    n_in, n_out = W.shape
    X = as_array("X", X, ndim=2, allow_complex=True)
    check_shape("X", X, (None, n_in), "(N, n_in) with n_in = W.shape[0]")
    dZ = as_array("dZ", dZ, ndim=2, allow_complex=True)
    check_shape("dZ", dZ, (X.shape[0], n_out), "(N, n_out): N = X.shape[0], n_out = W.shape[1]")
    dX = dZ @ W.T
    dW = X.T @ dZ
    db = dZ.sum(axis=0)
    return dX, dW, db


# ---------------------------------------------------------------------------------------------
# The multilayer perceptron
# ---------------------------------------------------------------------------------------------


@dataclass
class Trace:
    """Everything one forward and backward pass of :meth:`MLP.backprop` computed.

    Lists are ordered first layer first; for a network with L layers:

    Attributes:
        loss: the loss value.
        Z: L pre-activations, ``Z[l]`` of shape (N, n_{l+1}).
        A: L + 1 activations: ``A[0]`` is X, ``A[l] = f(Z[l-1])``, ``A[-1]`` is y_hat.
        deltas: L arrays $\\delta = \\partial L / \\partial Z$, shaped like ``Z``.
        dweights: L gradients, shaped like ``MLP.weights``.
        dbiases: L gradients, shaped like ``MLP.biases``.
    """

    loss: Any
    Z: list[Array]
    A: list[Array]
    deltas: list[Array]
    dweights: list[Array]
    dbiases: list[Array]

    @property
    def y_hat(self) -> Array:
        """The network output, ``A[-1]``."""
        return self.A[-1]


class MLP:
    """A fully connected network trained by backpropagation.

    Layer ``l`` computes $A^{(l)} = f(A^{(l-1)} W^{(l)} + b^{(l)})$ with ``activation`` in
    the hidden layers and ``output_activation`` in the last one.

    Args:
        layer_sizes: (n_in, hidden..., n_out), at least two positive integers.
        activation: hidden-layer activation, one of :data:`ACTIVATIONS`.
        output_activation: last-layer activation (``"identity"`` gives raw scores, as
            PyTorch's losses expect).
        init: weight initialisation, one of :data:`INITS`; biases start at zero.
        seed: integer seed of ``numpy.random.default_rng`` for the weights.

    Attributes:
        weights: list of (n_in, n_out) float64 arrays, first layer first.
        biases: list of (n_out,) float64 arrays.

    Example:
        >>> net = MLP([2, 3, 1], seed=0)
        >>> X = np.array([[0.5, -1.0], [2.0, 0.0]])
        >>> loss, dweights, dbiases = net.loss_and_gradients(X, np.array([1.0, 0.0]))
        >>> [dW.shape for dW in dweights]
        [(2, 3), (3, 1)]
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "tanh",
        output_activation: str = "identity",
        init: str = "xavier",
        seed: int = 0,
    ) -> None:
        if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
            raise TypeError(
                f"layer_sizes: expected a sequence of positive integers such as [2, 16, 1], "
                f"got {describe(layer_sizes)}"
            )
        if len(layer_sizes) < 2:
            raise ValueError(
                f"layer_sizes: expected at least 2 sizes (inputs and outputs), "
                f"got {list(layer_sizes)!r}"
            )
        self.layer_sizes: tuple[int, ...] = tuple(
            check_positive_int(f"layer_sizes[{i}]", n) for i, n in enumerate(layer_sizes)
        )
        self.activation: str = check_choice("activation", activation, ACTIVATIONS)
        self.output_activation: str = check_choice(
            "output_activation", output_activation, ACTIVATIONS
        )
        self.init: str = check_choice("init", init, INITS)
        self.seed: int = check_positive_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        sizes = self.layer_sizes
        self.weights: list[Array] = [
            INITS[init](n_in, n_out, rng) for n_in, n_out in itertools.pairwise(sizes)
        ]
        self.biases: list[Array] = [np.zeros(n_out) for n_out in sizes[1:]]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({list(self.layer_sizes)}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, init={self.init!r}, "
            f"seed={self.seed})"
        )

    @property
    def n_layers(self) -> int:
        """Number of weight layers L (one less than ``len(layer_sizes)``)."""
        return len(self.weights)

    # --- the parameter protocol (shared by every model of the package) --------------------

    def named_parameters(self) -> list[tuple[str, Array]]:
        """The live parameter arrays with their names, ``[("W1", W1), ("b1", b1), ...]``.

        The order of :meth:`parameters` and of the gradients of :meth:`gradients`.
        """
        named: list[tuple[str, Array]] = []
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            named += ((f"W{l}", W), (f"b{l}", b))
        return named

    def parameters(self) -> list[Array]:
        """The live parameter arrays ``[W1, b1, W2, b2, ...]`` (optimizers update them in place)."""
        params: list[Array] = []
        for W, b in zip(self.weights, self.biases):
            params += (W, b)
        return params

    def with_parameters(self, arrays: Sequence[Any]) -> MLP:
        """A new model like this one (same class and settings) holding ``arrays``.

        Args:
            arrays: one array per parameter, in the order of :meth:`named_parameters`, each of
                its parameter's shape. They are used as given, not copied (complex arrays make
                a model for the complex-step check).

        Returns:
            The new model; this one is unchanged.
        """
        checked = _check_parameter_arrays(arrays, self.named_parameters())
        new = _copy.copy(self)
        new.weights = checked[0::2]
        new.biases = checked[1::2]
        return new

    def gradients(self, X: Any, y: Any, loss: str = "mse") -> tuple[Any, list[Array]]:
        """The loss and its gradients in the order of :meth:`named_parameters`.

        Args: as :meth:`loss`.

        Returns:
            ``(loss, [dW1, db1, dW2, db2, ...])`` (from :meth:`loss_and_gradients`, so a
            subclass that rewrites that method is checked as written).
        """
        value, dweights, dbiases = self.loss_and_gradients(X, y, loss)
        grads: list[Array] = []
        for dW, db in zip(dweights, dbiases):
            grads += (dW, db)
        return value, grads

    def copy(self) -> MLP:
        """An independent copy (same class and settings, copied arrays)."""
        new = _copy.copy(self)
        new.weights = [W.copy() for W in self.weights]
        new.biases = [b.copy() for b in self.biases]
        return new

    # --- public entry points: validate once, then run the unchecked passes below -----------

    def forward(self, X: Any) -> Array:
        """Predictions for a batch.

        Args:
            X: (N, n_in) inputs.

        Returns:
            y_hat: (N, n_out).
        """
        X = self._check_input(X)
        return self._run(self._forward, X)

    def loss(self, X: Any, y: Any, loss: str = "mse") -> Any:
        """The loss of the network on a batch (see :data:`LOSSES`).

        Args:
            X: (N, n_in) inputs.
            y: targets: (N, n_out) (or (N,) with one output) for ``"mse"``, integer labels
                (N,) for ``"softmax_cross_entropy"``.
            loss: the loss name.

        Returns:
            The loss as a float (a complex number when the weights are complex).
        """
        X, y, loss_fn = self._check_batch(X, y, loss)
        return loss_fn.value_kernel(self._run(self._forward, X), y)

    def loss_and_gradients(
        self, X: Any, y: Any, loss: str = "mse"
    ) -> tuple[Any, list[Array], list[Array]]:
        """The loss and its gradients with respect to every weight and bias.

        Args:
            X: (N, n_in) inputs.
            y: targets, as for :meth:`loss`.
            loss: the loss name.

        Returns:
            (loss, dweights, dbiases) with ``dweights[l]`` shaped like ``weights[l]`` and
            ``dbiases[l]`` like ``biases[l]``.
        """
        X, y, loss_fn = self._check_batch(X, y, loss)
        try:
            if self._all_float64(X):
                return self._train_step(X, y, loss_fn)
            trace = self._backprop(X, y, loss_fn)
        except ValueError:
            self._check_parameters()
            raise
        return trace.loss, trace.dweights, trace.dbiases

    def backprop(self, X: Any, y: Any, loss: str = "mse") -> Trace:
        """One forward and backward pass, keeping every per-layer intermediate.

        Slower than :meth:`loss_and_gradients` (it keeps all arrays), but shows the whole
        computation: see :class:`Trace`.

        Args:
            X: (N, n_in) inputs.
            y: targets, as for :meth:`loss`.
            loss: the loss name.

        Returns:
            A :class:`Trace` with loss, Z, A, deltas, dweights and dbiases.
        """
        X, y, loss_fn = self._check_batch(X, y, loss)
        return self._run(self._backprop, X, y, loss_fn)

    # --- argument checks -------------------------------------------------------------------

    def _check_input(self, X: Any) -> Array:
        n_in = self.layer_sizes[0]
        if _is_plain_finite_f64(X) and X.ndim == 2 and X.shape[1] == n_in and X.shape[0]:
            return X  # the usual case, checked in full without leaving this line
        X = _as_checked_array("X", X, ndim=2, allow_complex=True)
        check_shape("X", X, (None, n_in), f"(N, n_in) with n_in = layer_sizes[0] = {n_in}")
        if X.shape[0] == 0:
            raise ValueError(f"X: expected at least one row (example), got shape {X.shape}")
        return X

    def _check_batch(self, X: Any, y: Any, loss: str) -> tuple[Array, Array, Loss]:
        loss_fn = LOSSES.get(loss) if type(loss) is str else None
        if loss_fn is None:
            loss_fn = LOSSES[check_choice("loss", loss, LOSSES)]
        X = self._check_input(X)
        output_shape = (X.shape[0], self.layer_sizes[-1])
        if loss_fn.name == "mse" and _is_plain_finite_f64(y) and y.shape == output_shape:
            return X, y, loss_fn
        y = loss_fn.check_target(y, output_shape)
        return X, y, loss_fn

    def _check_parameters(self) -> None:
        """Raise a readable error if a weight or bias no longer has its layer's shape."""
        sizes = self.layer_sizes
        if len(self.weights) != len(sizes) - 1 or len(self.biases) != len(sizes) - 1:
            raise ValueError(
                f"weights/biases: expected {len(sizes) - 1} arrays each for layer_sizes "
                f"{sizes}, got {len(self.weights)} weights and {len(self.biases)} biases"
            )
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            check_shape(f"weights[{l - 1}]", np.asarray(W), (sizes[l - 1], sizes[l]))
            check_shape(f"biases[{l - 1}]", np.asarray(b), (sizes[l],))

    def _run(self, method: Callable[..., Any], *args: Any) -> Any:
        """Run a pass; a numpy shape error caused by an edited parameter gets a clear message."""
        try:
            return method(*args)
        except ValueError:
            self._check_parameters()
            raise

    def _all_float64(self, X: Array) -> bool:
        # ``dtype is _F64`` is the usual case and costs nothing; ``==`` catches equal copies.
        dt = X.dtype
        if dt is not _F64 and dt != _F64:
            return False
        for W, b in zip(self.weights, self.biases):
            dt = W.dtype
            if dt is not _F64 and dt != _F64:
                return False
            dt = b.dtype
            if dt is not _F64 and dt != _F64:
                return False
        return True

    def _layer_activations(self) -> list[str]:
        return [self.activation] * (len(self.weights) - 1) + [self.output_activation]

    def _layer_entries(self) -> list[Activation]:
        """The registry entry of every layer's activation, first layer first."""
        hidden, output = ACTIVATIONS[self.activation], ACTIVATIONS[self.output_activation]
        return [hidden] * (len(self.weights) - 1) + [output]

    # --- the passes (inputs already checked) -----------------------------------------------

    def _forward(self, X: Array) -> Array:
        acts = self._layer_entries()
        hidden, output = acts[0], acts[-1]
        if not (self._all_float64(X) and hidden.has_fast_path and output.has_fast_path):
            A = X
            for W, b, act in zip(self.weights, self.biases, acts):
                A = act.f(A @ W + b)
            return A
        A = X
        for W, b, act in zip(self.weights, self.biases, acts):
            Z = A @ W
            Z += b
            A = act.f_inplace(Z)  # type: ignore[misc]  # f(Z) written over Z: no temporary
        return A

    def _backprop(self, X: Array, y: Array, loss_fn: Loss) -> Trace:
        """The reference pass: the formulas of the module docstring, keeping everything."""
        names = self._layer_activations()
        L = len(self.weights)
        Z_list: list[Array] = []
        A_list: list[Array] = [X]
        for W, b, name in zip(self.weights, self.biases, names):
            Z = A_list[-1] @ W + b  # dense_forward
            Z_list.append(Z)
            A_list.append(ACTIVATIONS[name].f(Z))
        y_hat = A_list[-1]
        value = loss_fn.value_kernel(y_hat, y)
        dA = loss_fn.grad_kernel(y_hat, y)  # dL/dy_hat
        deltas: list[Array] = [dA] * L
        dweights: list[Array] = [dA] * L
        dbiases: list[Array] = [dA] * L
        for l in reversed(range(L)):
            delta = dA * ACTIVATIONS[names[l]].df(Z_list[l], A_list[l + 1])  # dL/dZ
            deltas[l] = delta
            dweights[l] = A_list[l].T @ delta  # dense_backward
            dbiases[l] = delta.sum(axis=0)
            if l > 0:
                dA = delta @ self.weights[l].T
        return Trace(value, Z_list, A_list, deltas, dweights, dbiases)

    def _train_step(
        self, X: Array, y: Array, loss_fn: Loss
    ) -> tuple[Any, list[Array], list[Array]]:
        """The fast pass for real float64 data: the same formulas with fewer temporaries.

        The forward pass keeps only the activations, since every derivative in the table can
        be written with A alone (tanh' = 1 - a², relu' = [a > 0], ...). Those derivatives are
        then computed in place over A, which the backward pass no longer needs once the layer's
        dW is known. The input layer's dX is not computed at all.
        """
        hidden = ACTIVATIONS[self.activation]
        output = ACTIVATIONS[self.output_activation]
        if not (hidden.has_fast_path and output.has_fast_path):
            trace = self._backprop(X, y, loss_fn)
            return trace.loss, trace.dweights, trace.dbiases
        f_hidden = hidden.f_inplace
        df_hidden = hidden.df_inplace
        weights = self.weights
        biases = self.biases
        L = len(weights)
        matmul = np.matmul
        add = np.add
        ones = _ones(X.shape[0])  # db = 1ᵀ delta: a matrix-vector product beats a column sum
        # Forward: Z = A W, then b and f applied in place over Z (one array per layer).
        A_list = [X]
        A = X
        for l in range(L - 1):
            A = matmul(A, weights[l])
            add(A, biases[l], out=A)
            A = f_hidden(A)  # type: ignore[misc]
            A_list.append(A)
        A = matmul(A, weights[-1])
        add(A, biases[-1], out=A)
        A = output.f_inplace(A)  # type: ignore[misc]
        value, delta = _VALUE_AND_GRAD[loss_fn.name](A, y)  # delta = dL/dy_hat, a fresh array
        output.df_inplace(delta, A)  # type: ignore[misc]  # now dL/dZ of the last layer
        dweights: list[Array] = [delta] * L
        dbiases: list[Array] = [delta] * L
        for l in range(L - 1, 0, -1):
            A_prev = A_list[l]
            dweights[l] = matmul(A_prev.T, delta)
            dbiases[l] = matmul(ones, delta)
            delta_prev = matmul(delta, weights[l].T)
            df_hidden(delta_prev, A_prev)  # type: ignore[misc]  # A_prev is used up here
            delta = delta_prev
        dweights[0] = matmul(X.T, delta)
        dbiases[0] = matmul(ones, delta)
        return value, dweights, dbiases
