r"""Dense layers and the multilayer perceptron :class:`MLP` with its backward pass.

:func:`dense_forward` and :func:`dense_backward` are one layer $Z = XW + b$ and its three
gradients; :class:`MLP` stacks them, with :meth:`MLP.backprop` (every intermediate kept, a
:class:`Trace`) and :meth:`MLP.loss_and_gradients` (the fast path used for training).

How the fast path saves time (the maths is the same as in :meth:`MLP.backprop`):

- **The bias folded into the product.** Appending a column of ones to the activations and the
  bias as a last row to the weights gives $[A, 1] \begin{bmatrix} W \\ b \end{bmatrix} = AW + b$,
  and the backward product $[A, 1]^\top \delta = \begin{bmatrix} A^\top\delta \\ 1^\top\delta
  \end{bmatrix}$ is $dW$ with $db$ as its last row. So one product per layer replaces the
  product, the bias addition and the column sum. Each layer keeps its parameters in one array
  $[W; b]$ of shape (n_in + 1, n_out); ``weights[l]`` and ``biases[l]`` are views of its rows.
- **Activations stored transposed**, one column per example, shape (n + 1, N) with the row
  of ones last. Then the activations proper, the first n rows, are one contiguous block, on
  which ``np.tanh`` runs at full (vectorised) speed; products with a transposed operand cost
  BLAS nothing (it reads the matrix the other way). Only a wide input (an image) is not
  turned around: its first layer keeps the usual orientation (see ``_Workspace``).
- **All derivatives at once**: after the forward pass one call computes $f'$ of every hidden
  layer from the stored activations (tanh' = 1 - a², ...); the backward pass then only
  multiplies.
- **Work arrays reused** from one call to the next (per batch size), never returned.
- ``A.dot(B)`` rather than ``A @ B`` for the products: for small matrices it has less
  overhead (no dispatch; with ``out=`` the result goes straight into a work array).
"""

from __future__ import annotations

import contextlib
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
    check_layer_sizes,
    check_positive_int,
    check_shape,
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
    if type(value) is not np.ndarray or (value.dtype is not _F64 and value.dtype != _F64):
        return False
    flat = value.ravel()
    return math.isfinite(flat.dot(flat))


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


#: Work arrays of the fast path are kept for at most this many batch sizes per model ...
_MAX_WORKSPACES = 4
#: ... and only when they hold at most this many numbers (8 MB). A larger batch (a whole data
#: set) gets arrays made for the call and freed after it, and the leaner variants below.
_MAX_WORKSPACE_SIZE = 1 << 20


