"""The digit CNN: the im2col convolution against nn's, every gradient of the model and the
saliency by the complex step, the parameter protocol, training on the real digits."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import data, gradcheck, nn
from bpcourse.data import load_digits
from bpcourse.dynamics import digits as cnn


@pytest.mark.parametrize(
    ("N", "C_in", "C_out", "H", "W", "k"), [(3, 1, 4, 8, 8, 3), (2, 3, 2, 7, 6, 2)]
)
def test_im2col_convolution_matches_the_course_layer(N, C_in, C_out, H, W, k) -> None:
    rng = np.random.default_rng(N + k)
    X, K, b = (
        rng.normal(size=(N, C_in, H, W)),
        rng.normal(size=(C_out, C_in, k, k)),
        rng.normal(size=C_out),
    )
    np.testing.assert_allclose(
        cnn.conv2d_im2col_forward(X, K, b), nn.conv2d_forward(X, K, b), atol=1e-12
    )
    dY = rng.normal(size=(N, C_out, H - k + 1, W - k + 1))
    for mine, ref in zip(cnn.conv2d_im2col_backward(dY, X, K), nn.conv2d_backward(dY, X, K)):
        np.testing.assert_allclose(mine, ref, atol=1e-12)


def test_im2col_backward_agrees_with_the_complex_step() -> None:
    rng = np.random.default_rng(3)
    X, K, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    dY = rng.normal(size=(2, 3, 3, 3))
    dX, dK, db = cnn.conv2d_im2col_backward(dY, X, K)
    cs = gradcheck.complex_step_gradient
    assert (
        gradcheck.relative_error(
            dX, cs(lambda x: np.sum(dY * cnn.conv2d_im2col_forward(x, K, b)), X)
        )
        < 1e-12
    )
    assert (
        gradcheck.relative_error(
            dK, cs(lambda k: np.sum(dY * cnn.conv2d_im2col_forward(X, k, b)), K)
        )
        < 1e-12
    )
    assert (
        gradcheck.relative_error(
            db, cs(lambda c: np.sum(dY * cnn.conv2d_im2col_forward(X, K, c)), b)
        )
        < 1e-12
    )


# A module fixture is shared (and, for an explorer, changed step by step) by the tests
# below: one worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("cnn")


@pytest.fixture(scope="module")
def small() -> tuple[cnn.DigitCNN, np.ndarray, np.ndarray]:
    X, y = load_digits()
    return cnn.DigitCNN.init(4, seed=1), X[:6], y[:6]


def test_every_parameter_gradient_agrees_with_the_complex_step(small) -> None:
    model, X, y = small
    result = gradcheck.check_model_gradients(model, X, y, loss="softmax_cross_entropy")
    assert list(result.errors) == ["K", "b", "W", "c"]
    assert result.worst < 1e-10, result.table()
    with pytest.raises(ValueError, match="loss:"):
        model.gradients(X, y, loss="mse")


def test_every_parameter_gradient_agrees_with_central_differences(small) -> None:
    model, X, y = small
    _, grads = model.gradients(X, y)
    params = [p.copy() for p in model.parameters()]
    for k, G in enumerate(grads[:2]):  # the convolution layer's K and b

        def loss(P, k=k):
            arrays = list(params)
            arrays[k] = P
            return model.with_parameters(arrays).loss(X, y)

        assert gradcheck.relative_error(G, gradcheck.numerical_gradient(loss, params[k])) < 1e-6


def test_saliency_is_the_input_gradient_of_each_image(small) -> None:
    model, X, y = small
    sal = model.saliency(X, y)
    assert sal.shape == X.shape
    for i in (0, 3):
        one = gradcheck.complex_step_gradient(
            lambda x, i=i: model.loss(x, y[i : i + 1]), X[i : i + 1]
        )
        assert gradcheck.relative_error(sal[i : i + 1], one) < 1e-10
    batch = gradcheck.complex_step_gradient(lambda x: model.loss(x, y), X)
    trace = model.backprop(X, y, input_gradient=True)
    assert gradcheck.relative_error(trace.dX, batch) < 1e-10


def test_protocol(small) -> None:
    model, X, y = small
    names = [n for n, _ in model.named_parameters()]
    assert names == ["K", "b", "W", "c"]
    assert all(p is q for p, (_, q) in zip(model.parameters(), model.named_parameters()))
    doubled = model.with_parameters([2 * p for p in model.parameters()])
    assert isinstance(doubled, cnn.DigitCNN) and doubled is not model
    np.testing.assert_array_equal(doubled.K, 2 * model.K)
    loss, grads = model.gradients(X, y)
    assert loss == pytest.approx(model.loss(X, y))
    assert [g.shape for g in grads] == [p.shape for p in model.parameters()]
    with pytest.raises(ValueError, match="arrays: expected 4 arrays"):
        model.with_parameters(model.parameters()[:3])
    with pytest.raises(ValueError, match=r"arrays\[W\]: expected shape"):
        model.with_parameters([model.K, model.b, model.W.T, model.c])


def test_inputs_are_not_modified(small) -> None:
    model, X, y = small
    X0, y0, P0 = X.copy(), y.copy(), [p.copy() for p in model.parameters()]
    model.gradients(X, y)
    model.saliency(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    for p, q in zip(model.parameters(), P0):
        np.testing.assert_array_equal(p, q)


def test_training_on_the_digits_reaches_95_percent() -> None:
    X, y = load_digits()
    Xt, Xv, yt, yv = data.train_val_split(X.reshape(len(X), -1), y, 0.25, seed=0, stratify=True)
    model = cnn.DigitCNN.init(seed=0)
    trained, history = cnn.train_digit_cnn(
        model, Xt.reshape(-1, 1, 8, 8), yt, Xv.reshape(-1, 1, 8, 8), yv
    )
    assert history.val_accuracy[-1] >= 0.95, history.val_accuracy
    assert history.train_loss[-1] < history.train_loss[0] < np.log(10)
    assert len(history.val_loss) == 15 and history.seconds > 0
    np.testing.assert_array_equal(model.K, cnn.DigitCNN.init(seed=0).K)  # the start is kept
    M = cnn.confusion_matrix(yv, trained.predict(Xv.reshape(-1, 1, 8, 8)))
    assert M.sum() == len(yv) and np.trace(M) / M.sum() == pytest.approx(history.val_accuracy[-1])


def test_confusion_matrix_counts() -> None:
    M = cnn.confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], n_classes=3)
    np.testing.assert_array_equal(M, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    with pytest.raises(ValueError, match="y_pred"):
        cnn.confusion_matrix([0, 1], [0])


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda m: m.loss(np.zeros((2, 1, 7, 7)), [0, 1]), ValueError, "X: expected shape"),
        (lambda m: m.loss(np.zeros((2, 1, 8, 8)), [0, 10]), ValueError, "y: expected"),
        (lambda m: cnn.DigitCNN.init(kernel_size=4), ValueError, "kernel_size"),
        (lambda m: cnn.DigitCNN.init(n_kernels=0), ValueError, "n_kernels"),
        (
            lambda m: cnn.conv2d_im2col_forward(
                np.zeros((1, 2, 4, 4)), np.zeros((1, 1, 2, 2)), [0.0]
            ),
            ValueError,
            "X: expected shape",
        ),
        (
            lambda m: cnn.train_digit_cnn(
                m, np.zeros((2, 1, 8, 8)), [0, 1], np.zeros((2, 1, 8, 8)), [0, 1], epochs=0
            ),
            ValueError,
            "epochs",
        ),
    ],
)
def test_errors_name_the_argument(small, call, error, fragment) -> None:
    with pytest.raises(error) as info:
        call(small[0])
    assert fragment in str(info.value)
