r"""Valid, stride-1 convolution layers in one and two dimensions, forward and backward.

Shapes: input (N, C_in, L) or (N, C_in, H, W), kernel (C_out, C_in, k) or (C_out, C_in, kh, kw),
bias (C_out,). The layers compute a cross-correlation (as deep-learning libraries do); the input
gradient is a full correlation with the flipped kernel, the kernel gradient a correlation of the
input with the output gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_shape,
)
from bpcourse.nn._checks import Array

#
# A convolution layer slides a small kernel over its input and, at every position, takes the
# same weighted sum. As in every deep-learning library, "convolution" here is computed as a
# cross-correlation (the kernel is not flipped in the forward pass); stride 1, no padding
# ("valid"). The backward pass of the input is a *full* correlation of the upstream gradient with
# the flipped kernel, i.e. a true convolution: that is the point of lesson 06.

_CONV_AXES = {1: "(N, C_in, L)", 2: "(N, C_in, H, W)"}
_KERNEL_AXES = {1: "(C_out, C_in, k)", 2: "(C_out, C_in, kh, kw)"}


def _check_conv_input_kernel(X: Any, K: Any, d: int) -> tuple[Array, Array]:
    """Validate X and K of a d-dimensional convolution (d = 1 or 2)."""
    X = as_array("X", X, ndim=2 + d, allow_complex=True)
    K = as_array("K", K, ndim=2 + d, allow_complex=True)
    if X.shape[0] == 0:
        raise ValueError(f"X: expected at least one example, got shape {X.shape}")
    if K.shape[0] == 0 or K.shape[1] == 0 or min(K.shape[2:]) == 0:
        raise ValueError(f"K: expected a non-empty kernel {_KERNEL_AXES[d]}, got shape {K.shape}")
    if K.shape[1] != X.shape[1]:
        raise ValueError(
            f"K: expected shape {_KERNEL_AXES[d]} with C_in = X.shape[1] = {X.shape[1]}, got "
            f"shape {K.shape} (C_in = {K.shape[1]})"
        )
    if any(k > n for k, n in zip(K.shape[2:], X.shape[2:])):
        raise ValueError(
            f"K: kernel size {K.shape[2:]} is larger than the input size {X.shape[2:]}; a "
            f"'valid' convolution needs the kernel to fit inside X {_CONV_AXES[d]}"
        )
    return X, K


def _check_conv_bias(b: Any, c_out: int) -> Array:
    b = as_array("b", b, ndim=1, allow_complex=True)
    check_shape("b", b, (c_out,), "(C_out,) with C_out = K.shape[0]")
    return b


def _correlate(X: Array, K: Array) -> Array:
    r"""Valid cross-correlation of ``X`` (N, C_in, *S) with ``K`` (C_out, C_in, *k).

    $Y_{n,o,p} = \sum_{c} \sum_{j} X_{n,c,p+j} K_{o,c,j}$ over all kernel offsets $j$: the
    windows of X are gathered without copying (``sliding_window_view``, "im2col") and
    contracted with the kernel in one ``tensordot``.
    """
    d = K.ndim - 2
    windows = np.lib.stride_tricks.sliding_window_view(X, K.shape[2:], axis=tuple(range(2, 2 + d)))
    # windows: (N, C_in, *out, *k); contract C_in and the kernel offsets
    out = np.tensordot(windows, K, axes=((1, *range(2 + d, 2 + 2 * d)), (1, *range(2, 2 + d))))
    return np.moveaxis(out, -1, 1)  # (N, *out, C_out) -> (N, C_out, *out)


def _kernel_gradient(dY: Array, X: Array, kernel_size: tuple[int, ...]) -> Array:
    r"""$dK_{o,c,j} = \sum_n \sum_p dY_{n,o,p} X_{n,c,p+j}$: a correlation of X with dY."""
    d = len(kernel_size)
    windows = np.lib.stride_tricks.sliding_window_view(X, kernel_size, axis=tuple(range(2, 2 + d)))
    # contract the batch and every output position: the kernel is shared by all of them
    return np.tensordot(dY, windows, axes=((0, *range(2, 2 + d)), (0, *range(2, 2 + d))))


def _input_gradient(dY: Array, K: Array) -> Array:
    r"""$dX$ as a *full* correlation of dY with the flipped, channel-swapped kernel.

    $dX_{n,c,s} = \sum_o \sum_j dY_{n,o,s-j} K_{o,c,j}$ (terms with $s - j$ outside dY are 0).
    Padding dY with $k - 1$ zeros on each side and correlating with $K$ flipped along its
    spatial axes and with C_in and C_out swapped computes exactly that sum.
    """
    d = K.ndim - 2
    pad = [(0, 0), (0, 0)] + [(k - 1, k - 1) for k in K.shape[2:]]
    flipped = np.flip(K, axis=tuple(range(2, 2 + d))).swapaxes(0, 1)  # (C_in, C_out, *k)
    return _correlate(np.pad(dY, pad), flipped)


def _conv_forward(X: Any, K: Any, b: Any, d: int) -> Array:
    X, K = _check_conv_input_kernel(X, K, d)
    b = _check_conv_bias(b, K.shape[0])
    return _correlate(X, K) + b.reshape((-1,) + (1,) * d)


def _conv_backward(dY: Any, X: Any, K: Any, d: int) -> tuple[Array, Array, Array]:
    X, K = _check_conv_input_kernel(X, K, d)
    out_size = tuple(n - k + 1 for n, k in zip(X.shape[2:], K.shape[2:]))
    out_shape = (X.shape[0], K.shape[0], *out_size)
    dY = as_array("dY", dY, ndim=2 + d, allow_complex=True)
    check_shape(
        "dY", dY, out_shape, "(N, C_out, *out): the shape of the forward output, out = in - k + 1"
    )
    dX = _input_gradient(dY, K)
    dK = _kernel_gradient(dY, X, K.shape[2:])
    db = dY.sum(axis=(0, *range(2, 2 + d)))
    return dX, dK, db


def conv1d_forward(X: Any, K: Any, b: Any) -> Array:
    r"""1-D convolution layer (cross-correlation, stride 1, "valid"), as ``torch.nn.Conv1d``.

    $$Y_{n,o,t} = b_o + \sum_{c=1}^{C_\text{in}} \sum_{j=0}^{k-1} X_{n,c,t+j}\,K_{o,c,j},
    \qquad t = 0, \dots, L - k.$$

    Args:
        X: (N, C_in, L) inputs: N sequences of C_in channels and length L.
        K: (C_out, C_in, k) kernels, one (C_in, k) filter per output channel, k <= L.
        b: (C_out,) biases.

    Returns:
        Y: (N, C_out, L - k + 1).
    """
    return _conv_forward(X, K, b, 1)


def conv1d_backward(dY: Any, X: Any, K: Any) -> tuple[Array, Array, Array]:
    r"""Backward pass of :func:`conv1d_forward`, given $dY = \partial L / \partial Y$.

    - $dK_{o,c,j} = \sum_n \sum_t dY_{n,o,t} X_{n,c,t+j}$: the kernel is shared by every
      position and every example, so its gradient **sums** their contributions;
    - $db_o = \sum_n \sum_t dY_{n,o,t}$;
    - $dX_{n,c,s} = \sum_o \sum_j dY_{n,o,s-j} K_{o,c,j}$: a *full* convolution of dY with
      the kernel, i.e. a correlation of the zero-padded dY with the **flipped** kernel.

    Args:
        dY: (N, C_out, L - k + 1) gradient of the loss with respect to the output.
        X: (N, C_in, L) the layer's input.
        K: (C_out, C_in, k) the layer's kernels.

    Returns:
        dX: (N, C_in, L), dK: (C_out, C_in, k), db: (C_out,).
    """
    return _conv_backward(dY, X, K, 1)


def conv2d_forward(X: Any, K: Any, b: Any) -> Array:
    r"""2-D convolution layer (cross-correlation, stride 1, "valid"), as ``torch.nn.Conv2d``.

    $$Y_{n,o,r,s} = b_o + \sum_{c} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1}
    X_{n,c,r+i,s+j}\,K_{o,c,i,j}.$$

    Args:
        X: (N, C_in, H, W) images.
        K: (C_out, C_in, kh, kw) kernels with kh <= H and kw <= W.
        b: (C_out,) biases.

    Returns:
        Y: (N, C_out, H - kh + 1, W - kw + 1).
    """
    return _conv_forward(X, K, b, 2)


def conv2d_backward(dY: Any, X: Any, K: Any) -> tuple[Array, Array, Array]:
    r"""Backward pass of :func:`conv2d_forward`, given $dY = \partial L / \partial Y$.

    As in 1-D: $dK$ correlates the input with dY (summing over examples and positions),
    $db$ sums dY over everything but the channel, and $dX$ is the full convolution of dY with
    the kernel, flipped in both spatial directions, with input and output channels swapped.

    Args:
        dY: (N, C_out, H - kh + 1, W - kw + 1) gradient with respect to the output.
        X: (N, C_in, H, W) the layer's input.
        K: (C_out, C_in, kh, kw) the layer's kernels.

    Returns:
        dX: (N, C_in, H, W), dK: (C_out, C_in, kh, kw), db: (C_out,).
    """
    return _conv_backward(dY, X, K, 2)
