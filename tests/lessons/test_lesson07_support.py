"""Support of lesson 07: the claims its text makes about the digit CNN and the character model,
on the lesson's own settings, and its figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from bpcourse import data, dynamics, gradcheck, nn, plots

# The trained CNN is a module fixture: one worker trains it once for every test here.
pytestmark = pytest.mark.xdist_group("lesson07-support")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    X, y = data.load_digits()
    flat = X.reshape(len(X), -1)
    X_tr, X_va, y_tr, y_va = data.train_val_split(flat, y, 0.25, seed=0, stratify=True)
    return X_tr.reshape(-1, 1, 8, 8), X_va.reshape(-1, 1, 8, 8), y_tr, y_va


@pytest.fixture(scope="module")
def trained(digits) -> tuple[dynamics.DigitCNN, dynamics.TrainingHistory]:
    X_tr, X_va, y_tr, y_va = digits
    model = dynamics.DigitCNN.init(n_kernels=8, seed=0)
    return dynamics.train_digit_cnn(
        model, X_tr, y_tr, X_va, y_va, epochs=15, batch_size=32, lr=0.01
    )


def test_the_lessons_split_and_parameter_count(digits) -> None:
    X_tr, X_va, _, _ = digits
    assert (len(X_tr), len(X_va)) == (1347, 450)  # the numbers the lesson states
    model = dynamics.DigitCNN.init(n_kernels=8, seed=0)
    assert sum(p.size for p in model.parameters()) == 810


def test_the_cnn_of_the_lesson_passes_95_percent(trained, digits) -> None:
    model, history = trained
    _, X_va, _, y_va = digits
    assert history.val_accuracy[-1] >= 0.95
    assert history.train_loss[-1] < history.val_loss[-1]  # the training loss keeps falling
    wrong = np.flatnonzero(model.predict(X_va) != y_va)
    assert 0 < len(wrong) <= 0.05 * len(y_va)  # the lesson shows some of them


def test_the_lessons_gradient_checks_pass(digits) -> None:
    X_tr, _, y_tr, _ = digits
    xent = "softmax_cross_entropy"
    result = gradcheck.check_model_gradients(
        dynamics.DigitCNN.init(seed=0), X_tr[:5], y_tr[:5], xent
    )
    assert result.ok() and result.worst < 1e-10
    names = data.load_names()
    vocab = data.CharVocab.from_texts(names)
    tiny = dynamics.CharRNN.init(vocab.size, embed_dim=3, n_hidden=5, spectral_radius=1.5, seed=1)
    X, Y = data.names_to_sequences(names[:6], vocab, length=6)
    assert gradcheck.check_model_gradients(tiny, X[:3], Y[:3], xent).worst < 1e-10


@pytest.mark.slow
def test_clipping_on_long_sequences_as_the_lesson_says() -> None:
    """T = 150, spectral radius 2, SGD at learning rate 1: without clipping the gradient norm
    explodes and training stalls; clipped to norm 1 it reaches a clearly lower loss."""
    names = data.load_names()
    vocab = data.CharVocab.from_texts(names)
    order = np.random.default_rng(0).permutation(len(names))
    tr, va = [names[i] for i in order[:4600]], [names[i] for i in order[4600:]]
    X, Y = data.names_to_sequences(tr, vocab, length=150)
    Xv, Yv = data.names_to_sequences(va, vocab, length=150)
    steep = dynamics.CharRNN.init(
        vocab.size, embed_dim=16, n_hidden=64, spectral_radius=2.0, seed=0
    )
    kw = {"steps": 120, "batch_size": 16, "lr": 1.0, "optimizer": "sgd", "X_val": Xv, "Y_val": Yv}
    kw["eval_every"] = 40
    _, raw = dynamics.train_char_model(steep, X, Y, **kw)
    _, clipped = dynamics.train_char_model(steep, X, Y, max_norm=1.0, **kw)
    assert max(raw.grad_norm) > 1e10
    assert raw.grad_norm[0] == clipped.grad_norm[0] and 100 < raw.grad_norm[0] < 1000
    assert clipped.val_loss[-1] < raw.val_loss[-1] - 0.2

    # "the loss jumps up again and again": after the first 50 steps, count the steps where the
    # loss rises by more than 0.1. The unclipped run is chaotic (its exact path depends on
    # round-off, so on the machine), but over seeds 0-4, and two orders of summing the
    # gradients, it rose 10-27 times and the clipped run 0-2 times.
    def jumps(history: dynamics.CharTrainingHistory) -> int:
        return int(np.sum(np.diff(history.loss[50:]) > 0.1))

    assert jumps(raw) >= 8 and jumps(clipped) <= 3, (jumps(raw), jumps(clipped))


# --- figures --------------------------------------------------------------------------------


def test_figures(trained, digits) -> None:
    model, history = trained
    _, X_va, _, y_va = digits
    pred = model.predict(X_va)
    M = dynamics.confusion_matrix(y_va, pred)
    figures = {
        "digits": plots.plot_digits(X_va[:12], y_va[:12], pred[:12], title="t"),
        "kernels": plots.plot_kernels(model.K),
        "confusion": plots.plot_confusion_matrix(M),
        "saliency": plots.plot_saliency(X_va[:4], model.saliency(X_va[:4], y_va[:4]), y_va[:4]),
        "curves": plots.plot_cnn_training(history),
        "maps": plots.plot_feature_maps(model.feature_maps(X_va[:1])[0], X_va[0]),
        "inspection": plots.plot_digit_inspection(
            X_va[0, 0], model.saliency(X_va[:1], y_va[:1])[0, 0],
            model.feature_maps(X_va[:1])[0], nn.softmax(model.logits(X_va[:1]))[0], int(y_va[0]),
        ),
    }  # fmt: skip
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        assert plots.figure_to_png(fig).startswith(b"\x89PNG"), name
    assert len(figures["digits"].axes) == 20  # a 2 x 10 grid, 8 left blank
    assert sum(len(ax.texts) for ax in figures["confusion"].axes) == np.count_nonzero(M)
    assert len(figures["saliency"].axes) == 8
    assert figures["curves"].axes[0].get_yscale() == "log"
    assert len(figures["inspection"].axes) == 4


def test_char_figures() -> None:
    names = data.load_names()
    vocab = data.CharVocab.from_texts(names)
    X, Y = data.names_to_sequences(names[:300], vocab, 20)
    model = dynamics.CharRNN.init(vocab.size, 4, 8, seed=0)
    _, h1 = dynamics.train_char_model(model, X, Y, steps=5)
    _, h2 = dynamics.train_char_model(model, X, Y, steps=5, max_norm=0.1)
    fig = plots.plot_char_training({"a": h1, "b": h2}, title="t")
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    assert len(fig.axes[0].lines) == 2
    emb = plots.plot_embeddings(model.E, vocab.chars)
    assert len(emb.axes[0].texts) == vocab.size


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: plots.plot_digits(np.zeros((2, 3, 8, 8))), ValueError, "X: expected one channel"),
        (lambda: plots.plot_digits(np.zeros((2, 8, 8)), y=[1]), ValueError, "y: expected shape"),
        (lambda: plots.plot_kernels(np.zeros((2, 2, 3, 3))), ValueError, "K: expected kernels"),
        (lambda: plots.plot_confusion_matrix(np.zeros((3, 2))), TypeError, "M: expected"),
        (
            lambda: plots.plot_saliency(np.zeros((2, 8, 8)), np.zeros((3, 8, 8))),
            ValueError,
            "saliency",
        ),
        (lambda: plots.plot_cnn_training(object()), TypeError, "history"),
        (lambda: plots.plot_char_training({}), TypeError, "runs"),
        (lambda: plots.plot_embeddings(np.zeros((3, 2)), "ab"), ValueError, "chars"),
    ],
)
def test_figure_errors_name_the_argument(call, error, fragment) -> None:
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
