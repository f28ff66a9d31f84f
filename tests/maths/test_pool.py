"""Max pooling: values, the routing of the gradient to the arg-max, ties, checks by the complex
step and by central differences, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import gradcheck
from bpcourse.nn.pool import maxpool2d_argmax, maxpool2d_backward, maxpool2d_forward


def _no_ties(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape).astype(float) / 10.0


def test_forward_takes_each_block_maximum() -> None:
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(maxpool2d_forward(X), [[[[5.0, 7.0], [13.0, 15.0]]]])
    X3 = _no_ties((2, 3, 6, 6))
    Y = maxpool2d_forward(X3, size=3)
    loop = np.array(
        [
            [[[X3[n, c, 3 * i : 3 * i + 3, 3 * j : 3 * j + 3].max() for j in range(2)]
              for i in range(2)] for c in range(3)]
            for n in range(2)
        ]
    )  # fmt: skip
    np.testing.assert_array_equal(Y, loop)


def test_backward_routes_dY_to_the_argmax_only() -> None:
    X = np.array([[[[1.0, 9.0, 2.0, 0.0], [3.0, 4.0, 8.0, 5.0]]]])
    dX = maxpool2d_backward(np.array([[[[10.0, -1.0]]]]), X)
    np.testing.assert_array_equal(dX, [[[[0.0, 10.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0]]]])
    assert dX.shape == X.shape


@pytest.mark.parametrize("size", [1, 2, 3])
def test_backward_agrees_with_complex_step_and_central_differences(size: int) -> None:
    X = _no_ties((2, 2, 6, 6), seed=size)
    dY = np.random.default_rng(1).normal(size=(2, 2, 6 // size, 6 // size))
    dX = maxpool2d_backward(dY, X, size)

    def f(x):
        return np.sum(dY * maxpool2d_forward(x, size))

    assert gradcheck.relative_error(dX, gradcheck.complex_step_gradient(f, X)) < 1e-12
    # the entries differ by at least 0.1, so a step of 1e-5 never changes a winner
    assert gradcheck.relative_error(dX, gradcheck.numerical_gradient(f, X)) < 1e-6


def test_a_tie_sends_the_whole_gradient_to_the_first_maximum() -> None:
    X = np.array([[[[2.0, 2.0], [1.0, 2.0]]]])
    assert maxpool2d_argmax(X).item() == 0
    dX = maxpool2d_backward(np.ones((1, 1, 1, 1)), X)
    np.testing.assert_array_equal(dX, [[[[1.0, 0.0], [0.0, 0.0]]]])
    # a one-sided difference sees the kink: raising the second tied entry raises the output
    h = 1e-6
    up = X.copy()
    up[0, 0, 0, 1] += h
    assert (maxpool2d_forward(up) - maxpool2d_forward(X)).item() / h == pytest.approx(1.0)


def test_inputs_are_not_modified() -> None:
    X = _no_ties((1, 2, 4, 4))
    dY = np.ones((1, 2, 2, 2))
    X0, dY0 = X.copy(), dY.copy()
    maxpool2d_forward(X)
    maxpool2d_backward(dY, X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(dY, dY0)


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: maxpool2d_forward(np.zeros((1, 1, 5, 4))), ValueError, "multiples of size"),
        (lambda: maxpool2d_forward(np.zeros((4, 4))), ValueError, "X: expected a 4-D"),
        (lambda: maxpool2d_forward(np.zeros((1, 1, 4, 4)), size=0), ValueError, "size:"),
        (lambda: maxpool2d_forward(np.zeros((1, 1, 4, 4)), size=2.0), TypeError, "size:"),
        (lambda: maxpool2d_forward("x"), TypeError, "X: expected a numeric"),
        (
            lambda: maxpool2d_backward(np.zeros((1, 1, 2, 3)), np.zeros((1, 1, 4, 4))),
            ValueError,
            "dY: expected shape (1, 1, 2, 2)",
        ),
    ],
)
def test_errors_name_the_argument(call, error, fragment) -> None:
    with pytest.raises(error, match=None) as info:
        call()
    assert fragment in str(info.value)
