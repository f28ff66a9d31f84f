r"""Embedding lookup, forward and backward (lesson 07).

An embedding layer keeps one learned row vector per token: a table $E$ of shape (V, d) for a
vocabulary of V tokens. The forward pass is a lookup, $Y_{\dots} = E[\text{ids}_{\dots}]$.

**Backward.** The lookup is the product of a one-hot row with $E$, $y = \text{onehot}(i)\,E$,
so by the dense layer's rule $dE = \text{onehot}(i)^\top dy$: the gradient of row $i$ is the
upstream gradient of every position that looked row $i$ up, **added up** (a token that appears
five times in a batch gets five contributions, as every reused weight does), and the rows of
tokens that do not appear get 0. In numpy that sum needs ``np.add.at``: the fancy-index
assignment ``dE[ids] += dY`` keeps only one of the repeated contributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpcourse._validate import as_array, check_positive_int, check_shape, describe

__all__ = ["embedding_backward", "embedding_forward"]

Array = np.ndarray


def _check_ids(ids: Any, vocab_size: int) -> Array:
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ids: expected an integer array of token ids, got {describe(ids)}")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(
            f"ids: expected ids in 0..{vocab_size - 1}, got values from {arr.min()} to {arr.max()}"
        )
    return arr


def embedding_forward(ids: Any, E: Any) -> Array:
    """Look up the rows of ``E``: ``E[ids]``.

    Args:
        ids: integer token ids of any shape S, each in 0..V-1.
        E: (V, d) the embedding table.

    Returns:
        (*S, d): the embedding of every id.
    """
    E = as_array("E", E, ndim=2, allow_complex=True)
    if E.shape[0] == 0:
        raise ValueError(f"E: expected at least one row (one per token id), got shape {E.shape}")
    return E[_check_ids(ids, E.shape[0])]


def embedding_backward(dY: Any, ids: Any, vocab_size: int) -> Array:
    """Backward pass of :func:`embedding_forward`: ``dE[v] = sum of dY where ids == v``.

    Args:
        dY: (*S, d) gradient of the loss with respect to the looked-up vectors.
        ids: the ids of the forward pass, shape S.
        vocab_size: V, the number of rows of E.

    Returns:
        dE: (V, d); rows of ids that do not occur are 0, repeated ids add up.
    """
    V = check_positive_int("vocab_size", vocab_size)
    arr = _check_ids(ids, V)
    dY = as_array("dY", dY, allow_complex=True)
    if dY.ndim != arr.ndim + 1:
        raise ValueError(
            f"dY: expected shape {(*arr.shape, 'd')} (ids' shape + (d,)), got {dY.shape}"
        )
    check_shape("dY", dY, (*arr.shape, None), "(*ids.shape, d)")
    dE = np.zeros((V, dY.shape[-1]), dtype=dY.dtype)
    np.add.at(dE, arr.reshape(-1), dY.reshape(-1, dY.shape[-1]))
    return dE
