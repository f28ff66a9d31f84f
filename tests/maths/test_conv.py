"""Convolution layers: forward against loops, backward against finite differences, the complex
step, loops and PyTorch, and the two facts lesson 06 teaches (flipped kernel, shared weights)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcourse.gradcheck import complex_step_gradient, numerical_gradient, relative_error
from bpcourse.nn import conv1d_backward, conv1d_forward, conv2d_backward, conv2d_forward

# --- naive references: the defining sums, one loop per index --------------------------------------


def naive_conv1d(X: np.ndarray, K: np.ndarray, b: np.ndarray) -> np.ndarray:
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    Y = np.zeros((N, C_out, L - k + 1))
    for n, o, t in itertools.product(range(N), range(C_out), range(L - k + 1)):
        Y[n, o, t] = b[o] + sum(X[n, c, t + j] * K[o, c, j] for c in range(C_in) for j in range(k))
    return Y


def naive_conv1d_backward(dY, X, K):
    dX, dK = np.zeros(X.shape), np.zeros(K.shape)
    N, C_out, L_out = dY.shape
    _, C_in, k = K.shape
    for n, o, t in itertools.product(range(N), range(C_out), range(L_out)):
        for c, j in itertools.product(range(C_in), range(k)):
            dX[n, c, t + j] += dY[n, o, t] * K[o, c, j]
            dK[o, c, j] += dY[n, o, t] * X[n, c, t + j]
    return dX, dK, dY.sum(axis=(0, 2))


def naive_conv2d(X, K, b):
    N, _, H, W = X.shape
    C_out, _, kh, kw = K.shape
    Y = np.zeros((N, C_out, H - kh + 1, W - kw + 1))
    for n, o, r, s in itertools.product(
        range(N), range(C_out), range(H - kh + 1), range(W - kw + 1)
    ):
        Y[n, o, r, s] = b[o] + np.sum(X[n, :, r : r + kh, s : s + kw] * K[o])
    return Y


def naive_conv2d_backward(dY, X, K):
    dX, dK = np.zeros(X.shape), np.zeros(K.shape)
    N, C_out, Ho, Wo = dY.shape
    kh, kw = K.shape[2:]
    for n, o, r, s in itertools.product(range(N), range(C_out), range(Ho), range(Wo)):
        dX[n, :, r : r + kh, s : s + kw] += dY[n, o, r, s] * K[o]
        dK[o] += dY[n, o, r, s] * X[n, :, r : r + kh, s : s + kw]
    return dX, dK, dY.sum(axis=(0, 2, 3))


def full_convolution_2d(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """True 2-D convolution with zero padding ('full'): out[p] = sum_q A[q] B[p - q]."""
    out = np.zeros((A.shape[0] + B.shape[0] - 1, A.shape[1] + B.shape[1] - 1))
    for i, j in np.ndindex(A.shape):
        out[i : i + B.shape[0], j : j + B.shape[1]] += A[i, j] * B
    return out


SHAPES_1D = [  # (N, C_in, L, C_out, k)
    (1, 1, 5, 1, 1),
    (2, 3, 7, 4, 3),
    (3, 2, 4, 2, 4),  # kernel as long as the input: one output position
    (2, 1, 9, 3, 5),
]
SHAPES_2D = [  # (N, C_in, H, W, C_out, kh, kw)
    (1, 1, 4, 4, 1, 1, 1),
    (2, 3, 6, 5, 4, 3, 2),
    (2, 2, 3, 3, 3, 3, 3),
    (1, 2, 5, 7, 2, 2, 4),
]


def _case_1d(shape, seed=0):
    N, C_in, L, C_out, k = shape
    rng = np.random.default_rng(seed)
    X, K, b = (
        rng.normal(size=(N, C_in, L)),
        rng.normal(size=(C_out, C_in, k)),
        rng.normal(size=C_out),
    )
    dY = rng.normal(size=(N, C_out, L - k + 1))
    return X, K, b, dY


def _case_2d(shape, seed=0):
    N, C_in, H, W, C_out, kh, kw = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, C_in, H, W))
    K = rng.normal(size=(C_out, C_in, kh, kw))
    b = rng.normal(size=C_out)
    dY = rng.normal(size=(N, C_out, H - kh + 1, W - kw + 1))
    return X, K, b, dY


# --- forward and backward against the loops -------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES_1D, ids=str)
def test_conv1d_matches_the_loops(shape) -> None:
    X, K, b, dY = _case_1d(shape)
    np.testing.assert_allclose(
        conv1d_forward(X, K, b), naive_conv1d(X, K, b), rtol=1e-12, atol=1e-12
    )
    for got, want in zip(conv1d_backward(dY, X, K), naive_conv1d_backward(dY, X, K)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES_2D, ids=str)
def test_conv2d_matches_the_loops(shape) -> None:
    X, K, b, dY = _case_2d(shape)
    np.testing.assert_allclose(
        conv2d_forward(X, K, b), naive_conv2d(X, K, b), rtol=1e-12, atol=1e-12
    )
    for got, want in zip(conv2d_backward(dY, X, K), naive_conv2d_backward(dY, X, K)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@given(
    N=st.integers(1, 3),
    C_in=st.integers(1, 3),
    C_out=st.integers(1, 3),
    L=st.integers(1, 8),
    k=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_conv1d_backward_matches_the_loops_for_any_shape(N, C_in, C_out, L, k, seed) -> None:
    k = min(k, L)
    X, K, _, dY = _case_1d((N, C_in, L, C_out, k), seed)
    for got, want in zip(conv1d_backward(dY, X, K), naive_conv1d_backward(dY, X, K)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


# --- gradient checks: central differences and the complex step ------------------------------------

CONV = {
    "1d": (conv1d_forward, conv1d_backward, _case_1d, SHAPES_1D[1]),
    "2d": (conv2d_forward, conv2d_backward, _case_2d, SHAPES_2D[1]),
}


@pytest.mark.parametrize("dim", sorted(CONV))
@pytest.mark.parametrize("wrt", ["X", "K", "b"])
def test_backward_agrees_with_numerical_gradients(dim: str, wrt: str) -> None:
    """L = sum(G * Y) has dL/dY = G, so backward(G) must be its gradient."""
    forward, backward, make, shape = CONV[dim]
    X, K, b, G = make(shape, seed=3)
    args = {"X": X, "K": K, "b": b}
    analytic = dict(zip("XKb", backward(G, X, K)))[wrt]

    def loss(value):
        return np.sum(G * forward(**{**args, wrt: value}))

    central = numerical_gradient(loss, args[wrt].copy())
    complex_step = complex_step_gradient(loss, args[wrt].copy())
    assert relative_error(analytic, central) < 1e-6
    assert relative_error(analytic, complex_step) < 1e-12


def test_complex_inputs_flow_through_forward_and_backward() -> None:
    X, K, b, dY = _case_1d(SHAPES_1D[1])
    Y = conv1d_forward(X + 1e-20j, K, b)
    assert np.iscomplexobj(Y)
    dX, dK, _ = conv1d_backward(dY.astype(complex), X.astype(complex), K)
    assert np.iscomplexobj(dX) and np.iscomplexobj(dK)


# --- the lesson's two points ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES_1D, ids=str)
def test_dX_is_a_full_convolution_of_dY_with_the_kernel(shape) -> None:
    """dX[n, c] = sum_o convolve(dY[n, o], K[o, c], 'full'): numpy's convolve flips the kernel,
    so this is the correlation of the zero-padded dY with the flipped kernel."""
    X, K, _, dY = _case_1d(shape, seed=5)
    dX = conv1d_backward(dY, X, K)[0]
    N, C_in, _ = X.shape
    expected = np.array(
        [
            [
                sum(np.convolve(dY[n, o], K[o, c], mode="full") for o in range(K.shape[0]))
                for c in range(C_in)
            ]
            for n in range(N)
        ]
    )
    np.testing.assert_allclose(dX, expected, rtol=1e-12, atol=1e-12)
    # the same with the flipped kernel and a correlation (np.correlate does not flip)
    flipped = np.array(
        [
            [
                sum(np.correlate(dY[n, o], K[o, c, ::-1], mode="full") for o in range(K.shape[0]))
                for c in range(C_in)
            ]
            for n in range(N)
        ]
    )
    np.testing.assert_allclose(dX, flipped, rtol=1e-12, atol=1e-12)
    # and as a valid correlation of the padded dY with the flipped, channel-swapped kernel
    k = K.shape[2]
    padded = np.pad(dY, [(0, 0), (0, 0), (k - 1, k - 1)])
    as_layer = conv1d_forward(padded, K[:, :, ::-1].transpose(1, 0, 2), np.zeros(C_in))
    np.testing.assert_allclose(dX, as_layer, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES_2D, ids=str)
def test_dX_is_a_full_convolution_in_2d(shape) -> None:
    X, K, _, dY = _case_2d(shape, seed=6)
    dX = conv2d_backward(dY, X, K)[0]
    for n, c in np.ndindex(X.shape[:2]):
        expected = sum(full_convolution_2d(dY[n, o], K[o, c]) for o in range(K.shape[0]))
        np.testing.assert_allclose(dX[n, c], expected, rtol=1e-12, atol=1e-12)


def test_unflipped_kernel_gives_a_different_dX() -> None:
    """With an asymmetric kernel, not flipping it gives a different dX (the test can tell)."""
    X, K, _, dY = _case_1d(SHAPES_1D[1], seed=7)
    k = K.shape[2]
    padded = np.pad(dY, [(0, 0), (0, 0), (k - 1, k - 1)])
    unflipped = conv1d_forward(padded, K.transpose(1, 0, 2), np.zeros(X.shape[1]))
    assert relative_error(conv1d_backward(dY, X, K)[0], unflipped) > 1e-2


def _dense_equivalent(K: np.ndarray, L: int) -> tuple[np.ndarray, dict]:
    """The (C_in*L, C_out*L_out) matrix of a 1-D convolution and where each K entry sits in it."""
    C_out, C_in, k = K.shape
    L_out = L - k + 1
    W = np.zeros((C_in * L, C_out * L_out))
    where: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
    for o, c, j, t in itertools.product(range(C_out), range(C_in), range(k), range(L_out)):
        W[c * L + t + j, o * L_out + t] = K[o, c, j]
        where.setdefault((o, c, j), []).append((c * L + t + j, o * L_out + t))
    return W, where


def test_weight_sharing_sums_the_gradients_of_the_tied_dense_weights() -> None:
    """A convolution is a dense layer whose weights are tied: each kernel entry appears at every
    position. Its gradient is the sum of the dense layer's gradients over those copies."""
    X, K, b, dY = _case_1d(SHAPES_1D[1], seed=8)
    N, _, L = X.shape
    W, where = _dense_equivalent(K, L)
    Y_dense = X.reshape(N, -1) @ W
    np.testing.assert_allclose(
        Y_dense.reshape(dY.shape) + b[:, None], conv1d_forward(X, K, b), rtol=1e-12
    )
    dW_dense = X.reshape(N, -1).T @ dY.reshape(N, -1)  # the dense layer's X^T dZ
    dK = conv1d_backward(dY, X, K)[1]
    for (o, c, j), places in where.items():
        assert len(places) == L - K.shape[2] + 1  # one copy per output position
        np.testing.assert_allclose(dK[o, c, j], sum(dW_dense[p] for p in places), rtol=1e-12)


