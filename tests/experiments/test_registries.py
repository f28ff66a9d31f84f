"""Adding an activation or an initialisation is one registry entry: it then works everywhere.

A hard tanh (flat outside [-1, 1], kinks at -1 and 1) is registered the supported way, with
:func:`bpcourse.nn.register_activation`, and shows up in the MLP, in SymPy, in the gradient-flow
experiments, in the gradient check's kink handling and in the explorers' menus; a new
initialisation likewise reaches the MLP, the gradient-scale prediction and the menus.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import sympy

from bpcourse import data, dynamics, gradcheck, nn, optim, symbolic, widgets
from bpcourse.dynamics import gradient_flow

NAME = "hard_tanh_for_test"


def _hard_tanh(Z: np.ndarray) -> np.ndarray:
    return np.where(Z.real > 1, 1.0, np.where(Z.real < -1, -1.0, Z))


def _hard_tanh_sympy(z: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((-1, z < -1), (z, z < 1), (1, True))


def _clear_caches() -> None:
    gradient_flow._probe_norms.cache_clear()
    gradient_flow._probe_statistics.cache_clear()
    gradient_flow._gradient_flow_cached.cache_clear()


@pytest.fixture
def hard_tanh() -> Iterator[nn.Activation]:
    act = nn.register_activation(
        nn.Activation(
            NAME,
            _hard_tanh,
            lambda Z, A: np.where(np.abs(Z.real) < 1, 1.0, 0.0),
            kinks=(-1.0, 1.0),
            saturation=(lambda Z, A: np.abs(Z) >= 1, "|z| >= 1 (flat)"),
            slope=(1.0, "upper bound", "slope ≤ 1"),
            sympy_f=_hard_tanh_sympy,
            formula=r"\max(-1, \min(1, z))",
            in_explorers=True,
        )
    )
    _clear_caches()
    try:
        yield act
    finally:
        del nn.ACTIVATIONS[NAME]
        _clear_caches()


def _problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 0.5 * rng.standard_normal((5, 3)), rng.standard_normal((5, 2))


def test_registration_rejects_a_duplicate_and_a_non_entry(hard_tanh: nn.Activation) -> None:
    with pytest.raises(ValueError, match=rf"activation.name: expected a name not yet .*{NAME}"):
        nn.register_activation(hard_tanh)
    with pytest.raises(TypeError, match="activation: expected an Activation, got"):
        nn.register_activation("tanh")  # type: ignore[arg-type]


def test_the_mlp_uses_it_and_its_gradients_check(hard_tanh: nn.Activation) -> None:
    net = nn.MLP([3, 4, 2], activation=NAME, seed=0)
    X, y = _problem()
    loss, dweights, _ = net.loss_and_gradients(X, y)
    trace = net.backprop(X, y)
    assert loss == pytest.approx(trace.loss, rel=1e-14)
    np.testing.assert_allclose(dweights[0], trace.dweights[0], rtol=1e-12)
    assert gradcheck.check_model_gradients(net, X, y).ok()


def test_symbolic_has_it(hard_tanh: nn.Activation) -> None:
    assert NAME in symbolic.ACTIVATIONS
    z = sympy.Symbol("z")
    assert symbolic.activate(NAME, sympy.Rational(1, 2)) == sympy.Rational(1, 2)
    assert symbolic.activate(NAME, 3) == 1
    assert symbolic.ACTIVATIONS[NAME](z) == _hard_tanh_sympy(z)
    net = nn.MLP([2, 2, 1], activation=NAME, seed=1)
    X = np.array([[0.3, -0.2], [0.1, 0.4]])
    y = np.array([[0.5], [-0.5]])
    assert symbolic.compare_with_mlp(net, X, y) < 1e-12


def test_the_experiments_have_its_saturation_and_slope(hard_tanh: nn.Activation) -> None:
    assert dynamics.SATURATION_RULES[NAME][1] == "|z| >= 1 (flat)"
    stats = dynamics.layer_statistics(3, width=8, activation=NAME, init="normal")
    assert stats.saturation_rule == "|z| >= 1 (flat)"
    assert stats.saturation.shape == (3,) and np.all(stats.saturation > 0)
    prediction = dynamics.theoretical_gradient_scale(4, NAME, "xavier", 8)
    assert prediction is not None and prediction.kind == "upper bound"
    assert prediction.factor == pytest.approx(1.0)


def test_the_gradient_check_knows_its_kinks(hard_tanh: nn.Activation) -> None:
    assert NAME in gradcheck.KINK_ACTIVATIONS
    net = nn.MLP([1, 1, 1], activation=NAME, seed=0)
    net.weights[0][...] = 1.0
    net.biases[0][...] = 1e-7  # the hidden unit sits just right of the kink at z = 1
    X, y = np.array([[1.0]]), np.array([[0.3]])
    with pytest.warns(gradcheck.KinkWarning):
        result = gradcheck.check_model_gradients(net, X, y, method="central")
    assert result.skipped["W1"] == 1 and result.skipped["b1"] == 1
    assert result.kink_units == {1: 1}


def test_the_explorers_offer_it(hard_tanh: nn.Activation) -> None:
    explorer = widgets.gradient_flow_explorer(depth=2, num_epochs=2, n_samples=8)
    assert NAME in explorer.controls["activation"].options
    explorer.controls["activation"].value = NAME
    assert explorer.last_error is None, explorer.last_error
    lr_explorer = widgets.learning_rate_explorer(activation=NAME, num_epochs=10)
    assert lr_explorer.last_error is None


def test_a_registered_init_reaches_the_mlp_the_prediction_and_the_menus() -> None:
    tiny = nn.register_init(nn.Init("tiny_for_test", lambda n_in, n_out: 0.25 / n_in, "test", True))
    try:
        net = nn.MLP([4, 3, 1], init="tiny_for_test", seed=0)
        rng = np.random.default_rng(0)
        np.testing.assert_array_equal(net.weights[0], 0.25 * rng.standard_normal((4, 3)))
        prediction = dynamics.theoretical_gradient_scale(3, "tanh", "tiny_for_test", 16)
        assert prediction is not None and prediction.factor == pytest.approx(0.5)
        assert "tiny_for_test" in nn.explorer_inits()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            explorer = widgets.gradient_flow_explorer(depth=2, num_epochs=2, n_samples=8)
        assert "tiny_for_test" in explorer.controls["init"].options
    finally:
        del nn.INITS[tiny.name]
        _clear_caches()


def test_the_menus_are_the_registries() -> None:
    explorer = widgets.gradient_flow_explorer(depth=2, num_epochs=2, n_samples=8)
    assert list(explorer.controls["activation"].options) == nn.explorer_activations()
    assert list(explorer.controls["init"].options) == nn.explorer_inits()
    lr_explorer = widgets.learning_rate_explorer(num_epochs=10)
    assert [v for _, v in lr_explorer.controls["optimizer"].options] == list(optim.OPTIMIZERS)
    assert list(lr_explorer.controls["data set"].options) == list(data.DATASETS)
