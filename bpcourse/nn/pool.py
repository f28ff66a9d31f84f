r"""Max pooling over non-overlapping windows, forward and backward (lesson 07).

A max-pool layer with window ``size`` $s$ splits every channel of an (N, C, H, W) input into
$s \times s$ blocks and keeps the largest entry of each block:

$$Y_{n,c,i,j} = \max_{0 \le a, b < s} X_{n,c,\,si+a,\,sj+b}.$$

**Backward.** Inside one block, $Y$ equals the arg-max entry and does not depend on the others
(a small change of a non-maximal entry leaves the maximum where it is). So

$$\frac{\partial L}{\partial X_{n,c,si+a,sj+b}} =
\begin{cases} dY_{n,c,i,j} & \text{if } (a, b) \text{ is the arg-max of its block,}\\
0 & \text{otherwise:}\end{cases}$$

the upstream gradient is *routed* to the winner, the rest gets nothing.

**Ties.** Where two entries of a block are equal and maximal, the maximum is not
differentiable (it has a kink: moving either entry up changes Y, moving it down does not).
Any split of $dY$ between the tied entries with weights summing to 1 is a valid
subgradient; this module, like PyTorch, gives the whole of $dY$ to the **first** maximal
entry in row-major order. A finite-difference check across a tie therefore disagrees, which
is why the checks use inputs without ties.

Complex input (for complex-step checks) is compared by its real part, so the pool stays
analytic away from ties.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcourse._validate import as_array, check_positive_int, check_shape

__all__ = ["maxpool2d_argmax", "maxpool2d_backward", "maxpool2d_forward"]

Array = np.ndarray


def _check_pool_input(X: Any, size: Any) -> tuple[Array, int]:
    size = check_positive_int("size", size)
    X = as_array("X", X, ndim=4, allow_complex=True)
    H, W = X.shape[2:]
    if H % size or W % size or H == 0 or W == 0:
        raise ValueError(
            f"X: expected shape (N, C, H, W) with H and W multiples of size = {size}, "
            f"got shape {X.shape}"
        )
    return X, size


def _blocks(X: Array, s: int) -> Array:
    """(N, C, H, W) -> (N, C, H/s, W/s, s*s): every block's entries in row-major order."""
    N, C, H, W = X.shape
    return (
        X.reshape(N, C, H // s, s, W // s, s)
        .transpose(0, 1, 2, 4, 3, 5)
        .reshape(N, C, H // s, W // s, s * s)
    )


def _unblocks(B: Array, s: int) -> Array:
    """Inverse of :func:`_blocks`."""
    N, C, h, w, _ = B.shape
    return B.reshape(N, C, h, w, s, s).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, h * s, w * s)


def maxpool2d_argmax(X: Any, size: int = 2) -> Array:
    """The position (0..size²-1, row-major) of the first maximum of every block of ``X``.

    Returns:
        int array of shape (N, C, H/size, W/size).
    """
    X, s = _check_pool_input(X, size)
    return np.asarray(_blocks(X, s).real.argmax(axis=-1))


def maxpool2d_forward(X: Any, size: int = 2) -> Array:
    """Max pooling with a ``size`` × ``size`` window and stride ``size`` (no overlap).

    Args:
        X: (N, C, H, W) input; H and W must be multiples of ``size``.
        size: the window's side.

    Returns:
        Y: (N, C, H/size, W/size), the maximum of every block.
    """
    X, s = _check_pool_input(X, size)
    B = _blocks(X, s)
    idx = B.real.argmax(axis=-1)[..., None]
    return np.take_along_axis(B, idx, axis=-1)[..., 0]


def maxpool2d_backward(dY: Any, X: Any, size: int = 2) -> Array:
    """Backward pass of :func:`maxpool2d_forward`: route ``dY`` to each block's arg-max.

    Every entry of dY goes to the entry of X that won its block (the first one on a tie);
    every other entry of dX is 0.

    Args:
        dY: (N, C, H/size, W/size) gradient of the loss with respect to the output.
        X: (N, C, H, W) the layer's input from the forward pass.
        size: the window's side, as in the forward pass.

    Returns:
        dX: (N, C, H, W).
    """
    X, s = _check_pool_input(X, size)
    N, C, H, W = X.shape
    dY = as_array("dY", dY, ndim=4, allow_complex=True)
    check_shape("dY", dY, (N, C, H // s, W // s), "(N, C, H/size, W/size): the forward output")
    idx = _blocks(X, s).real.argmax(axis=-1)[..., None]
    dB = np.zeros((N, C, H // s, W // s, s * s), dtype=np.result_type(dY, np.float64))
    np.put_along_axis(dB, idx, dY[..., None], axis=-1)
    return _unblocks(dB, s)