def test_kernel_gradient_sums_over_examples_and_positions() -> None:
    X, K, _, dY = _case_2d(SHAPES_2D[1], seed=9)
    dK, db = conv2d_backward(dY, X, K)[1:]
    per_example = [conv2d_backward(dY[n : n + 1], X[n : n + 1], K) for n in range(X.shape[0])]
    np.testing.assert_allclose(dK, sum(p[1] for p in per_example), rtol=1e-12)
    np.testing.assert_allclose(db, sum(p[2] for p in per_example), rtol=1e-12)
    # one output position only: dK is exactly the input window under the kernel
    one = np.zeros_like(dY)
    one[0, 1, 2, 1] = 1.0
    dK_one = conv2d_backward(one, X, K)[1]
    kh, kw = K.shape[2:]
    np.testing.assert_array_equal(dK_one[1], X[0, :, 2 : 2 + kh, 1 : 1 + kw])
    np.testing.assert_array_equal(np.delete(dK_one, 1, axis=0), 0.0)


# --- a reference framework (optional) -------------------------------------------------------------


@pytest.mark.parametrize("dim", ["1d", "2d"])
def test_against_pytorch(dim: str) -> None:
    torch = pytest.importorskip("torch")
    forward, backward, make, shape = CONV[dim]
    X, K, b, dY = make(shape, seed=11)
    tX, tK, tb = (torch.tensor(a, requires_grad=True) for a in (X, K, b))
    conv = torch.nn.functional.conv1d if dim == "1d" else torch.nn.functional.conv2d
    tY = conv(tX, tK, tb)
    tY.backward(torch.tensor(dY))
    np.testing.assert_allclose(forward(X, K, b), tY.detach().numpy(), rtol=1e-10, atol=1e-12)
    for got, ref in zip(backward(dY, X, K), (tX.grad, tK.grad, tb.grad)):
        np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10, atol=1e-12)


