r"""A tiny :class:`bpcourse.nn.MLP` in closed form: its loss as one SymPy expression
(:func:`mlp_loss_expression`), its exact gradients (:func:`symbolic_mlp_gradients`) and how far
the numeric backprop is from them (:func:`compare_with_mlp`) (lesson 03).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy import Expr, Symbol

from bpcourse._validate import (
    as_array,
    check_choice,
    check_layer_sizes,
    check_positive_int,
    describe,
)
from bpcourse.gradcheck import relative_error
from bpcourse.symbolic._checks import _index
from bpcourse.symbolic.chain_rule import _check_loss_fits
from bpcourse.symbolic.functions import ACTIVATIONS, LOSSES, NN_LOSSES
from bpcourse.symbolic.numeric import lambdify_float
from bpcourse.symbolic.reverse_mode import reverse_mode_gradient


def _object_array(shape: tuple[int, ...], make: Callable[..., Any]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = make(*idx)
    return out


@dataclass(frozen=True)
class MLPExpression:
    r"""The loss of a small MLP as one SymPy expression, with its symbols.

    The symbol arrays are NumPy arrays of dtype ``object`` shaped like the numeric ones:
    ``weights[l]`` is ``(n_l, n_{l+1})`` like ``MLP.weights[l]``, ``biases[l]`` is
    ``(n_{l+1},)``, ``X`` is ``(N, n_in)``, ``Y`` and ``outputs`` are ``(N, n_out)``. Names are
    1-based: ``W1_12`` is row 1, column 2 of the first weight matrix; ``x_21`` is feature 1
    of sample 2. For ``"softmax_cross_entropy"`` the targets ``Y`` are one-hot.

    Attributes:
        layer_sizes: ``(n_in, ..., n_out)``.
        activation, output_activation, loss: the names used.
        loss_expr: the loss.
        outputs: $\hat y$ for every sample and output.
        weights, biases: the parameter symbols.
        X, Y: the data symbols.
    """

    layer_sizes: tuple[int, ...]
    activation: str
    output_activation: str
    loss: str
    loss_expr: Expr
    outputs: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    X: np.ndarray
    Y: np.ndarray

    def parameters(self) -> list[Symbol]:
        """Every parameter symbol, in the order of ``MLP.parameters()`` (W1, b1, W2, ...)
        with each array flattened in C order."""
        out: list[Symbol] = []
        for W, b in zip(self.weights, self.biases):
            out += list(W.ravel()) + list(b.ravel())
        return out

    def data_symbols(self) -> list[Symbol]:
        """The symbols of ``X`` then ``Y``, flattened in C order."""
        return list(self.X.ravel()) + list(self.Y.ravel())


def mlp_loss_expression(
    layer_sizes: Sequence[int],
    activation: str = "tanh",
    output_activation: str = "identity",
    loss: str = "mse",
    n_samples: int = 1,
) -> MLPExpression:
    r"""Write the loss of a small MLP on ``n_samples`` samples as one SymPy expression.

    The network is the one of :class:`bpcourse.nn.MLP`: $H_0 = X$,
    $Z_l = H_{l-1} W_l + b_l$, $H_l = f(Z_l)$ for hidden layers and
    $\hat Y = f_\text{out}(Z_L)$, then the loss of :data:`LOSSES`.

    Meant for tiny networks (a few units, a few samples): the expression grows with every
    weight and sample.

    Args:
        layer_sizes: ``(n_in, n_hidden..., n_out)``, each $\ge 1$, at least two.
        activation: hidden activation, a name from :data:`ACTIVATIONS`.
        output_activation: activation of the last layer.
        loss: a name from :data:`LOSSES`.
        n_samples: number of samples $N \ge 1$.

    Returns:
        An :class:`MLPExpression` holding the loss and the weight, bias and data symbols.
    """
    sizes = check_layer_sizes(layer_sizes)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, ACTIVATIONS)
    check_choice("loss", loss, LOSSES)
    n = check_positive_int("n_samples", n_samples)
    _check_loss_fits(loss, sizes[-1], output_activation, "layer_sizes[-1]")
    weights = [
        _object_array(
            (sizes[l], sizes[l + 1]),
            lambda i, j, l=l: sympy.Symbol(f"W{l + 1}_{_index(i + 1, j + 1)}"),
        )
        for l in range(len(sizes) - 1)
    ]
    biases = [
        _object_array((sizes[l + 1],), lambda j, l=l: sympy.Symbol(f"b{l + 1}_{j + 1}"))
        for l in range(len(sizes) - 1)
    ]
    X = _object_array((n, sizes[0]), lambda i, j: sympy.Symbol(f"x_{_index(i + 1, j + 1)}"))
    Y = _object_array((n, sizes[-1]), lambda i, j: sympy.Symbol(f"y_{_index(i + 1, j + 1)}"))
    H = X
    for l, (W, b) in enumerate(zip(weights, biases)):
        f = ACTIVATIONS[output_activation if l == len(weights) - 1 else activation]
        H = _object_array(
            (n, W.shape[1]),
            lambda r, c, H=H, W=W, b=b, f=f: f(
                sympy.Add(*[H[r, i] * W[i, c] for i in range(W.shape[0])]) + b[c]
            ),
        )
    value = LOSSES[loss].value(H.tolist(), Y.tolist())
    return MLPExpression(
        sizes, activation, output_activation, loss, value, H, weights, biases, X, Y
    )


def _check_model(model: Any) -> tuple[int, ...]:
    needed = ("layer_sizes", "activation", "output_activation", "weights", "biases")
    if not all(hasattr(model, a) for a in needed):
        raise TypeError(f"model: expected a bpcourse.nn.MLP, got {describe(model)}")
    sizes = check_layer_sizes(model.layer_sizes, "model.layer_sizes")
    for l in range(len(sizes) - 1):
        W = as_array(f"model.weights[{l}]", model.weights[l], ndim=2)
        b = as_array(f"model.biases[{l}]", model.biases[l], ndim=1)
        if W.shape != (sizes[l], sizes[l + 1]) or b.shape != (sizes[l + 1],):
            raise ValueError(
                f"model: expected layer {l} to have weights {(sizes[l], sizes[l + 1])} and "
                f"biases {(sizes[l + 1],)} from layer_sizes {sizes}, got {W.shape} and {b.shape}"
            )
    return sizes


def _targets(y: Any, loss: str, n: int, n_out: int) -> np.ndarray:
    """Targets as an (N, n_out) float64 array (one-hot for softmax cross-entropy)."""
    if loss == "softmax_cross_entropy":
        labels = as_array("y", y, ndim=1)
        if labels.shape != (n,):
            raise ValueError(
                f"y: expected integer class labels of shape ({n},), got shape {labels.shape}"
            )
        if np.any(labels != np.round(labels)) or np.any(labels < 0) or np.any(labels >= n_out):
            raise ValueError(f"y: expected integer class labels in [0, {n_out}), got {labels}")
        return np.eye(n_out)[labels.astype(int)]
    Y = as_array("y", y, ndim=(1, 2))
    if Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    if Y.shape != (n, n_out):
        raise ValueError(
            f"y: expected shape ({n}, {n_out}) like the output, got shape {np.shape(y)}"
        )
    return Y


#: Above this many (parameter, sample) pairs, ``method="diff"`` warns that it is slow: a
#: [4, 8, 1] network on 10 samples (490 pairs) takes about 10 s, ``"reverse"`` under 1 s.
_DIFF_WARN_SIZE = 200


def symbolic_mlp_gradients(
    model: Any, X: Any, y: Any, loss: str = "mse", *, method: str = "diff"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""The loss gradient of ``model`` on ``(X, y)``, derived symbolically.

    Builds :func:`mlp_loss_expression` for the model's sizes and activations, differentiates
    it with respect to every weight and bias, and evaluates the result (with
    :func:`lambdify_float`) at the model's parameters and the data.

    Args:
        model: a :class:`bpcourse.nn.MLP` (anything with ``layer_sizes``, ``activation``,
            ``output_activation``, ``weights`` and ``biases`` works).
        X: inputs, shape ``(N, n_in)``.
        y: targets, shape ``(N, n_out)`` (or ``(N,)`` with one output) for ``"mse"``, integer
            labels of shape ``(N,)`` for ``"softmax_cross_entropy"``.
        loss: ``"mse"`` or ``"softmax_cross_entropy"``.
        method: ``"diff"`` (``sympy.diff`` per parameter) or ``"reverse"``
            (:func:`reverse_mode_gradient`, far faster on larger networks; ``"diff"`` warns
            when it is given more than 200 parameter-sample pairs).

    Returns:
        ``(dweights, dbiases)``: float64 arrays shaped like ``model.weights`` and
        ``model.biases``.
    """
    sizes = _check_model(model)
    check_choice("loss", loss, NN_LOSSES)
    check_choice("method", method, ("diff", "reverse"))
    X_arr = as_array("X", X, ndim=2)
    if X_arr.shape[1] != sizes[0]:
        raise ValueError(f"X: expected shape (N, {sizes[0]}), got shape {X_arr.shape}")
    n = X_arr.shape[0]
    if n == 0:
        raise ValueError("X: expected at least one sample, got shape (0, ...)")
    Y_arr = _targets(y, loss, n, sizes[-1])
    check_choice("model.activation", model.activation, ACTIVATIONS)
    check_choice("model.output_activation", model.output_activation, ACTIVATIONS)
    mlp = mlp_loss_expression(sizes, model.activation, model.output_activation, loss, n)
    params = mlp.parameters()
    args = params + mlp.data_symbols()
    if method == "diff" and len(params) * n > _DIFF_WARN_SIZE:
        warnings.warn(
            f"symbolic gradients by sympy.diff of {len(params)} parameters over {n} samples "
            f"may take minutes; method='reverse' gives the same gradients far faster",
            stacklevel=2,
        )
    if method == "diff":
        fn = lambdify_float([sympy.diff(mlp.loss_expr, p) for p in params], args)
    else:
        fn = reverse_mode_gradient(mlp.loss_expr, params).lambdify(args)
    values: list[np.ndarray] = []
    for W, b in zip(model.weights, model.biases):
        values += [np.asarray(W, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()]
    flat = np.concatenate([*values, X_arr.ravel(), Y_arr.ravel()])
    grads = fn(*flat)
    dweights: list[np.ndarray] = []
    dbiases: list[np.ndarray] = []
    pos = 0
    for W, b in zip(mlp.weights, mlp.biases):
        dweights.append(grads[pos : pos + W.size].reshape(W.shape))
        pos += W.size
        dbiases.append(grads[pos : pos + b.size].reshape(b.shape))
        pos += b.size
    return dweights, dbiases


def compare_with_mlp(
    model: Any, X: Any, y: Any, loss: str = "mse", *, method: str = "diff"
) -> float:
    r"""Largest relative error between ``model.loss_and_gradients`` and the symbolic gradient.

    For each parameter array (every $W_l$ and $b_l$) the relative error is
    :func:`bpcourse.gradcheck.relative_error` over the whole array, scaled by the larger norm:
    $\lVert g_\text{num} - g_\text{sym}\rVert / \max(\lVert g_\text{num}\rVert,
    \lVert g_\text{sym}\rVert)$ (Frobenius norms; 0 when both are zero); the function
    returns the largest. Expect about ``1e-15`` for a correct backward pass.

    Args: as :func:`symbolic_mlp_gradients`.

    Returns:
        The largest relative error over the parameter arrays.
    """
    dW_sym, db_sym = symbolic_mlp_gradients(model, X, y, loss, method=method)
    _, dW_num, db_num = model.loss_and_gradients(X, y, loss=loss)
    worst = 0.0
    for a, b in zip([*dW_num, *db_num], [*dW_sym, *db_sym]):
        worst = max(
            worst, relative_error(np.asarray(a, dtype=np.float64), b, norm=True, scale="max")
        )
    return worst