@dataclass(eq=False)
class _Workspace:
    r"""The work arrays of the fast path for one batch size N (never handed to the caller).

    For the hidden layers l = 1, ..., L-1:

    Attributes:
        N: the batch size.
        training: whether the arrays of the backward pass (``S``, ``D``) are there.
        H: (n_l + 1, N): the activations of layer l transposed, one column per example, with
            a last row of ones (set once), so that ``H[l].T`` is $[A^{(l)}, 1]$. They are
            consecutive rows of one array ``H_all``. ``H[0]`` is the same for the input X when
            ``fold_input``.
        A: the first n_l rows of each ``H[l]`` (contiguous views): the activations proper.
        S: (n_l, N): the activation's derivative $f'(Z^{(l)})$, transposed, rows of one array
            ``S_all`` shaped like ``H_all`` (the rows facing the ones are unused): one call
            computes them all once the forward pass is done. ``None`` for a large batch, where
            the cost of a call does not matter but memory does: each layer's derivative is
            then applied on its own, using its activations as scratch (``df_inplace``).
        D: (n_l, N): $\partial L / \partial A^{(l)}$ transposed, turned in place into
            $\delta^{(l)}$. Only two layers' D are needed at a time, so they are the first
            rows of two arrays used in turn.
        fold_input: whether X is copied into ``H[0]``, so that the first layer is like the
            others. Copying X costs N n_0 numbers, adding the bias separately about N n_1: it
            is done when n_0 <= n_1 (small inputs). For a wide input (an image), layer 1 is
            computed as ``X @ W + b`` in the usual orientation instead (turning that product
            around costs more than its bias), so ``A[1]``, ``S[1]`` and ``D[1]`` are (N, n_1),
            not transposed, and ``H[0]``, ``H[1]`` are unused (empty): layer 2 reads ``A[1]``
            as layer 1 reads X, adding its bias separately.
        size: how many numbers the arrays hold.
    """

    N: int
    training: bool
    H_all: Array
    S_all: Array | None
    H: list[Array]
    A: list[Array]
    S: list[Array] | None
    D: list[Array]
    fold_input: bool
    size: int

    @staticmethod
    def sizes(layer_sizes: Sequence[int], N: int) -> tuple[int, int]:
        """How many numbers the arrays hold: (forward pass only, training)."""
        n_0, hidden = layer_sizes[0], layer_sizes[1:-1]
        if not hidden:
            return 0, 0
        fold_input = n_0 <= hidden[0]
        stacked = hidden if fold_input else hidden[1:]
        H_all = sum(stacked) + len(stacked)
        forward = (n_0 + 1 if fold_input else hidden[0]) + H_all  # H[0] or A[1], H_all
        training = (
            forward + H_all + 2 * max(stacked, default=0) + (0 if fold_input else 2 * hidden[0])
        )
        return forward * N, training * N  # (training: S_all, two D, and S[1], D[1] if wide)

    @classmethod
    def allocate(cls, layer_sizes: Sequence[int], N: int, training: bool) -> _Workspace:
        n_0, hidden = layer_sizes[0], layer_sizes[1:-1]
        fold_input = not hidden or n_0 <= hidden[0]
        forward_size, training_size = cls.sizes(layer_sizes, N)
        all_at_once = training and training_size <= _MAX_WORKSPACE_SIZE
        stacked = hidden if fold_input else hidden[1:]  # the layers kept as [A, 1]^T
        H_all = np.empty((sum(stacked) + len(stacked), N))
        S_all = np.empty_like(H_all) if all_at_once else None
        H = [np.empty((n_0 + 1 if fold_input and hidden else 0, N))]
        A, S, D = [H[0][:-1]], [H_all[:0]], [H_all[:0]]
        if not fold_input:  # layer 1 in the usual orientation, no row of ones
            H.append(H_all[:0])
            A.append(np.empty((N, hidden[0])))
            S.append(np.empty((N, hidden[0])) if all_at_once else H_all[:0])
            if training:
                D.append(np.empty((N, hidden[0])))
        if training:  # two arrays in turn: D[l] is the first n_l rows of turns[l % 2]
            turns = [np.empty((max(stacked, default=0), N)) for _ in range(2)]
            D += [turns[l % 2][:n] for l, n in enumerate(stacked, start=len(D))]
        first = 0
        for n in stacked:
            H.append(H_all[first : first + n + 1])
            A.append(H[-1][:-1])
            S.append(S_all[first : first + n] if S_all is not None else H_all[:0])
            first += n + 1
        for Hl in H:
            if Hl.size:
                Hl[-1] = 1.0  # the row of ones, never overwritten
        size = training_size if training else forward_size
        return cls(N, training, H_all, S_all, H, A, S if all_at_once else None, D, fold_input, size)


def _all_float64(arrays: Sequence[Any]) -> bool:
    """Whether every item is a real float64 ndarray."""
    return all(type(P) is np.ndarray and P.dtype == _F64 for P in arrays)


