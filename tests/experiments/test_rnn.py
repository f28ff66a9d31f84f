"""The vanilla RNN, backpropagation through time, clipping, the memory task, training with and
without clipping, and the RNN explorer."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as widgets
import numpy as np
import pytest

from bpcourse import dynamics, nn
from bpcourse.gradcheck import complex_step_gradient, numerical_gradient, relative_error
from bpcourse.widgets import Explorer, rnn_explorer

PNG = b"\x89PNG\r\n\x1a\n"


def _sequence_case(N=3, T=5, n_in=2, n_h=4, seed=0, rho=1.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, T, n_in))
    W_xh = rng.normal(scale=0.5, size=(n_in, n_h))
    W_hh = nn.recurrent_weights(n_h, rho, rng)
    b = rng.normal(scale=0.1, size=n_h)
    h0 = rng.normal(scale=0.3, size=(N, n_h))
    return X, W_xh, W_hh, b, h0


# --- the recurrent matrix -------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.5, 1.0, 2.5])
def test_recurrent_weights_have_the_spectral_radius(rho: float) -> None:
    W = nn.recurrent_weights(16, rho, 0)
    assert W.shape == (16, 16) and W.dtype == np.float64
    assert np.max(np.abs(np.linalg.eigvals(W))) == pytest.approx(rho, rel=1e-10)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), rho, rtol=1e-10)
    np.testing.assert_array_equal(W, nn.recurrent_weights(16, rho, np.random.default_rng(0)))
    assert not np.array_equal(W, nn.recurrent_weights(16, rho, 1))


# --- one step -------------------------------------------------------------------------------------


def test_step_backward_agrees_with_numerical_gradients() -> None:
    X, W_xh, W_hh, b, h0 = _sequence_case(seed=1)
    x = X[:, 0]
    h = nn.rnn_step_forward(x, h0, W_xh, W_hh, b)
    np.testing.assert_allclose(h, np.tanh(x @ W_xh + h0 @ W_hh + b), rtol=1e-14)
    G = np.random.default_rng(2).normal(size=h.shape)
    grads = dict(
        zip(["x", "h_prev", "W_xh", "W_hh", "b"], nn.rnn_step_backward(G, x, h0, h, W_xh, W_hh))
    )
    args = {"x": x, "h_prev": h0, "W_xh": W_xh, "W_hh": W_hh, "b": b}
    for name, value in args.items():

        def loss(v, name=name):
            return np.sum(G * nn.rnn_step_forward(**{**args, name: v}))

        assert grads[name].shape == value.shape
        assert relative_error(grads[name], complex_step_gradient(loss, value.copy())) < 1e-12, name
        assert relative_error(grads[name], numerical_gradient(loss, value.copy())) < 1e-6, name


def test_step_backward_transposes_W_hh_and_uses_the_tanh_derivative() -> None:
    """The two classic slips give different numbers (so the lesson's tests can tell)."""
    X, W_xh, W_hh, b, h0 = _sequence_case(seed=3)
    h = nn.rnn_step_forward(X[:, 0], h0, W_xh, W_hh, b)
    G = np.ones_like(h)
    dh_prev = nn.rnn_step_backward(G, X[:, 0], h0, h, W_xh, W_hh)[1]
    dz = G * (1 - h**2)
    np.testing.assert_allclose(dh_prev, dz @ W_hh.T, rtol=1e-14)
    assert relative_error(dh_prev, dz @ W_hh) > 1e-3
    assert relative_error(dh_prev, G @ W_hh.T) > 1e-3


# --- a whole sequence -----------------------------------------------------------------------------


def test_forward_is_the_step_applied_T_times() -> None:
    X, W_xh, W_hh, b, h0 = _sequence_case(seed=4)
    H = nn.rnn_forward(X, W_xh, W_hh, b, h0)
    assert H.shape == (3, 6, 4)
    h = h0
    for t in range(X.shape[1]):
        h = nn.rnn_step_forward(X[:, t], h, W_xh, W_hh, b)
        np.testing.assert_allclose(H[:, t + 1], h, rtol=1e-14)
    np.testing.assert_array_equal(nn.rnn_forward(X, W_xh, W_hh, b)[:, 0], 0.0)


def test_bptt_agrees_with_the_complex_step_and_central_differences() -> None:
    """L = sum(G * H[:, 1:]) sends G_t into every state; rnn_backward(G) is its gradient."""
    X, W_xh, W_hh, b, h0 = _sequence_case(seed=5)
    G = np.random.default_rng(6).normal(size=(3, 5, 4))
    H = nn.rnn_forward(X, W_xh, W_hh, b, h0)
    back = nn.rnn_backward(G, X, H, W_xh, W_hh)
    args = {"X": X, "W_xh": W_xh, "W_hh": W_hh, "b": b, "h0": h0}
    analytic = {"X": back.dX, "W_xh": back.dW_xh, "W_hh": back.dW_hh, "b": back.db, "h0": back.dh0}
    for name, value in args.items():

        def loss(v, name=name):
            return np.sum(G * nn.rnn_forward(**{**args, name: v})[:, 1:])

        assert analytic[name].shape == value.shape
        assert relative_error(analytic[name], complex_step_gradient(loss, value.copy())) < 1e-12
        assert relative_error(analytic[name], numerical_gradient(loss, value.copy())) < 1e-6


def test_shared_weights_sum_their_gradients_over_time() -> None:
    X, W_xh, W_hh, b, h0 = _sequence_case(seed=7)
    G = np.random.default_rng(8).normal(size=(3, 5, 4))
    H = nn.rnn_forward(X, W_xh, W_hh, b, h0)
    back = nn.rnn_backward(G, X, H, W_xh, W_hh)
    steps = [
        nn.rnn_step_backward(back.dH[:, t], X[:, t], H[:, t], H[:, t + 1], W_xh, W_hh)
        for t in range(5)
    ]
    np.testing.assert_allclose(back.dW_hh, sum(s[3] for s in steps), rtol=1e-12)
    np.testing.assert_allclose(back.dW_xh, sum(s[2] for s in steps), rtol=1e-12)
    np.testing.assert_allclose(back.db, sum(s[4] for s in steps), rtol=1e-12)
    # dL/dh_t = what the loss sends to h_t + what comes back from h_{t+1}
    for t in range(4):
        np.testing.assert_allclose(back.dH[:, t], G[:, t] + steps[t + 1][1], rtol=1e-12)
    np.testing.assert_allclose(back.grad_norms, np.linalg.norm(back.dH, axis=(0, 2)), rtol=1e-14)


@pytest.mark.parametrize("how", ["norm", "value"])
def test_clipping_inside_bptt_bounds_every_step(how: str) -> None:
    X, W_xh, W_hh, b, h0 = _sequence_case(N=4, T=30, n_h=8, seed=9, rho=2.5)
    G = np.zeros((4, 30, 8))
    G[:, -1] = 1.0
    H = nn.rnn_forward(X, W_xh, W_hh, b, h0)
    raw = nn.rnn_backward(G, X, H, W_xh, W_hh)
    clipped = nn.rnn_backward(G, X, H, W_xh, W_hh, clip=(how, 0.5))
    assert raw.grad_norms.max() > 10
    if how == "norm":
        assert clipped.grad_norms.max() <= 0.5 * (1 + 1e-12)
    else:
        assert np.abs(clipped.dH).max() <= 0.5
    # a threshold above every gradient changes nothing
    loose = nn.rnn_backward(G, X, H, W_xh, W_hh, clip=(how, 1e12))
    np.testing.assert_allclose(loose.dW_hh, raw.dW_hh, rtol=1e-14)


# --- the model class ------------------------------------------------------------------------------


def test_rnn_model_gradients_agree_with_numerical_gradients() -> None:
    model = nn.RNN(2, 5, 2, spectral_radius=1.2, seed=3)
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 2))
    trace = model.backprop(X, y)
    assert trace.loss == pytest.approx(model.loss(X, y), rel=1e-14)
    np.testing.assert_allclose(trace.y_hat, model.forward(X), rtol=1e-14)
    assert trace.grad_norms.shape == (6,)
    for name in model.names:

        def loss(P, name=name):
            other = model.copy()
            other.params[name] = P
            return other.loss(X, y)

        P = model.params[name].copy()
        assert trace.grads[name].shape == P.shape
        assert relative_error(trace.grads[name], complex_step_gradient(loss, P)) < 1e-12, name
        assert relative_error(trace.grads[name], numerical_gradient(loss, P)) < 1e-6, name


