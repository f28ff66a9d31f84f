"""The character model: cross-entropy over time and its gradient, every parameter gradient by
the complex step, the protocol, sampling, training with and without clipping."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import gradcheck
from bpcourse.data import CharVocab, load_names, names_to_sequences
from bpcourse.dynamics import names as charmodel

NAMES = ["anna", "bob", "cleo", "dave", "eve", "ida", "otto"]
VOCAB = CharVocab.from_texts(NAMES)


def test_sequence_cross_entropy_is_the_mean_over_batch_and_time() -> None:
    rng = np.random.default_rng(0)
    logits, Y = rng.normal(size=(2, 3, 4)), rng.integers(0, 4, size=(2, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    expected = -np.mean(np.log(np.take_along_axis(p, Y[..., None], axis=2)))
    assert charmodel.sequence_cross_entropy(logits, Y) == pytest.approx(expected, rel=1e-13)
    grad = charmodel.sequence_cross_entropy_grad(logits, Y)
    numeric = gradcheck.complex_step_gradient(
        lambda z: charmodel.sequence_cross_entropy(z, Y), logits
    )
    assert gradcheck.relative_error(grad, numeric) < 1e-12


def test_every_parameter_gradient_agrees_with_the_complex_step() -> None:
    X, Y = names_to_sequences(NAMES, VOCAB, 6)
    model = charmodel.CharRNN.init(VOCAB.size, embed_dim=3, n_hidden=5, spectral_radius=1.2, seed=2)
    result = gradcheck.check_model_gradients(model, X, Y, loss="softmax_cross_entropy")
    assert list(result.errors) == ["E", "W_xh", "W_hh", "b", "W_hy", "c"]
    assert result.worst < 1e-10, result.table()
    with pytest.raises(ValueError, match="loss:"):
        model.loss(X, Y, loss="mse")


def test_central_differences_agree_for_the_embedding() -> None:
    X, Y = names_to_sequences(NAMES, VOCAB, 5)
    model = charmodel.CharRNN.init(VOCAB.size, embed_dim=2, n_hidden=4, seed=5)
    _, grads = model.gradients(X, Y)
    rest = model.parameters()[1:]
    numeric = gradcheck.numerical_gradient(
        lambda E: model.with_parameters([E, *rest]).loss(X, Y), model.E.copy()
    )
    assert gradcheck.relative_error(grads[0], numeric) < 1e-6
    # characters that never occur in X get no gradient
    unused = sorted(set(range(VOCAB.size)) - set(X.ravel().tolist()))
    assert all(not grads[0][i].any() for i in unused)


def test_protocol_and_inputs_unchanged() -> None:
    X, Y = names_to_sequences(NAMES, VOCAB, 4)
    model = charmodel.CharRNN.init(VOCAB.size, 4, 6, seed=0)
    copies = [X.copy(), Y.copy(), *(p.copy() for p in model.parameters())]
    loss, grads = model.gradients(X, Y)
    assert loss == pytest.approx(model.loss(X, Y))
    assert [g.shape for g in grads] == [p.shape for p in model.parameters()]
    for a, b in zip([X, Y, *model.parameters()], copies):
        np.testing.assert_array_equal(a, b)
    other = model.with_parameters([p + 1 for p in model.parameters()])
    assert isinstance(other, charmodel.CharRNN) and other.loss(X, Y) != loss
    trace = model.backprop(X, Y)
    assert trace.H.shape == (X.shape[0], X.shape[1] + 1, 6) and trace.dh_norms.shape == (4,)


def test_sampling_is_seeded_and_stops_at_the_end_mark() -> None:
    model = charmodel.CharRNN.init(VOCAB.size, 4, 8, seed=0)
    a = model.sample(VOCAB, n=6, max_length=12, seed=3)
    assert a == model.sample(VOCAB, n=6, max_length=12, seed=3)
    assert a != model.sample(VOCAB, n=6, max_length=12, seed=4)
    assert all(len(s) <= 12 and "." not in s and set(s) <= set(VOCAB.chars) for s in a)


def test_training_on_names_lowers_the_validation_loss() -> None:
    names = load_names()
    vocab = CharVocab.from_texts(names)
    X, Y = names_to_sequences(names[::2], vocab, 20)
    Xv, Yv = names_to_sequences(names[1::2][:400], vocab, 20)
    model = charmodel.CharRNN.init(vocab.size, 8, 32, seed=0)
    start = model.loss(Xv, Yv)
    _, h = charmodel.train_char_model(model, X, Y, steps=150, lr=0.02, X_val=Xv, Y_val=Yv)
    assert start > np.log(vocab.size) - 0.5
    assert h.val_loss[-1] < 2.5 < start and h.val_steps == [50, 100, 150]
    assert len(h.loss) == len(h.grad_norm) == 150


def test_clipping_bounds_the_steps_of_an_exploding_run() -> None:
    names = load_names()
    vocab = CharVocab.from_texts(names)
    X, Y = names_to_sequences(names, vocab, 150)
    model = charmodel.CharRNN.init(vocab.size, 8, 64, spectral_radius=2.0, seed=0)
    kw = {"steps": 40, "batch_size": 8, "lr": 1.0, "optimizer": "sgd"}
    _, raw = charmodel.train_char_model(model, X, Y, **kw)
    _, clipped = charmodel.train_char_model(model, X, Y, max_norm=1.0, **kw)
    assert max(raw.grad_norm) > 10  # exploding gradients on a real task
    assert raw.grad_norm[0] == clipped.grad_norm[0]  # same first batch, clipped afterwards


def test_a_batch_as_large_as_the_data_trains_on_every_window() -> None:
    """batch_size >= N is full-batch training: each step's loss is the loss on all windows
    (a batch of a million windows is not drawn), whatever the seed."""
    names = load_names()[:40]
    vocab = CharVocab.from_texts(names)
    X, Y = names_to_sequences(names, vocab, 10)
    model = charmodel.CharRNN.init(vocab.size, 4, 8, seed=0)
    kw = {"steps": 3, "lr": 0.1, "optimizer": "sgd"}
    trained, h = charmodel.train_char_model(model, X, Y, batch_size=10**6, seed=1, **kw)
    assert h.loss[0] == model.loss(X, Y)
    _, again = charmodel.train_char_model(model, X, Y, batch_size=X.shape[0], seed=2, **kw)
    assert again.loss == h.loss and h.loss[-1] < h.loss[0]
    assert trained.loss(X, Y) < model.loss(X, Y)


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (
            lambda m: m.loss(np.zeros((2, 3)), np.zeros((2, 3), int)),
            TypeError,
            "X: expected integer",
        ),
        (
            lambda m: m.loss(np.zeros((2, 3), int), np.zeros((2, 4), int)),
            ValueError,
            "Y: expected shape",
        ),
        (
            lambda m: m.loss(np.zeros((2, 3), int), np.full((2, 3), 99)),
            ValueError,
            "Y: expected ids",
        ),
        (lambda m: m.sample(CharVocab((".", "a")), n=2), ValueError, "vocab:"),
        (lambda m: charmodel.CharRNN.init(1), ValueError, "vocab_size"),
        (
            lambda m: charmodel.train_char_model(
                m, np.zeros((2, 3), int), np.zeros((2, 3), int), optimizer="lbfgs"
            ),
            ValueError,
            "optimizer",
        ),
        (
            lambda m: charmodel.train_char_model(
                m, np.zeros((2, 3), int), np.zeros((2, 3), int), max_norm=-1.0
            ),
            ValueError,
            "max_norm",
        ),
    ],
)
def test_errors_name_the_argument(call, error, fragment) -> None:
    with pytest.raises(error) as info:
        call(charmodel.CharRNN.init(VOCAB.size, 2, 3))
    assert fragment in str(info.value)