# --- errors ---------------------------------------------------------------------------------------

X1, K1, b1 = np.zeros((2, 3, 6)), np.zeros((4, 3, 2)), np.zeros(4)
DY1 = np.zeros((2, 4, 5))
X2, K2, b2 = np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 2, 2)), np.zeros(4)
NAN = np.full((2, 3, 6), np.nan)

ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("X 2-D", lambda: conv1d_forward(np.zeros((2, 6)), K1, b1), ValueError, "X"),
    ("X a string", lambda: conv1d_forward("x", K1, b1), TypeError, "X"),
    ("X with NaN", lambda: conv1d_forward(NAN, K1, b1), ValueError, "X"),
    ("X without examples", lambda: conv1d_forward(np.zeros((0, 3, 6)), K1, b1), ValueError, "X"),
    ("K channels", lambda: conv1d_forward(X1, np.zeros((4, 2, 2)), b1), ValueError, "C_in"),
    ("K too long", lambda: conv1d_forward(X1, np.zeros((4, 3, 7)), b1), ValueError, "K"),
    ("K empty", lambda: conv1d_forward(X1, np.zeros((4, 3, 0)), b1), ValueError, "K"),
    ("K 2-D", lambda: conv1d_forward(X1, np.zeros((4, 3)), b1), ValueError, "K"),
    ("b shape", lambda: conv1d_forward(X1, K1, np.zeros(3)), ValueError, "b"),
    ("b column", lambda: conv1d_forward(X1, K1, np.zeros((4, 1))), ValueError, "b"),
    ("dY shape", lambda: conv1d_backward(np.zeros((2, 4, 6)), X1, K1), ValueError, "dY"),
    ("dY channels", lambda: conv1d_backward(np.zeros((2, 3, 5)), X1, K1), ValueError, "dY"),
    ("dY NaN", lambda: conv1d_backward(np.full(DY1.shape, np.nan), X1, K1), ValueError, "dY"),
    ("2-D X 3-D", lambda: conv2d_forward(X1, K2, b2), ValueError, "X"),
    ("2-D kernel too big", lambda: conv2d_forward(X2, np.zeros((4, 3, 6, 2)), b2), ValueError, "K"),
    ("2-D channels", lambda: conv2d_forward(X2, np.zeros((4, 1, 2, 2)), b2), ValueError, "C_in"),
    ("2-D dY", lambda: conv2d_backward(np.zeros((2, 4, 4, 3)), X2, K2), ValueError, "dY"),
]


@pytest.mark.parametrize(("case", "call", "error", "fragment"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_name_the_argument(case, call, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        call()