def test_rnn_model_basics() -> None:
    model = nn.RNN(3, 4, seed=1)
    assert [P.shape for P in model.parameters()] == [(3, 4), (4, 4), (4,), (4, 1), (1,)]
    assert model.parameters()[1] is model.params["W_hh"]
    twin = model.copy()
    twin.params["W_hh"] += 1.0
    assert not np.array_equal(twin.params["W_hh"], model.params["W_hh"])
    X = np.zeros((2, 5, 3))
    assert model.loss(X, np.zeros(2)) == model.loss(X, np.zeros((2, 1)))
    assert "RNN(3, 4, 1" in repr(model)


# --- experiments: the gradient through time -------------------------------------------------------


def test_gradients_vanish_below_radius_one_and_explode_above() -> None:
    small = dynamics.rnn_gradient_norms(0.8, 50)
    neutral = dynamics.rnn_gradient_norms(1.0, 50)
    large = dynamics.rnn_gradient_norms(2.0, 50)
    assert small.shape == (50,) and not small.flags.writeable
    assert small[0] / small[-1] < 1e-3
    assert 1e-1 < neutral[0] / neutral[-1] < 10
    assert large[0] / large[-1] > 1e3
    np.testing.assert_array_equal(large, dynamics.rnn_gradient_norms(2.0, 50))  # seeded


