"""Momentum on a quadratic, one eigen-direction at a time (lesson 04): bpcourse.dynamics.mode_rate
and bpcourse.dynamics.optimal_settings, checked against actual runs of the optimizers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpcourse.dynamics import mode_rate, optimal_settings, quadratic_descent_2d


def measured_rate(curvature: float, lr: float, momentum: float, steps: int = 400) -> float:
    """The per-step factor of |x| along one direction, from a run of optim.Momentum."""
    if momentum == 0.0:
        path = quadratic_descent_2d((curvature, curvature), lr, steps=steps, x0=(1.0, 0.0))
    else:
        path = quadratic_descent_2d(
            (curvature, curvature), lr, steps=steps, x0=(1.0, 0.0), optimizer="momentum",
            momentum=momentum,
        )  # fmt: skip
    # the size of the state (x_k, x_{k-1}) over the last 300 steps: an oscillating direction
    # is not shrunk by the same factor every step, only on average
    sizes = np.hypot(path[1:, 0], path[:-1, 0])
    return float((sizes[-1] / sizes[-301]) ** (1 / 300))


@pytest.mark.parametrize(
    ("curvature", "lr", "momentum"),
    [(1.0, 0.038, 0.0), (50.0, 0.038, 0.0), (1.0, 0.05, 0.6), (50.0, 0.05, 0.6),
     (10.0, 0.01, 0.9), (2.0, 0.3, 0.2), (30.0, 0.061, 0.566)],
)  # fmt: skip
def test_rate_matches_a_run_of_the_optimizer(curvature, lr, momentum) -> None:
    predicted = mode_rate(curvature, lr, momentum)
    assert measured_rate(curvature, lr, momentum) == pytest.approx(predicted, rel=4e-3)


def test_without_momentum_it_is_plain_gradient_descent() -> None:
    lam = np.array([0.5, 1.0, 10.0, 50.0])
    np.testing.assert_allclose(mode_rate(lam, 0.038), np.abs(1 - 0.038 * lam))


def test_stable_exactly_below_twice_one_plus_mu() -> None:
    for mu in (0.0, 0.3, 0.9):
        limit = 2 * (1 + mu)
        assert mode_rate(1.0, 0.999 * limit, mu) < 1.0 < mode_rate(1.0, 1.001 * limit, mu)


def test_oscillating_directions_all_shrink_by_sqrt_mu() -> None:
    rates = mode_rate(np.linspace(1.0, 15.0, 7), 0.2, 0.81)  # eta*lambda in (0.01, 3.61)
    np.testing.assert_allclose(rates, 0.9)


@pytest.mark.parametrize("kappa", [2.0, 50.0, 1e4])
def test_optimal_settings_closed_forms_and_speed_up(kappa) -> None:
    gd, hb = optimal_settings(1.0, kappa, "sgd"), optimal_settings(1.0, kappa)
    assert gd.rate == pytest.approx((kappa - 1) / (kappa + 1))
    assert hb.rate == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    assert hb.momentum == pytest.approx(hb.rate**2)
    # every direction in [1, kappa] converges at the promised rate, none slower
    lam = np.geomspace(1.0, kappa, 50)
    assert np.max(mode_rate(lam, gd.lr, 0.0)) == pytest.approx(gd.rate)
    assert np.max(mode_rate(lam, hb.lr, hb.momentum)) == pytest.approx(hb.rate)
    # steps per digit: ~kappa/1.15 for gradient descent, ~sqrt(kappa)/1.15 with momentum
    if kappa >= 50:
        assert gd.steps_per_digit == pytest.approx(math.log(10) * kappa / 2, rel=0.02)
        assert hb.steps_per_digit == pytest.approx(math.log(10) * math.sqrt(kappa) / 2, rel=0.02)


def test_no_other_setting_on_a_grid_beats_the_optimum() -> None:
    lam = np.geomspace(1.0, 50.0, 40)
    best_gd, best_hb = optimal_settings(1.0, 50.0, "sgd"), optimal_settings(1.0, 50.0)
    for lr in np.linspace(0.005, 0.12, 47):
        assert np.max(mode_rate(lam, lr, 0.0)) >= best_gd.rate - 1e-12
        for mu in np.linspace(0.0, 0.95, 20):
            assert np.max(mode_rate(lam, lr, mu)) >= best_hb.rate - 1e-9


def test_on_the_lesson_bowl_momentum_is_seven_times_faster() -> None:
    """Lesson 04: on 1/2 (x1^2 + 50 x2^2) about 58 steps per digit against about 8."""
    gd, hb = optimal_settings(1.0, 50.0, "sgd"), optimal_settings(1.0, 50.0)
    assert round(gd.steps_per_digit) == 58 and round(hb.steps_per_digit) == 8
    plain = quadratic_descent_2d((1.0, 50.0), gd.lr, steps=60)
    heavy = quadratic_descent_2d(
        (1.0, 50.0), hb.lr, steps=60, optimizer="momentum", momentum=hb.momentum
    )
    # 60 steps: about one digit for plain gradient descent, about seven with momentum (the
    # start of the oscillation costs a factor of about a hundred)
    assert 0.05 < np.linalg.norm(plain[-1]) < 0.3
    assert np.linalg.norm(heavy[-1]) < 200 * hb.rate**60 < 1e-5


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mode_rate(0.0, 0.1), "curvature: expected positive numbers"),
        (lambda: mode_rate([1.0, -2.0], 0.1), "curvature"),
        (lambda: mode_rate(1.0, 0.0), "lr: expected a positive number"),
        (lambda: mode_rate(1.0, 0.1, 1.0), r"momentum: expected a number in \[0, 1\)"),
        (lambda: optimal_settings(0.0, 1.0), "lambda_min"),
        (lambda: optimal_settings(2.0, 1.0), "lambda_max: expected a number >= lambda_min"),
        (lambda: optimal_settings(1.0, 2.0, "adam"), "method: expected one of"),
    ],
)
def test_bad_input_names_the_argument(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()
