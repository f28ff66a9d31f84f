r"""A small convolutional network for the 8 × 8 digits, trained by the course's backprop.

Lesson 07.

The network, for images X of shape (N, 1, 8, 8):

$$X \xrightarrow{\text{conv } 3\times3,\ C \text{ kernels}} Z \xrightarrow{\text{ReLU}} A
\xrightarrow{\text{max-pool } 2\times2} P \xrightarrow{\text{flatten}} F
\xrightarrow{F W + c} \text{logits} \xrightarrow{\text{softmax CE}} L .$$

The backward pass runs the same chain in reverse: softmax-CE gradient, the dense layer's
$dF = d\text{logits}\,W^\top$, the pool routes $dP$ to the arg-max of each block, ReLU masks,
and the convolution layer gives $dK$, $db$ and, for a saliency map, $dX = \partial L/\partial X$.

The convolution is computed as one matrix product on the "im2col" matrix of the input (the
3 × 3 windows of every image as rows, gathered with ``sliding_window_view``), the way
libraries do it; :func:`conv2d_im2col_forward` and :func:`conv2d_im2col_backward` agree with
:func:`bpcourse.nn.conv2d_forward` and :func:`bpcourse.nn.conv2d_backward` (tested).

The model follows the course's parameter protocol (``named_parameters``, ``parameters``,
``with_parameters``, ``loss``, ``gradients``), so
:func:`bpcourse.gradcheck.check_model_gradients` checks it with
``loss="softmax_cross_entropy"``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpcourse import nn
from bpcourse._validate import (
    as_array,
    check_choice,
    check_flag,
    check_positive_int,
    check_positive_number,
    check_shape,
    describe,
    seeded_rng,
)
from bpcourse.nn.losses import _check_class_labels
from bpcourse.nn.pool import maxpool2d_backward, maxpool2d_forward
from bpcourse.optim import Adam

__all__ = [
    "CNNTrace",
    "DigitCNN",
    "TrainingHistory",
    "confusion_matrix",
    "conv2d_im2col_backward",
    "conv2d_im2col_forward",
    "train_digit_cnn",
]

Array = np.ndarray


# ---------------------------------------------------------------------------------------------
# The convolution layer as one matrix product
# ---------------------------------------------------------------------------------------------


def _im2col(X: Array, kh: int, kw: int) -> Array:
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo): row (c, i, j) holds the input under kernel entry
    (c, i, j) at every output position of every image.

    One contiguous slice copy per kernel entry (9 for a one-channel 3 × 3 kernel): the rows are
    written whole, which is faster than gathering every window's 9 values into one row.
    """
    N, C, H, W = X.shape
    Ho, Wo = H - kh + 1, W - kw + 1
    cols = np.empty((C, kh, kw, N, Ho, Wo), dtype=X.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = X[:, :, i : i + Ho, j : j + Wo].transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * Ho * Wo)


def _conv_forward(X: Array, K: Array, b: Array) -> tuple[Array, Array]:
    C_out, _, kh, kw = K.shape
    N, _, H, W = X.shape
    cols = _im2col(X, kh, kw)
    Yt = K.reshape(C_out, -1) @ cols  # (C_out, N*Ho*Wo): the one matrix product
    if Yt.dtype == np.result_type(Yt.dtype, b.dtype):
        Yt += b[:, None]  # in place: no second (C_out, N*Ho*Wo) array
    else:  # a complex bias on a real product (complex-step checks)
        Yt = Yt + b[:, None]
    Y = Yt.reshape(C_out, N, H - kh + 1, W - kw + 1).transpose(1, 0, 2, 3)  # a view
    return Y, cols


def _conv_backward(
    dY: Array, cols: Array, K: Array, input_shape: tuple[int, ...], need_dX: bool
) -> tuple[Array | None, Array, Array]:
    C_out, C_in, kh, kw = K.shape
    N, _, Ho, Wo = dY.shape
    dYt = dY.transpose(1, 0, 2, 3).reshape(C_out, -1)  # (C_out, N*Ho*Wo)
    Km = K.reshape(C_out, -1)
    dK = (dYt @ cols.T).reshape(K.shape)
    db = dYt.sum(axis=1)
    if not need_dX:
        return None, dK, db
    dcols = (Km.T @ dYt).reshape(C_in, kh, kw, N, Ho, Wo)
    dX = np.zeros(input_shape, dtype=dcols.dtype)
    for i in range(kh):  # col2im: every window adds its gradient back where it was read
        for j in range(kw):
            dX[:, :, i : i + Ho, j : j + Wo] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return dX, dK, db


