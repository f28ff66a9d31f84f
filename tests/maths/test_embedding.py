"""Embedding lookup: forward, backward sums repeated ids, checks by the complex step."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import gradcheck
from bpcourse.nn.embedding import embedding_backward, embedding_forward


def test_forward_is_a_row_lookup() -> None:
    E = np.arange(12.0).reshape(4, 3)
    ids = np.array([[3, 0], [3, 1]])
    Y = embedding_forward(ids, E)
    assert Y.shape == (2, 2, 3)
    np.testing.assert_array_equal(Y[0, 0], E[3])
    np.testing.assert_array_equal(Y[1, 1], E[1])


def test_backward_adds_up_repeated_ids_and_leaves_unused_rows_zero() -> None:
    ids = np.array([[2, 2, 0]])
    dY = np.array([[[1.0, 0.0], [2.0, 1.0], [5.0, 5.0]]])
    dE = embedding_backward(dY, ids, 4)
    np.testing.assert_array_equal(dE, [[5.0, 5.0], [0.0, 0.0], [3.0, 1.0], [0.0, 0.0]])
    # the fancy-index shortcut keeps only one of the repeated contributions
    wrong = np.zeros((4, 2))
    wrong[ids.reshape(-1)] += dY.reshape(-1, 2)
    assert not np.array_equal(wrong, dE)


def test_backward_agrees_with_the_complex_step() -> None:
    rng = np.random.default_rng(0)
    E = rng.normal(size=(6, 3))
    ids = rng.integers(0, 6, size=(4, 5))
    dY = rng.normal(size=(4, 5, 3))
    numeric = gradcheck.complex_step_gradient(lambda e: np.sum(dY * embedding_forward(ids, e)), E)
    assert gradcheck.relative_error(embedding_backward(dY, ids, 6), numeric) < 1e-13


def test_inputs_are_not_modified() -> None:
    E, ids, dY = np.ones((3, 2)), np.array([0, 0, 2]), np.ones((3, 2))
    copies = [a.copy() for a in (E, ids, dY)]
    embedding_forward(ids, E)
    embedding_backward(dY, ids, 3)
    for a, b in zip((E, ids, dY), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: embedding_forward(np.array([0.5]), np.ones((3, 2))), TypeError, "ids:"),
        (lambda: embedding_forward(np.array([3]), np.ones((3, 2))), ValueError, "ids: expected"),
        (lambda: embedding_forward(np.array([0]), np.ones(3)), ValueError, "E: expected a 2-D"),
        (lambda: embedding_backward(np.ones((2, 2)), np.array([0]), 3), ValueError, "dY:"),
        (lambda: embedding_backward(np.ones((1, 2)), np.array([0]), 0), ValueError, "vocab_size"),
    ],
)
def test_errors_name_the_argument(call, error, fragment) -> None:
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