def test_clipping_tames_the_explosion() -> None:
    raw = dynamics.rnn_gradient_norms(2.5, 80)
    by_norm = dynamics.rnn_gradient_norms(2.5, 80, ("norm", 1.0))
    by_value = dynamics.rnn_gradient_norms(2.5, 80, ("value", 0.01))
    assert raw.max() > 1e6
    assert by_norm.max() <= 1.0 + 1e-12
    assert by_value.max() <= 0.01 * np.sqrt(16 * 32)  # every entry of the (16, 32) array <= 0.01


def test_long_sequences_at_large_radius_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norms = dynamics.rnn_gradient_norms(3.0, 200)
    assert np.isfinite(norms).all()


def test_delay_task() -> None:
    X, y = dynamics.delay_task(n_samples=10, seq_len=7, seed=3)
    assert X.shape == (10, 7, 2) and y.shape == (10, 1)
    np.testing.assert_array_equal(X[:, 0, 0], y[:, 0])
    np.testing.assert_array_equal(X[:, 0, 1], 1.0)
    np.testing.assert_array_equal(X[:, 1:, 1], 0.0)
    assert np.all(np.abs(y) <= 1)
    X2, _ = dynamics.delay_task(n_samples=10, seq_len=7, seed=3)
    np.testing.assert_array_equal(X, X2)
    quiet, _ = dynamics.delay_task(n_samples=4, seq_len=5, noise=0.0)
    np.testing.assert_array_equal(quiet[:, 1:], 0.0)