def _check_conv(X: Any, K: Any) -> tuple[Array, Array]:
    K = as_array("K", K, ndim=4, allow_complex=True)
    X = as_array("X", X, ndim=4, allow_complex=True)
    if X.shape[1] != K.shape[1]:
        raise ValueError(
            f"X: expected shape (N, C_in, H, W) with C_in = K.shape[1] = {K.shape[1]}, "
            f"got shape {X.shape}"
        )
    if K.shape[2] > X.shape[2] or K.shape[3] > X.shape[3]:
        raise ValueError(
            f"K: expected a kernel no larger than the input {X.shape[2:]}, got {K.shape[2:]}"
        )
    return X, K


def conv2d_im2col_forward(X: Any, K: Any, b: Any) -> Array:
    """:func:`bpcourse.nn.conv2d_forward` computed as one matrix product on the im2col matrix.

    Args:
        X: (N, C_in, H, W). K: (C_out, C_in, kh, kw). b: (C_out,).

    Returns:
        Y: (N, C_out, H - kh + 1, W - kw + 1).
    """
    X, K = _check_conv(X, K)
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (K.shape[0],), "(C_out,) with C_out = K.shape[0]")
    return _conv_forward(X, K, b)[0]


def conv2d_im2col_backward(dY: Any, X: Any, K: Any) -> tuple[Array, Array, Array]:
    """:func:`bpcourse.nn.conv2d_backward` by matrix products: dK = dYᵀ·cols, dcols = dY·K.

    The input gradient is "col2im": each window's row of ``dcols`` is added back onto the
    pixels the window read (overlapping windows add up).

    Returns:
        dX: (N, C_in, H, W), dK: (C_out, C_in, kh, kw), db: (C_out,).
    """
    X, K = _check_conv(X, K)
    C_out, _, kh, kw = K.shape
    out = (X.shape[0], C_out, X.shape[2] - kh + 1, X.shape[3] - kw + 1)
    dY = as_array("dY", dY, ndim=4, allow_complex=True)
    check_shape("dY", dY, out, "(N, C_out, H - kh + 1, W - kw + 1): the forward output")
    cols = _im2col(X, kh, kw)
    dX, dK, db = _conv_backward(dY, cols, K, X.shape, need_dX=True)
    assert dX is not None
    return dX, dK, db


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def _relu(Z: Array) -> Array:
    return np.where(Z.real > 0, Z, 0.0)


@dataclass
class CNNTrace:
    """Every intermediate of one forward and backward pass of :class:`DigitCNN`.

    ``dX`` is the gradient of the loss with respect to the input images (the saliency).
    """

    loss: Any
    logits: Array
    Z: Array
    A: Array
    P: Array
    grads: list[Array]
    dX: Array | None  # noqa: N815 (the course's name for dL/dX)


