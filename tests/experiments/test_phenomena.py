"""Published phenomena the lessons rely on, reproduced on seeded data as orders of magnitude.

- Nielsen, *Neural Networks and Deep Learning*, ch. 5: in a 784-30-30-30-30-10 sigmoid
  network with N(0, 1/n_in) weights and N(0, 1) biases the first hidden layer's error signal
  is about 100x smaller than the last's (his ||delta|| = 0.003, 0.017, 0.070, 0.285).
- Glorot & Bengio (2010), He et al. (2015): at depth 20, sigmoid with Xavier weights has a
  last/first gradient ratio of 1e8 or more; ReLU with He weights keeps it within ~10.
- Gradient descent on a quadratic with curvature c converges for lr < 2/c, diverges above.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpcourse.dynamics import (
    layer_gradient_norms,
    quadratic_descent,
    quadratic_descent_2d,
    train,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nielsen_four_hidden_sigmoid_layers_about_100x(seed: int) -> None:
    """His setup: 784 pixel-like inputs, sigmoid everywhere, quadratic cost, 1000 examples."""
    norms = layer_gradient_norms(
        4,
        30,
        "sigmoid",
        "lecun",
        seed,
        n_in=784,
        n_out=10,
        n_samples=1000,
        inputs="uniform",
        bias_init="normal",
        output_activation="sigmoid",
    )
    ratio = norms[-1] / norms[0]
    assert 10**1.5 < ratio < 10**2.7, f"last/first = {ratio:.3g}, Nielsen's is ~95"
    steps = norms[1:] / norms[:-1]
    assert np.all((steps > 2) & (steps < 10)), f"layer-to-layer ratios {steps}"  # his: 4-6


def test_nielsen_ratio_holds_with_a_small_input_layer() -> None:
    norms = layer_gradient_norms(
        4, 30, "sigmoid", "lecun", n_samples=1000, bias_init="normal", output_activation="sigmoid"
    )
    assert 10**1.5 < norms[-1] / norms[0] < 10**2.7


def test_depth_20_sigmoid_xavier_vanishes() -> None:
    norms = layer_gradient_norms(20, 30, "sigmoid", "xavier", seed=0)
    assert norms[-1] / norms[0] >= 1e8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_depth_20_relu_he_keeps_its_scale(seed: int) -> None:
    norms = layer_gradient_norms(20, 30, "relu", "he", seed=seed)
    assert 0.1 <= norms[-1] / norms[0] <= 10


def test_depth_20_relu_with_unit_variance_weights_explodes() -> None:
    """N(0, 1) weights multiply the error by ~sqrt(30/2) per layer on its way back."""
    norms = layer_gradient_norms(20, 30, "relu", "normal", seed=0)
    assert norms[0] / norms[-1] >= 1e8


def test_vanishing_gradients_freeze_the_first_layer_in_training() -> None:
    sizes = (2, *[30] * 20, 2)
    sig = train("moons", lr=0.5, num_epochs=20, layer_sizes=sizes, activation="sigmoid")
    relu = train("moons", lr=0.5, num_epochs=20, layer_sizes=sizes, activation="relu", init="he")
    assert sig.weight_change[-1, 0] < 1e-6 * sig.weight_change[-1, -1]
    assert relu.weight_change[-1, 0] > 1e-2 * relu.weight_change[-1, -1]


@pytest.mark.parametrize("curvature", [0.5, 1.0, 4.0, 100.0])
def test_learning_rate_threshold_two_over_curvature(curvature: float) -> None:
    below = quadratic_descent(curvature, 0.95 * 2 / curvature, steps=200)
    above = quadratic_descent(curvature, 1.05 * 2 / curvature, steps=200)
    assert abs(below[-1]) < 1e-2 * abs(below[0])
    assert abs(above[-1]) > 1e2 * abs(above[0])


def test_ill_conditioned_bowl_limited_by_largest_curvature() -> None:
    c = (1.0, 50.0)
    assert np.linalg.norm(quadratic_descent_2d(c, 0.95 * 2 / 50, steps=400)[-1]) < 1e-3
    assert abs(quadratic_descent_2d(c, 1.05 * 2 / 50, steps=400)[-1, 1]) > 1e3


def test_too_large_learning_rate_diverges_a_network_cleanly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slow = train("sine", lr=0.001, num_epochs=100)
        good = train("sine", lr=0.3, num_epochs=100)
        diverging = train("sine", lr=3.0, num_epochs=100)
    assert not slow.diverged and not good.diverged and diverging.diverged
    assert good.train_loss[-1] < 0.5 * slow.train_loss[-1]