def test_training_spikes_without_clipping_and_is_stable_with_it() -> None:
    """On the memory task (seed 1), plain gradient descent hits a wall: the loss jumps up by
    an order of magnitude and the run ends stuck; clipped by global norm it descends smoothly."""
    plain = dynamics.train_rnn(seed=1)
    clipped = dynamics.train_rnn(seed=1, clip=("norm", 1.0))
    assert not plain.diverged and not clipped.diverged
    assert plain.loss.shape == (151,) and plain.grad_norm.shape == (150,)
    assert plain.largest_jump > 5
    assert clipped.largest_jump < 3
    assert clipped.loss[-1] < 0.5 * plain.loss[-1]
    assert plain.grad_norm.max() > 5
    assert clipped.n_clipped > 0 and plain.n_clipped == 0
    by_value = dynamics.train_rnn(seed=1, clip=("value", 0.1))
    assert by_value.n_clipped > 0 and not by_value.diverged


def test_training_with_a_huge_learning_rate_diverges_cleanly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = dynamics.train_rnn(lr=50.0, num_epochs=50, spectral_radius=1.5)
    assert run.diverged and run.diverged_epoch is not None
    assert np.isfinite(run.loss).all()
    assert len(run.loss) == run.diverged_epoch


# --- errors ---------------------------------------------------------------------------------------

_X, _W_xh, _W_hh, _b, _h0 = _sequence_case()
_H = nn.rnn_forward(_X, _W_xh, _W_hh, _b, _h0)
_G = np.zeros((3, 5, 4))

ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "W_hh not square",
        lambda: nn.rnn_forward(_X, _W_xh, np.zeros((4, 3)), _b),
        ValueError,
        "W_hh",
    ),
    ("X 2-D", lambda: nn.rnn_forward(_X[:, 0], _W_xh, _W_hh, _b), ValueError, "X"),
    ("X features", lambda: nn.rnn_forward(_X[:, :, :1], _W_xh, _W_hh, _b), ValueError, "n_in"),
    ("X empty", lambda: nn.rnn_forward(_X[:, :0], _W_xh, _W_hh, _b), ValueError, "X"),
    ("X NaN", lambda: nn.rnn_forward(_X * np.nan, _W_xh, _W_hh, _b), ValueError, "X"),
    ("b shape", lambda: nn.rnn_forward(_X, _W_xh, _W_hh, np.zeros(3)), ValueError, "b"),
    ("h0 shape", lambda: nn.rnn_forward(_X, _W_xh, _W_hh, _b, np.zeros(4)), ValueError, "h0"),
    ("H shape", lambda: nn.rnn_backward(_G, _X, _H[:, 1:], _W_xh, _W_hh), ValueError, "H"),
    (
        "dH_out shape",
        lambda: nn.rnn_backward(_G[:, 1:], _X, _H, _W_xh, _W_hh),
        ValueError,
        "dH_out",
    ),
    (
        "clip kind",
        lambda: nn.rnn_backward(_G, _X, _H, _W_xh, _W_hh, ("max", 1.0)),
        ValueError,
        "clip",
    ),
    ("clip form", lambda: nn.rnn_backward(_G, _X, _H, _W_xh, _W_hh, 1.0), TypeError, "clip"),
    (
        "clip zero",
        lambda: nn.rnn_backward(_G, _X, _H, _W_xh, _W_hh, ("norm", 0)),
        ValueError,
        "clip",
    ),
    (
        "step h_prev",
        lambda: nn.rnn_step_forward(_X[:, 0], np.zeros((2, 4)), _W_xh, _W_hh, _b),
        ValueError,
        "h_prev",
    ),
    (
        "step dh",
        lambda: nn.rnn_step_backward(np.zeros((3, 5)), _X[:, 0], _h0, _h0, _W_xh, _W_hh),
        ValueError,
        "dh",
    ),
    ("radius zero", lambda: nn.recurrent_weights(4, 0.0, 0), ValueError, "spectral_radius"),
    ("n_hidden zero", lambda: nn.recurrent_weights(0, 1.0, 0), ValueError, "n_hidden"),
    ("model init", lambda: nn.RNN(2, 3, init="orthogonal"), ValueError, "init"),
    ("model X", lambda: nn.RNN(2, 3).forward(np.zeros((4, 2))), ValueError, "X"),
    ("model y", lambda: nn.RNN(2, 3).loss(np.zeros((4, 5, 2)), np.zeros((4, 2))), ValueError, "y"),
    ("norms radius", lambda: dynamics.rnn_gradient_norms(-1.0, 10), ValueError, "spectral_radius"),
    ("norms length", lambda: dynamics.rnn_gradient_norms(1.0, 0), ValueError, "seq_len"),
    ("norms clip", lambda: dynamics.rnn_gradient_norms(1.0, 5, ("l1", 1.0)), ValueError, "clip"),
    ("task length", lambda: dynamics.delay_task(seq_len=1), ValueError, "seq_len"),
    ("task noise", lambda: dynamics.delay_task(noise=-0.1), ValueError, "noise"),
    ("train lr", lambda: dynamics.train_rnn(lr=0.0), ValueError, "lr"),
    ("train clip", lambda: dynamics.train_rnn(clip=("norm",)), TypeError, "clip"),
    ("train factor", lambda: dynamics.train_rnn(divergence_factor=1.0), ValueError, "divergence"),
    ("explorer option", lambda: rnn_explorer(depth=3), TypeError, "depth"),
    ("explorer length", lambda: rnn_explorer(seq_len=500), ValueError, "seq_len"),
    ("explorer clip", lambda: rnn_explorer(clip="l2"), ValueError, "clip"),
    ("explorer radius", lambda: rnn_explorer(spectral_radius=5.0), ValueError, "spectral_radius"),
]