def _stack_parameters(
    weights: Sequence[Array], biases: Sequence[Array]
) -> tuple[list[Array], list[Array], list[Array]]:
    """Copy every layer's W and b into one new array $[W; b]$ of shape (n_in + 1, n_out).

    Returns:
        (stacked, weights, biases): the new arrays, and views of their rows: ``W`` is
        ``stacked[l][:-1]``, ``b`` is ``stacked[l][-1]``. Writing into a view writes into
        the stacked array, so the views can be the model's live parameters.
    """
    stacked = [np.vstack((W, b)) for W, b in zip(weights, biases)]
    return stacked, [P[:-1] for P in stacked], [P[-1] for P in stacked]


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

    ``weights[l]`` and ``biases[l]`` are views of the rows of one array $[W; b]$ per layer,
    which the training fast path multiplies in one product (see the module docstring). Editing
    them in place (as optimizers do) is seen by the next step. A parameter replaced by another
    array (``net.weights[0] = W_new``), or a model from :meth:`with_parameters`, pickle or
    ``copy.deepcopy``, works too: the step then stacks that layer's W and b into a new array
    at every call, which costs one copy of them (:meth:`copy` keeps the fast layout).

    Example:
        >>> net = MLP([2, 3, 1], seed=0)
        >>> X = np.array([[0.5, -1.0], [2.0, 0.0]])
        >>> loss, dweights, dbiases = net.loss_and_gradients(X, np.array([1.0, 0.0]))
        >>> [dW.shape for dW in dweights]
        [(2, 3), (3, 1)]
    """

    #: per layer (stacked [W; b], the W view, the b view); None when weights and biases were
    #: not made from stacked arrays (see __getstate__)
    _stacked: list[tuple[Array, Array, Array]] | None = None
    #: the fast path's work arrays by batch size (see _take_workspace)
    _workspaces: dict[int, _Workspace] | None = None

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "tanh",
        output_activation: str = "identity",
        init: str = "xavier",
        seed: int = 0,
    ) -> None:
        self.layer_sizes: tuple[int, ...] = check_layer_sizes(layer_sizes)
        self.activation: str = check_choice("activation", activation, ACTIVATIONS)
        self.output_activation: str = check_choice(
            "output_activation", output_activation, ACTIVATIONS
        )
        self.init: str = check_choice("init", init, INITS)
        self.seed: int = check_positive_int("seed", seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        sizes = self.layer_sizes
        weights = [INITS[init](n_in, n_out, rng) for n_in, n_out in itertools.pairwise(sizes)]
        biases = [np.zeros(n_out) for n_out in sizes[1:]]
        self._set_stacked_parameters(weights, biases)
        self._workspaces = {}

    def _set_stacked_parameters(self, weights: list[Array], biases: list[Array]) -> None:
        """Copy ``weights`` and ``biases`` into stacked arrays $[W; b]$ and use views of them.

        ``_stacked`` keeps, per layer, the stacked array with the two views made from it, so
        that the fast path can tell whether ``weights[l]`` and ``biases[l]`` still are those
        views (a test of identity, ``is``, which costs nothing).
        """
        stacked, self.weights, self.biases = _stack_parameters(weights, biases)
        self._stacked = list(zip(stacked, self.weights, self.biases))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and ``copy`` leave out the stacked arrays and work arrays (a cache).

        A copy's ``weights`` are new arrays, no longer views of a stacked array: its fast path
        stacks them at each call (:meth:`copy` stacks them once instead).
        """
        state = self.__dict__.copy()
        state["_stacked"] = None
        state["_workspaces"] = {}
        return state

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
        new = _copy.copy(self)  # without the stacked arrays (see __getstate__)
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
        W, b = self.weights, self.biases
        if (
            _all_float64(W)
            and _all_float64(b)
            and all(Wl.ndim == 2 and bl.shape == Wl.shape[1:] for Wl, bl in zip(W, b))
        ):
            new._set_stacked_parameters(W, b)
        else:  # e.g. complex parameters (complex-step checks): copied as they are
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
        X, y, loss_fn = self._check_batch(X, y, loss, finite_y_from_loss=True)
        try:
            result = self._train_step(X, y, loss_fn) if X.dtype == _F64 else None
            if result is None:  # the reference pass, after the checks in full
                X, y, loss_fn = self._check_batch(X, y, loss)
                trace = self._backprop(X, y, loss_fn)
                result = trace.loss, trace.dweights, trace.dbiases
        except ValueError:
            self._check_parameters()
            raise
        return result

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

    def _check_batch(
        self, X: Any, y: Any, loss: str, finite_y_from_loss: bool = False
    ) -> tuple[Array, Array, Loss]:
        r"""Check a batch; return X and y as the passes take them, and the loss entry.

        With ``finite_y_from_loss``, a float64 array y of the output's shape is accepted for
        MSE without looking at its entries: the training step checks instead that the loss
        came out finite, which it does only if every $y_i$ is finite
        ($\sum_i (\hat y_i - y_i)^2$ is NaN or inf as soon as one $y_i$ is), and otherwise
        checks y in full before it goes on. That saves one pass over y per training step.
        """
        loss_fn = LOSSES.get(loss) if type(loss) is str else None
        if loss_fn is None:
            loss_fn = LOSSES[check_choice("loss", loss, LOSSES)]
        X = self._check_input(X)
        output_shape = (X.shape[0], self.layer_sizes[-1])
        if loss_fn.name == "mse" and y.__class__ is np.ndarray and y.shape == output_shape:
            if finite_y_from_loss and (y.dtype is _F64 or y.dtype == _F64):
                return X, y, loss_fn
            if _is_plain_finite_f64(y):
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

    def _stacked_parameters(self) -> list[Array] | None:
        """Every layer's parameters as one array $[W; b]$ of shape (n_in + 1, n_out).

        Usually free: ``weights[l]`` and ``biases[l]`` are still the views of the model's own
        stacked array (a test of identity). A layer whose W or b was replaced by another
        float64 array is stacked into a new array (a copy made at every call, always up to
        date). ``None`` when some parameter is not a real float64 array (e.g. complex ones):
        the caller then takes the reference path.
        """
        weights, biases, own = self.weights, self.biases, self._stacked
        L = len(self.layer_sizes) - 1
        if len(weights) != L or len(biases) != L:
            self._check_parameters()  # raises the readable error
        if own is not None:
            stacked = [
                P
                for (P, W, b), W_now, b_now in zip(own, weights, biases)
                if W is W_now and b is b_now
            ]
            if len(stacked) == L:
                return stacked  # the usual case
        if not (_all_float64(weights) and _all_float64(biases)):
            return None
        stacked = []
        for l, (W, b) in enumerate(zip(weights, biases)):
            if own is not None and own[l][1] is W and own[l][2] is b:
                stacked.append(own[l][0])
                continue
            if W.shape != (self.layer_sizes[l], self.layer_sizes[l + 1]) or b.shape != W.shape[1:]:
                self._check_parameters()  # raises the readable error
            stacked.append(np.vstack((W, b)))
        return stacked

    def _layer_activations(self) -> list[str]:
        return [self.activation] * (len(self.weights) - 1) + [self.output_activation]

    def _layer_entries(self) -> list[Activation]:
        """The registry entry of every layer's activation, first layer first."""
        hidden, output = ACTIVATIONS[self.activation], ACTIVATIONS[self.output_activation]
        return [hidden] * (len(self.weights) - 1) + [output]

    # --- the passes (inputs already checked) -----------------------------------------------

    def _forward(self, X: Array) -> Array:
        hidden = ACTIVATIONS[self.activation]
        output = ACTIVATIONS[self.output_activation]
        fast = X.dtype == _F64 and hidden.has_fast_path and output.has_fast_path
        stacked = self._stacked_parameters() if fast else None
        work = self._take_workspace(X.shape[0], training=False) if stacked is not None else None
        if work is not None:
            # The forward pass of the training step, so that loss() gives the same number to
            # the last bit as loss_and_gradients() (for batches whose work arrays are kept).
            Z = self._stacked_forward(X, stacked, work, hidden.f_inplace)  # type: ignore[arg-type]
            self._give_back_workspace(work)
            return output.f_inplace(Z)  # type: ignore[misc]
        # The plain formulas: complex numbers, other activations, or a batch so large that only
        # two layers' activations should be in memory at a time.
        A = X
        for W, b, act in zip(self.weights, self.biases, self._layer_entries()):
            if stacked is not None:  # real float64 throughout: in place
                Z = A @ W
                Z += b
                A = act.f_inplace(Z)  # type: ignore[misc]  # f(Z) written over Z: no temporary
            else:
                A = act.f(A @ W + b)
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

    # --- the fast path (see the module docstring) -----------------------------------------

    def _take_workspace(self, N: int, training: bool) -> _Workspace | None:
        """The work arrays for a batch of N, taken out of the cache while in use.

        Taking them out (``pop``) means that two calls running at the same time (threads)
        never share work arrays: the second one finds none and makes its own. ``None`` for a
        forward pass alone over a batch too large to keep its arrays: the caller then takes
        the plain pass, which holds two layers' activations at a time, not all of them.
        """
        cache = self._workspaces
        work = cache.pop(N, None) if cache is not None else None
        if work is not None and (work.training or not training):
            return work
        if not training and _Workspace.sizes(self.layer_sizes, N)[0] > _MAX_WORKSPACE_SIZE:
            return None
        return _Workspace.allocate(self.layer_sizes, N, training)

    def _give_back_workspace(self, work: _Workspace) -> None:
        cache = self._workspaces
        if cache is None:
            cache = self._workspaces = {}
        if work.size <= _MAX_WORKSPACE_SIZE:
            if len(cache) >= _MAX_WORKSPACES:
                with contextlib.suppress(KeyError):  # (another thread may have made room)
                    cache.popitem()  # make room: one step, safe with threads
            cache[work.N] = work

    def _stacked_forward(
        self, X: Array, stacked: list[Array], work: _Workspace, f: Callable[[Array], Array]
    ) -> Array:
        r"""The forward pass on stacked parameters, up to the output's pre-activation Z.

        Hidden layer l + 1 computes $A^{(l+1)\top} = f\big([W; b]^\top H^{(l)}\big)$, where
        $H^{(l)} = [A^{(l)}, 1]^\top$, straight into ``work.A[l + 1]``. The last layer's
        output is returned in the usual (N, n_out) orientation, as a new array. ``f`` is the
        hidden activation's ``f_inplace``. (A wide input starts differently: see
        :class:`_Workspace`.)
        """
        L = len(stacked)
        if L == 1:  # no hidden layer: nothing to store
            Z = X.dot(stacked[0][:-1])
            Z += stacked[0][-1]
            return Z
        H, A = work.H, work.A
        first = 0
        if work.fold_input:
            np.copyto(A[0], X.T)  # H[0] = [X, 1]^T: the first layer is then like the others
        else:  # layer 1 as X W + b, (N, n_1) like X; layer 2 reads it the same way
            X.dot(stacked[0][:-1], A[1])
            A[1] += stacked[0][-1]
            f(A[1])
            W, b = stacked[1][:-1], stacked[1][-1]
            if L == 2:
                Z = A[1].dot(W)
                Z += b
                return Z
            W.T.dot(A[1].T, A[2])  # (A W)^T = W^T A^T, then the bias, one per row here
            A[2] += b[:, None]
            f(A[2])
            first = 2
        for l in range(first, L - 1):
            stacked[l].T.dot(H[l], A[l + 1])  # [W; b]^T [A, 1]^T = (A W + b)^T
            f(A[l + 1])
        return H[L - 1].T.dot(stacked[L - 1])  # [A, 1] [W; b] = A W + b, (N, n_out)

    def _train_step(
        self, X: Array, y: Array, loss_fn: Loss
    ) -> tuple[Any, list[Array], list[Array]] | None:
        r"""The fast pass for real float64 data: the formulas of :meth:`backprop`, rearranged.

        See the module docstring for the tricks (stacked $[W; b]$, transposed activations
        with a row of ones, reused work arrays). In the backward pass, with
        $D = (\partial L / \partial A^{(l)})^\top$ of shape (n_l, N):

        - $\delta^{(l)\top} = D \odot f'$, computed in place over D; the derivatives $f'$ of
          all hidden layers were computed beforehand in one call, from the activations alone
          (tanh' = 1 - a², relu' = [a > 0], ...), as one call costs less than one per layer;
        - $[dW; db] = [A^{(l-1)}, 1]^\top \delta^{(l)} = H^{(l-1)} \delta^{(l)}$, one product;
        - the next D is $(\delta^{(l)} W^\top)^\top = W \delta^{(l)\top}$.

        A layer whose input has no row of ones (X, or layer 1's output for a wide input: see
        :class:`_Workspace`) gets $dW = A^\top \delta$ and $db = 1^\top \delta$ separately
        (a product with a vector of ones is cheaper than a column sum). The input layer's dX
        is not computed at all. The returned gradients are new arrays (``dW`` and ``db`` are
        views of the rows of one new $[dW; db]$), never work arrays. ``None`` when the fast
        path does not apply (activations without in-place kernels, parameters that are not
        real float64 arrays).
        """
        hidden = ACTIVATIONS[self.activation]
        output = ACTIVATIONS[self.output_activation]
        stacked = None
        if hidden.has_fast_path and output.has_fast_path:
            stacked = self._stacked_parameters()
        if stacked is None:
            return None
        multiply, df = np.multiply, hidden.df_inplace
        L = len(stacked)
        work = self._take_workspace(X.shape[0], training=True)
        assert work is not None  # (only a forward pass alone goes without)
        H, A, S, D = work.H, work.A, work.S, work.D
        Z = self._stacked_forward(X, stacked, work, hidden.f_inplace)  # type: ignore[arg-type]
        y_hat = output.f_inplace(Z)  # type: ignore[misc]
        value, delta = _VALUE_AND_GRAD[loss_fn.name](y_hat, y)  # dL/dy_hat, a new array
        if not math.isfinite(value):  # y may have come unchecked (see _check_batch) ...
            loss_fn.check_target(y, y_hat.shape)  # ... a NaN or inf in it raises here
        output.df_inplace(delta, y_hat)  # type: ignore[misc]  # now dL/dZ of the last layer
        if L == 1:
            return value, [X.T.dot(delta)], [_ones(X.shape[0]).dot(delta)]
        wide = not work.fold_input  # then layers 0 and 1 read unstacked inputs (X, A[1])
        if S is not None:  # f' of every stacked layer in one call (and of A[1] if wide)
            hidden.derivative_from_output(work.H_all, work.S_all)  # type: ignore[arg-type]
            if wide:
                hidden.derivative_from_output(A[1], S[1])
        # (S is None for a large batch: there each D[l] is multiplied by f' on its own, with
        # df_inplace(D[l], A[l]), which uses A[l] as scratch: it is not needed any more.)
        W = self.weights  # the rows [:-1] of the stacked arrays (or their replacements)
        grads = [delta] * L  # [dW; db] per layer, filled last layer first
        if not (wide and L == 2):
            grads[L - 1] = H[L - 1].dot(delta)
            W[L - 1].dot(delta.T, D[L - 1])
        for l in range(L - 1, 2 if wide else 1, -1):
            if S is None:
                df(D[l], A[l])  # type: ignore[misc]
            else:
                multiply(D[l], S[l], D[l])  # delta of layer l, transposed
            grads[l - 1] = H[l - 1].dot(D[l].T)
            W[l - 1].dot(D[l], D[l - 1])
        if not wide:
            if S is None:
                df(D[1], A[1])  # type: ignore[misc]
            else:
                multiply(D[1], S[1], D[1])
            grads[0] = H[0].dot(D[1].T)
            self._give_back_workspace(work)
            return value, [G[:-1] for G in grads], [G[-1] for G in grads]  # views of [dW; db]
        # A wide input: layer 1's output A[1] is (N, n_1), like X, and has no row of ones.
        ones = _ones(X.shape[0])
        dT = delta.T  # the delta of the layer reading A[1], transposed like the D's
        if L > 2:
            if S is None:
                df(D[2], A[2])  # type: ignore[misc]
            else:
                multiply(D[2], S[2], D[2])
            dT = D[2]
        dW1, db1 = A[1].T.dot(dT.T), dT.dot(ones)
        dT.T.dot(W[1].T, D[1])  # dL/dA[1], (N, n_1)
        if S is None:
            df(D[1], A[1])  # type: ignore[misc]
        else:
            multiply(D[1], S[1], D[1])
        dW0 = np.matmul(X.T, D[1])  # (a large product: here @ measured faster)
        db0 = ones.dot(D[1])
        self._give_back_workspace(work)
        dweights = [dW0, dW1] + [G[:-1] for G in grads[2:]]
        dbiases = [db0, db1] + [G[-1] for G in grads[2:]]
        return value, dweights, dbiases
