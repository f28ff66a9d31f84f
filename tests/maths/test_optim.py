"""Optimizer steps against hand-computed values, Adam's bias correction, and clipping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bpcourse.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    Momentum,
    adam_step,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
    make_optimizer,
    momentum_step,
    sgd_step,
)

finite = st.floats(-1e3, 1e3, allow_nan=False)


def test_sgd_step_by_hand() -> None:
    out = sgd_step(np.array([1.0, -2.0]), np.array([0.5, 4.0]), lr=0.1)
    np.testing.assert_allclose(out, [0.95, -2.4])


def test_sgd_step_does_not_modify_input() -> None:
    p = np.array([1.0, 2.0])
    sgd_step(p, np.ones(2), lr=1.0)
    np.testing.assert_array_equal(p, [1.0, 2.0])


def test_momentum_step_by_hand() -> None:
    # v = 0.9 * 0.5 + 1.0 = 1.45; p = 1 - 0.1 * 1.45 = 0.855
    p, v = momentum_step(np.array([1.0]), np.array([1.0]), np.array([0.5]), lr=0.1, momentum=0.9)
    np.testing.assert_allclose(v, [1.45])
    np.testing.assert_allclose(p, [0.855])


def test_momentum_is_polyak_heavy_ball() -> None:
    """theta_{t+1} = theta_t - lr g_t + mu (theta_t - theta_{t-1}) on f(x) = x^2 / 2."""
    lr, mu = 0.1, 0.8
    x, v = np.array([2.0]), np.zeros(1)
    xs = [x.copy()]
    for _ in range(6):
        x, v = momentum_step(x, x, v, lr=lr, momentum=mu)
        xs.append(x.copy())
    for t in range(1, 6):
        expected = xs[t] - lr * xs[t] + mu * (xs[t] - xs[t - 1])
        np.testing.assert_allclose(xs[t + 1], expected, rtol=1e-12)


def test_momentum_zero_is_sgd() -> None:
    p, g = np.array([0.3, -0.7]), np.array([1.5, 2.0])
    new_p, _ = momentum_step(p, g, np.array([9.0, 9.0]), lr=0.2, momentum=0.0)
    np.testing.assert_allclose(new_p, sgd_step(p, g, lr=0.2))


def test_adam_first_step_by_hand() -> None:
    # m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2: update = lr * g / (|g| + eps)
    g = np.array([4.0, -0.5])
    p, m, v = adam_step(np.zeros(2), g, np.zeros(2), np.zeros(2), t=1, lr=0.1)
    np.testing.assert_allclose(m, 0.1 * g)
    np.testing.assert_allclose(v, 0.001 * g**2)
    np.testing.assert_allclose(p, -0.1 * g / (np.abs(g) + 1e-8))


def test_adam_second_step_by_hand() -> None:
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    g1, g2 = 2.0, -1.0
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    p1 = 1.0 - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    p2 = p1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    p, m, v = adam_step([1.0], [g1], [0.0], [0.0], t=1, lr=lr)
    p, m, v = adam_step(p, [g2], m, v, t=2, lr=lr)
    np.testing.assert_allclose(p, [p2], rtol=1e-12)
    np.testing.assert_allclose(m, [m2], rtol=1e-12)
    np.testing.assert_allclose(v, [v2], rtol=1e-12)


def test_adam_bias_correction_matters_early() -> None:
    """Without correction the first step would be ~sqrt(1-b2)/(1-b1) ~ 0.32 x too small."""
    p, _, _ = adam_step([0.0], [1e-3], [0.0], [0.0], t=1, lr=0.01)
    assert p[0] == pytest.approx(-0.01, rel=1e-4)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_updates_live_arrays_like_functional_step(name: str) -> None:
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    W_ref, b_ref = W.copy(), b.copy()
    opt = make_optimizer(name, [W, b], lr=0.05)
    state = {"v": [np.zeros_like(W), np.zeros_like(b)]}
    state["m"] = [np.zeros_like(W), np.zeros_like(b)]
    for t in range(1, 4):
        grads = [rng.standard_normal(W.shape), rng.standard_normal(b.shape)]
        opt.step(grads)
        new = []
        for i, (p, g) in enumerate(zip([W_ref, b_ref], grads)):
            if name == "sgd":
                new.append(sgd_step(p, g, 0.05))
            elif name == "momentum":
                q, state["v"][i] = momentum_step(p, g, state["v"][i], 0.05, 0.9)
                new.append(q)
            else:
                q, state["m"][i], state["v"][i] = adam_step(
                    p, g, state["m"][i], state["v"][i], t=t, lr=0.05
                )
                new.append(q)
        W_ref, b_ref = new
        np.testing.assert_allclose(W, W_ref, rtol=1e-12)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12)


def test_registry_and_classes() -> None:
    assert dict(OPTIMIZERS) == {"sgd": SGD, "momentum": Momentum, "adam": Adam}
    p = [np.zeros(2)]
    assert isinstance(make_optimizer("momentum", p, 0.1, momentum=0.5), Momentum)
    assert make_optimizer("adam", p, 0.1, betas=(0.8, 0.99)).betas == (0.8, 0.99)
    assert "lr=0.1" in repr(make_optimizer("sgd", p, 0.1))


def test_sgd_class_in_place() -> None:
    W = np.array([1.0, 2.0])
    SGD([W], lr=0.5).step([np.array([1.0, 1.0])])
    np.testing.assert_allclose(W, [0.5, 1.5])


def test_momentum_class_accumulates_velocity() -> None:
    x = np.array([1.0])
    opt = Momentum([x], lr=0.1, momentum=0.5)
    opt.step([np.array([1.0])])  # v = 1, x = 0.9
    opt.step([np.array([1.0])])  # v = 1.5, x = 0.75
    np.testing.assert_allclose(x, [0.75])
    np.testing.assert_allclose(opt.velocities[0], [1.5])


def test_clip_grad_norm_by_hand() -> None:
    clipped, total = clip_grad_norm([np.array([3.0]), np.array([[4.0]])], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(clipped[0], [0.6])
    np.testing.assert_allclose(clipped[1], [[0.8]])


def test_clip_grad_norm_below_threshold_unchanged() -> None:
    grads = [np.array([0.1, -0.2]), np.array([0.3])]
    clipped, total = clip_grad_norm(grads, max_norm=10.0)
    for c, g in zip(clipped, grads):
        np.testing.assert_array_equal(c, g)
        assert c is not g
    assert total == pytest.approx(np.sqrt(0.14))


@given(
    st.lists(arrays(np.float64, st.integers(1, 5), elements=finite), min_size=1, max_size=4),
    st.floats(1e-3, 1e3),
)
def test_clip_grad_norm_keeps_direction_and_caps_norm(grads: list, max_norm: float) -> None:
    clipped, total = clip_grad_norm(grads, max_norm)
    assert total == pytest.approx(global_norm(grads))
    new_norm = global_norm(clipped)
    assert new_norm <= max_norm * (1 + 1e-12) + 1e-300
    if total > max_norm:
        assert new_norm == pytest.approx(max_norm, rel=1e-12)
        scale = max_norm / total
        for c, g in zip(clipped, grads):
            np.testing.assert_allclose(c, g * scale, rtol=1e-12, atol=1e-300)
    else:
        for c, g in zip(clipped, grads):
            np.testing.assert_array_equal(c, g)


@given(arrays(np.float64, st.integers(1, 6), elements=finite), st.floats(1e-3, 1e3))
def test_clip_grad_value_bounds_entries(g: np.ndarray, c: float) -> None:
    (out,) = clip_grad_value([g], c)
    assert np.all(np.abs(out) <= c)
    inside = np.abs(g) <= c
    np.testing.assert_array_equal(out[inside], g[inside])
    np.testing.assert_array_equal(np.sign(out), np.sign(g))


def test_clip_grad_value_by_hand() -> None:
    (out,) = clip_grad_value([np.array([-3.0, 0.5, 2.0])], clip_value=1.0)
    np.testing.assert_array_equal(out, [-1.0, 0.5, 1.0])


def test_gd_on_quadratic_converges_with_every_optimizer() -> None:
    for name, lr in (("sgd", 0.1), ("momentum", 0.05), ("adam", 0.1)):
        x = np.array([3.0, -2.0])
        opt = make_optimizer(name, [x], lr)
        for _ in range(300):
            opt.step([x.copy()])
        assert np.linalg.norm(x) < 1e-2, name
