"""The parameter protocol every model follows, and one gradient check for all of them.

``named_parameters()`` lists (name, live array) in a fixed order, ``parameters()`` the arrays in
that order, ``with_parameters(arrays)`` makes a new model holding other arrays, ``loss(X, y,
**kw)`` is a number and ``gradients(X, y, **kw)`` returns the loss and the gradients in the
named order; :func:`bpcourse.gradcheck.check_model_gradients` checks any such model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bpcourse import gradcheck, nn, optim


def _mlp() -> tuple[Any, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (
        nn.MLP([3, 4, 2], activation="tanh", seed=1),
        rng.normal(size=(5, 3)),
        rng.normal(size=(5, 2)),
    )


def _rnn() -> tuple[Any, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    model = nn.RNN(n_in=2, n_hidden=4, n_out=1, spectral_radius=0.9, seed=2)
    return model, rng.normal(size=(3, 5, 2)), rng.normal(size=3)


MODELS = {"mlp": _mlp, "rnn": _rnn}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_names_arrays_and_gradients_come_in_one_order(kind: str) -> None:
    model, X, y = MODELS[kind]()
    named = model.named_parameters()
    assert all(a is b for (_, a), b in zip(named, model.parameters(), strict=True))
    assert len({name for name, _ in named}) == len(named)
    value, grads = model.gradients(X, y)
    assert value == pytest.approx(model.loss(X, y), rel=1e-14)
    assert [g.shape for g in grads] == [P.shape for _, P in named]


def test_the_mlp_names_and_the_rnn_names() -> None:
    assert [n for n, _ in _mlp()[0].named_parameters()] == ["W1", "b1", "W2", "b2"]
    assert [n for n, _ in _rnn()[0].named_parameters()] == ["W_xh", "W_hh", "b", "W_hy", "b_y"]


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_with_parameters_makes_a_new_model_and_leaves_this_one(kind: str) -> None:
    model, X, y = MODELS[kind]()
    before = [P.copy() for P in model.parameters()]
    arrays = [P + 0.1 for P in model.parameters()]
    other = model.with_parameters(arrays)
    assert type(other) is type(model)
    assert all(a is b for a, b in zip(other.parameters(), arrays))
    for P, Q in zip(model.parameters(), before):
        np.testing.assert_array_equal(P, Q)
    assert other.loss(X, y) != model.loss(X, y)
    complex_model = model.with_parameters([P.astype(complex) for P in model.parameters()])
    assert complex_model.loss(X, y) == pytest.approx(model.loss(X, y), rel=1e-14)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_with_parameters_rejects_the_wrong_count_and_shape(kind: str) -> None:
    model, _, _ = MODELS[kind]()
    params = model.parameters()
    first = model.named_parameters()[0][0]
    with pytest.raises(ValueError, match=rf"arrays: expected {len(params)} arrays .*got 1"):
        model.with_parameters(params[:1])
    with pytest.raises(ValueError, match=rf"arrays\[0\] \({first}\): expected shape"):
        model.with_parameters([params[0].T[:, :1], *params[1:]])
    with pytest.raises(TypeError, match="arrays: expected a list of"):
        model.with_parameters(params[0])


@pytest.mark.parametrize("method", ["complex_step", "central"])
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_one_call_checks_any_model(kind: str, method: str) -> None:
    model, X, y = MODELS[kind]()
    before = [P.copy() for P in model.parameters()]
    result = gradcheck.check_model_gradients(model, X, y, method=method)
    assert result.ok(), result.table()
    assert list(result.errors) == [name for name, _ in model.named_parameters()]
    for P, Q in zip(model.parameters(), before):
        np.testing.assert_array_equal(P, Q)


def test_a_wrong_rnn_gradient_is_caught() -> None:
    class LateBias(nn.RNN):
        def gradients(self, X, y, loss="mse", clip=None):
            value, grads = super().gradients(X, y, loss=loss, clip=clip)
            grads[2] = 0.5 * grads[2]  # the hidden bias' gradient halved
            return value, grads

    model = LateBias(n_in=2, n_hidden=4, seed=3)
    rng = np.random.default_rng(4)
    result = gradcheck.check_model_gradients(model, rng.normal(size=(3, 5, 2)), rng.normal(size=3))
    assert not result.ok() and result.errors["b"] > 0.1
    assert max(v for k, v in result.errors.items() if k != "b") < 1e-10


def test_gradients_feed_the_optimizers_in_the_order_of_parameters() -> None:
    model, X, y = _mlp()
    twin = model.copy()
    _, grads = model.gradients(X, y)
    optim.SGD(model.parameters(), lr=0.1).step(grads)
    _, dweights, dbiases = twin.loss_and_gradients(X, y)
    for W, dW in zip(twin.weights, dweights):
        W -= 0.1 * dW
    for b, db in zip(twin.biases, dbiases):
        b -= 0.1 * db
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a, b)


def test_a_model_without_the_protocol_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"model: expected a model with \.named_parameters\(\)"):
        gradcheck.check_model_gradients(object(), np.zeros((1, 1)), np.zeros((1, 1)))