@pytest.mark.parametrize(("case", "call", "error", "fragment"), ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_name_the_argument(case, call, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        call()


# --- the explorer ---------------------------------------------------------------------------------


@pytest.fixture
def strict_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# A module fixture is shared (and, for an explorer, changed step by step) by the tests
# below: one worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("rnn-explorer")


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return rnn_explorer()


def _png(e: Explorer) -> bytes:
    return bytes(e.image.value)


def test_explorer_controls_and_first_picture(explorer: Explorer) -> None:
    assert isinstance(explorer, widgets.VBox)
    for name in ("spectral radius", "sequence length", "clip threshold", "clipping"):
        assert explorer.controls[name].description == name
    assert isinstance(explorer.controls["spectral radius"], widgets.FloatSlider)
    assert isinstance(explorer.controls["sequence length"], widgets.IntSlider)
    assert isinstance(explorer.controls["clipping"], widgets.Dropdown)
    assert [v for _, v in explorer.controls["clipping"].options] == ["none", "norm", "value"]
    assert [label for label, _ in explorer.controls["clipping"].options] == [
        "none",
        "global norm",
        "by value",
    ]
    for name in ("spectral radius", "sequence length", "clip threshold"):
        assert explorer.controls[name].continuous_update is False
    assert _png(explorer).startswith(PNG) and explorer.last_error is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("spectral radius", 0.6),
        ("sequence length", 120),
        ("spectral radius", 2.5),
        ("clipping", "norm"),
        ("clip threshold", 0.05),
        ("clipping", "value"),
        ("clip threshold", 10.0),
        ("sequence length", 2),
        ("spectral radius", 0.1),
        ("sequence length", 200),
        ("clipping", "none"),
    ],
)
def test_setting_a_control_redraws(
    explorer: Explorer, strict_warnings: None, name: str, value: Any
) -> None:
    before, count = _png(explorer), explorer.n_updates
    explorer.controls[name].value = value
    assert explorer.n_updates == count + 1
    assert explorer.last_error is None, explorer.message.value
    assert _png(explorer).startswith(PNG)
    assert _png(explorer) != before, f"setting {name!r} left the picture unchanged"


def test_explorer_options() -> None:
    e = rnn_explorer(spectral_radius=0.9, seq_len=20, clip="value", clip_threshold=0.1)
    assert e.values() == {
        "spectral radius": 0.9,
        "sequence length": 20,
        "clipping": "value",
        "clip threshold": pytest.approx(0.1),
    }
    assert e.last_error is None