@dataclass(frozen=True)
class DigitCNN:
    """conv 3×3 (C kernels) → ReLU → max-pool 2×2 → dense → softmax cross-entropy.

    Build one with :meth:`DigitCNN.init`. The parameters, in protocol order: ``K`` (C, 1, 3, 3)
    kernels, ``b`` (C,) their biases, ``W`` (C·h·w, 10) the dense weights on the flattened
    pooled maps, ``c`` (10,) the class biases.
    """

    K: Array
    b: Array
    W: Array
    c: Array
    pool: int = 2

    def __post_init__(self) -> None:
        K = as_array("K", self.K, ndim=4, allow_complex=True)
        C = K.shape[0]
        check_shape("b", as_array("b", self.b, ndim=1, allow_complex=True), (C,), "(C,)")
        W = as_array("W", self.W, ndim=2, allow_complex=True)
        side = self._pooled_side() if C else 0
        if C == 0 or side < 1 or C * side * side != W.shape[0]:
            raise ValueError(
                f"W: expected C·h·w rows (C = {C} kernels, square pooled maps h = w), got shape "
                f"{W.shape}"
            )
        check_shape("c", as_array("c", self.c, ndim=1, allow_complex=True), (W.shape[1],))
        check_positive_int("pool", self.pool)

    @classmethod
    def init(
        cls,
        n_kernels: int = 8,
        kernel_size: int = 3,
        image_size: int = 8,
        n_classes: int = 10,
        seed: int = 0,
    ) -> DigitCNN:
        """He-initialised weights (variance 2 / fan-in), zero biases, from ``seed``."""
        C = check_positive_int("n_kernels", n_kernels)
        k = check_positive_int("kernel_size", kernel_size)
        size = check_positive_int("image_size", image_size)
        n_classes = check_positive_int("n_classes", n_classes, minimum=2)
        conv_out = size - k + 1
        if conv_out < 2 or conv_out % 2:
            raise ValueError(
                f"kernel_size: expected image_size - kernel_size + 1 to be even and >= 2 "
                f"(a 2 × 2 pool follows), got {conv_out}"
            )
        rng = seeded_rng(seed)
        n_flat = C * (conv_out // 2) ** 2
        return cls(
            K=rng.normal(0.0, np.sqrt(2.0 / (k * k)), size=(C, 1, k, k)),
            b=np.zeros(C),
            W=rng.normal(0.0, np.sqrt(2.0 / n_flat), size=(n_flat, n_classes)),
            c=np.zeros(n_classes),
        )

    # --- the parameter protocol ----------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, Array]]:
        return [("K", self.K), ("b", self.b), ("W", self.W), ("c", self.c)]

    def parameters(self) -> list[Array]:
        return [p for _, p in self.named_parameters()]

    def with_parameters(self, arrays: Sequence[Any]) -> DigitCNN:
        """A new model with ``arrays`` (in the order of :meth:`named_parameters`)."""
        names = self.named_parameters()
        if isinstance(arrays, (str, bytes)) or len(arrays) != len(names):
            raise ValueError(
                f"arrays: expected {len(names)} arrays (K, b, W, c), got {describe(arrays)}"
            )
        new = []
        for (name, old), a in zip(names, arrays):
            arr = as_array(f"arrays[{name}]", a, allow_complex=True)
            check_shape(f"arrays[{name}]", arr, old.shape, f"the shape of {name}")
            new.append(arr)
        K, b, W, c = new
        return DigitCNN(K, b, W, c, pool=self.pool)

    def loss(self, X: Any, y: Any, loss: str = "softmax_cross_entropy") -> Any:
        """Mean softmax cross-entropy of the model on images X (N, 1, H, W), labels y (N,).

        ``loss`` names the loss for the protocol; the network has only this one."""
        check_choice("loss", loss, ("softmax_cross_entropy",))
        return self.backprop(X, y, backward=False).loss

    def gradients(
        self, X: Any, y: Any, loss: str = "softmax_cross_entropy"
    ) -> tuple[Any, list[Array]]:
        """``(loss, [dK, db, dW, dc])`` by backpropagation."""
        check_choice("loss", loss, ("softmax_cross_entropy",))
        trace = self.backprop(X, y)
        return trace.loss, trace.grads

    # --- forward, backward and what they show --------------------------------------------

    def _pooled_side(self) -> int:
        """The side of one pooled feature map, from the dense weights' rows (C·side²)."""
        return round(float(np.sqrt(self.W.shape[0] / self.K.shape[0])))

    def _check_images(self, X: Any, name: str = "X") -> Array:
        X = as_array(name, X, ndim=4, allow_complex=True)
        size = self._pooled_side() * self.pool + self.K.shape[2] - 1
        check_shape(name, X, (None, self.K.shape[1], size, size), "(N, 1, H, W) images")
        if X.shape[0] == 0:
            raise ValueError(f"{name}: expected at least one image, got shape {X.shape}")
        return X

    def _check_labels(self, y: Any, n_images: int, name: str = "y") -> Array:
        """Integer labels (one per image) in 0..n_classes-1, as the loss takes them."""
        return _check_class_labels(y, (n_images, self.W.shape[1]), name)

    def _forward(self, X: Array) -> tuple[Array, Array, Array, Array, Array]:
        Z, cols = _conv_forward(X, self.K, self.b)
        A = _relu(Z)
        P = maxpool2d_forward(A, self.pool)
        logits = P.reshape(X.shape[0], -1) @ self.W + self.c
        return Z, A, P, logits, cols

    def feature_maps(self, X: Any) -> Array:
        """The kernels' responses after ReLU, (N, C, H-2, W-2)."""
        X = self._check_images(X)
        return self._forward(X)[1]

    def logits(self, X: Any) -> Array:
        X = self._check_images(X)
        return self._forward(X)[3]

    def predict(self, X: Any) -> Array:
        """The most likely digit of every image, (N,) int."""
        return np.asarray(self.logits(X).real.argmax(axis=1))

    def accuracy(self, X: Any, y: Any) -> float:
        """The fraction of images X (N, 1, H, W) whose predicted digit is their label y (N,)."""
        pred = self.predict(X)
        labels = self._check_labels(y, pred.shape[0])
        return float(np.mean(pred == labels))

    def backprop(
        self, X: Any, y: Any, backward: bool = True, input_gradient: bool = False
    ) -> CNNTrace:
        """One forward pass, and (with ``backward``) the backward pass to every parameter.

        Args:
            X: (N, 1, H, W) images. y: (N,) labels.
            backward: compute the gradients.
            input_gradient: also compute ``dX`` = dLoss/dX, the saliency (costs one extra
                matrix product and the col2im sum).
        """
        backward = check_flag("backward", backward)
        input_gradient = check_flag("input_gradient", input_gradient)
        X = self._check_images(X)
        Z, A, P, logits, cols = self._forward(X)
        loss = nn.softmax_cross_entropy(logits, y)
        if not backward:
            return CNNTrace(loss, logits, Z, A, P, [], None)
        N = X.shape[0]
        dlogits = nn.softmax_cross_entropy_grad(logits, y)
        F = P.reshape(N, -1)
        dW = F.T @ dlogits
        dc = dlogits.sum(axis=0)
        dP = (dlogits @ self.W.T).reshape(P.shape)
        dA = maxpool2d_backward(dP, A, self.pool)
        dZ = np.where(Z.real > 0, dA, 0.0)
        dX, dK, db = _conv_backward(dZ, cols, self.K, X.shape, need_dX=input_gradient)
        return CNNTrace(loss, logits, Z, A, P, [dK, db, dW, dc], dX)

    def saliency(self, X: Any, y: Any) -> Array:
        r"""$\partial L / \partial X$ for each image on its own (the loss of one image, not the
        batch mean), from the same backward pass that trains the network. Shape of ``X``."""
        trace = self.backprop(X, y, input_gradient=True)
        assert trace.dX is not None
        return trace.dX * trace.dX.shape[0]  # undo the batch mean: each image's own gradient


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainingHistory:
    """Per-epoch curves of a training run, and the time it took."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_digit_cnn(
    model: DigitCNN,
    X_train: Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    epochs: int = 15,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
) -> tuple[DigitCNN, TrainingHistory]:
    """Train with Adam on shuffled mini-batches; record loss and accuracy after every epoch.

    Returns:
        ``(trained_model, history)``; ``model`` itself is not changed.
    """
    if not isinstance(model, DigitCNN):
        raise TypeError(f"model: expected a DigitCNN, got {describe(model)}")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_positive_number("lr", lr)
    X_train = model._check_images(X_train, "X_train")
    X_val = model._check_images(X_val, "X_val")
    y_train = model._check_labels(y_train, X_train.shape[0], "y_train")
    y_val = model._check_labels(y_val, X_val.shape[0], "y_val")
    start = time.perf_counter()
    rng = seeded_rng(seed)
    params = [p.copy() for p in model.parameters()]
    current = model.with_parameters(params)
    opt = Adam(params, lr=lr)
    history = TrainingHistory()
    N = X_train.shape[0]
    for _ in range(epochs):
        order = rng.permutation(N)
        for s in range(0, N, batch_size):
            batch = order[s : s + batch_size]
            _, grads = current.gradients(X_train[batch], y_train[batch])
            opt.step(grads)  # updates the arrays of ``current`` in place
        history.train_loss.append(float(current.loss(X_train, y_train)))
        history.val_loss.append(float(current.loss(X_val, y_val)))
        history.train_accuracy.append(current.accuracy(X_train, y_train))
        history.val_accuracy.append(current.accuracy(X_val, y_val))
    history.seconds = time.perf_counter() - start
    return current, history


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int = 10) -> Array:
    """Counts ``M[i, j]`` of examples of class i predicted as class j."""
    n_classes = check_positive_int("n_classes", n_classes)
    t = np.asarray(y_true)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(
            f"y_true: expected a non-empty 1-D array of labels, got {describe(y_true)}"
        )
    t = _check_class_labels(t, (t.shape[0], n_classes), "y_true")
    p = _check_class_labels(y_pred, (t.shape[0], n_classes), "y_pred")
    M = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(M, (t, p), 1)
    return M
