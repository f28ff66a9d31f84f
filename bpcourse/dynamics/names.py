r"""A character-level recurrent model of first names, trained by backpropagation through time.

Lesson 07. For a batch of id sequences ``X`` (N, T) and their next characters ``Y`` (N, T):

$$e_t = E[x_t], \qquad h_t = \tanh(e_t W_{xh} + h_{t-1} W_{hh} + b), \qquad
z_t = h_t W_{hy} + c,$$
$$L = -\frac{1}{NT} \sum_{n} \sum_{t=1}^{T} \log \mathrm{softmax}(z_{n,t})_{y_{n,t}}
\quad\text{(cross-entropy over time).}$$

The backward pass: the softmax-CE gradient at every step, $dh^{\text{out}}_t = dz_t
W_{hy}^\top$ from the readout, backpropagation through time (:func:`bpcourse.nn.rnn_backward`)
for the recurrent weights and the gradient of every $e_t$, and the embedding's backward rule
(:func:`bpcourse.nn.embedding.embedding_backward`: the rows of E collect the sum of the gradients
of every time they were looked up).

The model follows the course's parameter protocol (``named_parameters``, ``parameters``,
``with_parameters``, ``loss``, ``gradients``): :func:`bpcourse.gradcheck.check_model_gradients`
checks it with ``loss="softmax_cross_entropy"``.
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
from bpcourse.data import CharVocab
from bpcourse.nn.embedding import embedding_backward, embedding_forward
from bpcourse.optim import SGD, Adam, Optimizer, clip_grad_norm, global_norm

__all__ = [
    "CharRNN",
    "CharTrace",
    "CharTrainingHistory",
    "sequence_cross_entropy",
    "sequence_cross_entropy_grad",
    "train_char_model",
]

Array = np.ndarray


def _check_sequence_logits(logits: Any, Y: Any) -> tuple[Array, Array]:
    logits = as_array("logits", logits, ndim=3, allow_complex=True)
    N, T, V = logits.shape
    labels = np.asarray(Y)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"Y: expected integer ids of shape ({N}, {T}), got {describe(Y)}")
    if labels.shape != (N, T):
        raise ValueError(f"Y: expected shape ({N}, {T}), one target per step, got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= V):
        raise ValueError(f"Y: expected ids in 0..{V - 1}, got {labels.min()}..{labels.max()}")
    return logits, labels


def sequence_cross_entropy(logits: Any, Y: Any) -> Any:
    r"""Cross-entropy over time: the mean of $-\log \mathrm{softmax}(z_{n,t})_{y_{n,t}}$ over
    every sequence n and step t.

    Args:
        logits: (N, T, V) scores of the next character at every step.
        Y: (N, T) integer targets.
    """
    logits, labels = _check_sequence_logits(logits, Y)
    N, T, V = logits.shape
    return nn.softmax_cross_entropy(logits.reshape(N * T, V), labels.reshape(-1))


def sequence_cross_entropy_grad(logits: Any, Y: Any) -> Array:
    r"""Gradient of :func:`sequence_cross_entropy`: $(\mathrm{softmax}(z_{n,t}) -
    \mathrm{onehot}(y_{n,t})) / (NT)$ at every step, shape (N, T, V)."""
    logits, labels = _check_sequence_logits(logits, Y)
    N, T, V = logits.shape
    grad = nn.softmax_cross_entropy_grad(logits.reshape(N * T, V), labels.reshape(-1))
    return grad.reshape(N, T, V)


@dataclass
class CharTrace:
    """Every intermediate of one pass of :class:`CharRNN`: the states ``H`` (N, T+1, n_h),
    the ``logits`` (N, T, V), the loss, the gradients (protocol order) and the norm of the
    gradient reaching every hidden state, ``dh_norms`` (T,)."""

    loss: Any
    H: Array
    logits: Array
    grads: list[Array] = field(default_factory=list)
    dh_norms: Array | None = None


@dataclass(frozen=True)
class CharRNN:
    """Embedding → vanilla RNN → readout, predicting the next character.

    Parameters in protocol order: ``E`` (V, d), ``W_xh`` (d, n_h), ``W_hh`` (n_h, n_h),
    ``b`` (n_h,), ``W_hy`` (n_h, V), ``c`` (V,). Build one with :meth:`CharRNN.init`.
    """

    E: Array
    W_xh: Array
    W_hh: Array
    b: Array
    W_hy: Array
    c: Array

    @classmethod
    def init(
        cls,
        vocab_size: int,
        embed_dim: int = 16,
        n_hidden: int = 64,
        spectral_radius: float = 0.9,
        seed: int = 0,
    ) -> CharRNN:
        """Small random weights; ``W_hh`` with the given spectral radius (a scaled orthogonal
        matrix, :func:`bpcourse.nn.recurrent_weights`)."""
        V = check_positive_int("vocab_size", vocab_size, minimum=2)
        d = check_positive_int("embed_dim", embed_dim)
        n_h = check_positive_int("n_hidden", n_hidden)
        rho = check_positive_number("spectral_radius", spectral_radius)
        rng = seeded_rng(seed)
        return cls(
            E=rng.normal(0.0, 1.0, size=(V, d)),
            W_xh=rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, n_h)),
            W_hh=nn.recurrent_weights(n_h, rho, rng),
            b=np.zeros(n_h),
            W_hy=rng.normal(0.0, 1.0 / np.sqrt(n_h), size=(n_h, V)),
            c=np.zeros(V),
        )

    @property
    def vocab_size(self) -> int:
        return int(self.E.shape[0])

    # --- the parameter protocol ----------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, Array]]:
        return [
            ("E", self.E),
            ("W_xh", self.W_xh),
            ("W_hh", self.W_hh),
            ("b", self.b),
            ("W_hy", self.W_hy),
            ("c", self.c),
        ]

    def parameters(self) -> list[Array]:
        return [p for _, p in self.named_parameters()]

    def with_parameters(self, arrays: Sequence[Any]) -> CharRNN:
        """A new model with ``arrays`` (in the order of :meth:`named_parameters`)."""
        names = self.named_parameters()
        if isinstance(arrays, (str, bytes)) or len(arrays) != len(names):
            raise ValueError(
                f"arrays: expected {len(names)} arrays (E, W_xh, W_hh, b, W_hy, c), "
                f"got {describe(arrays)}"
            )
        new = []
        for (name, old), a in zip(names, arrays):
            arr = as_array(f"arrays[{name}]", a, allow_complex=True)
            check_shape(f"arrays[{name}]", arr, old.shape, f"the shape of {name}")
            new.append(arr)
        E, W_xh, W_hh, b, W_hy, c = new
        return CharRNN(E, W_xh, W_hh, b, W_hy, c)

    def loss(self, X: Any, Y: Any, loss: str = "softmax_cross_entropy") -> Any:
        """Cross-entropy over time of the next-character predictions (``loss`` names it for
        the protocol; the model has only this one)."""
        check_choice("loss", loss, ("softmax_cross_entropy",))
        return self.backprop(X, Y, backward=False).loss

    def gradients(
        self, X: Any, Y: Any, loss: str = "softmax_cross_entropy"
    ) -> tuple[Any, list[Array]]:
        """``(loss, [dE, dW_xh, dW_hh, db, dW_hy, dc])`` by backpropagation through time."""
        check_choice("loss", loss, ("softmax_cross_entropy",))
        trace = self.backprop(X, Y)
        return trace.loss, trace.grads

    # --- forward and backward ------------------------------------------------------------

    def _check_ids(self, X: Any, name: str = "X") -> Array:
        arr = np.asarray(X)
        if arr.dtype.kind not in "iu" or arr.ndim != 2 or 0 in arr.shape:
            raise TypeError(f"{name}: expected integer ids of shape (N, T), got {describe(X)}")
        V = self.vocab_size
        if arr.min() < 0 or arr.max() >= V:
            raise ValueError(
                f"{name}: expected character ids in 0..{V - 1} (the model's vocabulary), got "
                f"ids from {arr.min()} to {arr.max()}"
            )
        return arr

    def _check_windows(
        self, X: Any, Y: Any, names: tuple[str, str] = ("X", "Y")
    ) -> tuple[Array, Array]:
        """Windows X (N, T) of ids and their targets Y (N, T), both in the vocabulary."""
        X = self._check_ids(X, names[0])
        Y = self._check_ids(Y, names[1])
        if Y.shape != X.shape:
            raise ValueError(
                f"{names[1]}: expected shape {X.shape} (the shape of {names[0]}, one target per "
                f"step), got {Y.shape}"
            )
        return X, Y

    def backprop(self, X: Any, Y: Any, backward: bool = True) -> CharTrace:
        """Forward pass over the sequences X (N, T) and, with ``backward``, BPTT."""
        backward = check_flag("backward", backward)
        X = self._check_ids(X)
        emb = embedding_forward(X, self.E)  # (N, T, d)
        H = nn.rnn_forward(emb, self.W_xh, self.W_hh, self.b)  # (N, T + 1, n_h)
        N, T = X.shape
        n_h = self.W_hh.shape[0]
        hs = np.ascontiguousarray(H[:, 1:]).reshape(N * T, n_h)  # 2-D: one BLAS product
        logits = (hs @ self.W_hy + self.c).reshape(N, T, self.vocab_size)
        loss = sequence_cross_entropy(logits, Y)
        if not backward:
            return CharTrace(loss, H, logits)
        dlogits = sequence_cross_entropy_grad(logits, Y)
        dlogits2 = dlogits.reshape(N * T, self.vocab_size)
        dW_hy = hs.T @ dlogits2
        dc = dlogits2.sum(axis=0)
        dH_out = (dlogits2 @ self.W_hy.T).reshape(N, T, n_h)
        g = nn.rnn_backward(dH_out, emb, H, self.W_xh, self.W_hh)
        dE = embedding_backward(g.dX, X, self.vocab_size)
        grads = [dE, g.dW_xh, g.dW_hh, g.db, dW_hy, dc]
        return CharTrace(loss, H, logits, grads, g.grad_norms)

    def sample(
        self,
        vocab: CharVocab,
        n: int = 10,
        max_length: int = 20,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> list[str]:
        """Generate ``n`` names: start from the mark ``"."``, draw each next character from the
        softmax of the logits divided by ``temperature``, stop at the next ``"."``."""
        n = check_positive_int("n", n)
        max_length = check_positive_int("max_length", max_length)
        temperature = check_positive_number("temperature", temperature)
        if not isinstance(vocab, CharVocab) or vocab.size != self.vocab_size:
            raise ValueError(
                f"vocab: expected a CharVocab of {self.vocab_size} characters, got "
                f"{describe(vocab)}"
            )
        rng = seeded_rng(seed)
        h = np.zeros((n, self.W_hh.shape[0]))
        x = np.zeros(n, dtype=np.int64)
        out = np.zeros((n, max_length), dtype=np.int64)
        done = np.zeros(n, dtype=bool)
        for t in range(max_length):
            h = np.tanh(self.E[x] @ self.W_xh + h @ self.W_hh + self.b)
            p = nn.softmax((h @ self.W_hy + self.c) / temperature)
            u = rng.random((n, 1))
            x = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), self.vocab_size - 1)
            x[done] = 0
            out[:, t] = x
            done |= x == 0
        names = []
        for row in out:
            ids = row[: int(np.argmax(row == 0))] if (row == 0).any() else row
            names.append(vocab.decode(ids))
        return names


@dataclass
class CharTrainingHistory:
    """Per-step training loss and gradient norm (before clipping), and per-evaluation
    validation losses; ``seconds`` is the wall time of the run."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_char_model(
    model: CharRNN,
    X: Any,
    Y: Any,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 0.01,
    optimizer: str = "adam",
    max_norm: float | None = None,
    X_val: Any = None,
    Y_val: Any = None,
    eval_every: int = 50,
    seed: int = 0,
) -> tuple[CharRNN, CharTrainingHistory]:
    """Train on random mini-batches of the windows ``X``, ``Y`` (N, T).

    Each step draws ``batch_size`` windows at random (with replacement). A ``batch_size`` of
    N or more trains on all N windows at every step (full-batch gradient descent), as the
    other trainers do with a batch larger than the data.

    Args:
        optimizer: "adam" or "sgd".
        max_norm: clip the global gradient norm to this value before each step
            (:func:`bpcourse.optim.clip_grad_norm`); ``None`` trains without clipping.
        X_val, Y_val: optional validation windows, evaluated every ``eval_every`` steps.

    Returns:
        ``(trained_model, history)``; ``model`` itself is not changed. A run whose loss
        becomes NaN or infinite stops there (the history shows where).
    """
    steps = check_positive_int("steps", steps)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_positive_number("lr", lr)
    check_choice("optimizer", optimizer, ("adam", "sgd"))
    if max_norm is not None:
        max_norm = check_positive_number("max_norm", max_norm)
    eval_every = check_positive_int("eval_every", eval_every)
    if not isinstance(model, CharRNN):
        raise TypeError(f"model: expected a CharRNN, got {describe(model)}")
    X, Y = model._check_windows(X, Y)
    if (X_val is None) != (Y_val is None):
        given, missing = ("X_val", "Y_val") if Y_val is None else ("Y_val", "X_val")
        raise ValueError(
            f"{missing}: expected windows with {given}, got None (give both or neither)"
        )
    if X_val is not None:
        X_val, Y_val = model._check_windows(X_val, Y_val, ("X_val", "Y_val"))
    full_batch = batch_size >= X.shape[0]
    start = time.perf_counter()
    rng = seeded_rng(seed)
    params = [p.copy() for p in model.parameters()]
    current = model.with_parameters(params)
    opt: Optimizer = Adam(params, lr=lr) if optimizer == "adam" else SGD(params, lr=lr)
    history = CharTrainingHistory()
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            if full_batch:
                loss, grads = current.gradients(X, Y)
            else:
                batch = rng.integers(0, X.shape[0], size=batch_size)
                loss, grads = current.gradients(X[batch], Y[batch])
            norm = global_norm(grads)
            history.loss.append(float(loss))
            history.grad_norm.append(norm)
            if not np.isfinite(norm) or not np.isfinite(loss):
                break
            if max_norm is not None:
                grads, _ = clip_grad_norm(grads, max_norm)
            opt.step(grads)
            if X_val is not None and (step + 1) % eval_every == 0:
                history.val_steps.append(step + 1)
                history.val_loss.append(float(current.loss(X_val, Y_val)))
    history.seconds = time.perf_counter() - start
    return current, history
