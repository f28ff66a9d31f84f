"""Property tests: backprop in bpcourse.nn agrees with numerical gradients on random networks.

Random architectures (1 to 5 layers of width 1 to 8), every activation in the hidden and the
output layer, both losses, random inputs and targets (strategies in ``tests/strategies.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from bpcourse.gradcheck import KinkWarning, check_model_gradients, relative_error
from bpcourse.nn import ACTIVATIONS, softmax, softmax_cross_entropy

from strategies import ACTIVATION_NAMES, Problem, problems, unit_floats


def resolvable_by_central_differences(problem: Problem) -> bool:
    """Whether every nonzero gradient entry is large enough for central differences.

    With h = 1e-5 the difference quotient carries a rounding error of about
    eps * |L| / h ~ 1e-11 |L| (eps = 2.2e-16). An entry below ~1e-4 |L| (deep narrow networks
    with vanishing gradients, or a sum over the batch that nearly cancels) cannot be confirmed
    to a relative 1e-6 by any finite-difference step; the complex-step test covers it instead.
    Exact zeros (dead ReLU units) are fine: both sides give exactly 0.
    """
    loss, dweights, dbiases = problem.net.loss_and_gradients(problem.X, problem.y, problem.loss)
    entries = np.concatenate([g.ravel() for g in dweights + dbiases])
    nonzero = np.abs(entries[entries != 0])
    return nonzero.size == 0 or bool(nonzero.min() >= 1e-4 * max(abs(loss), 1e-3))


@given(problems())
def test_backprop_agrees_with_complex_step(problem: Problem) -> None:
    result = check_model_gradients(problem.net, problem.X, problem.y, problem.loss)
    assert result.worst <= 1e-10, result.table()


@given(problems())
def test_backprop_agrees_with_central_differences(problem: Problem) -> None:
    assume(resolvable_by_central_differences(problem))
    with warnings.catch_warnings():
        # Entries whose step crosses a ReLU kink are detected, left out and reported.
        warnings.simplefilter("ignore", KinkWarning)
        result = check_model_gradients(
            problem.net, problem.X, problem.y, problem.loss, method="central"
        )
    assert result.ok(1e-6), result.table()
    total = sum(g.size for g in result.analytic.values())
    assert sum(result.skipped.values()) < total  # something was actually compared


@given(problems(max_layers=3))
def test_fast_training_step_equals_reference_backprop(problem: Problem) -> None:
    net, X, y, loss = problem.net, problem.X, problem.y, problem.loss
    X_before = X.copy()
    value, dweights, dbiases = net.loss_and_gradients(X, y, loss)
    trace = net.backprop(X, y, loss)
    np.testing.assert_array_equal(X, X_before)  # the in-place fast path never writes into X
    assert abs(value - trace.loss) <= 1e-13 * max(1.0, abs(trace.loss))
    for fast, reference in zip(dweights + dbiases, trace.dweights + trace.dbiases):
        assert fast.shape == reference.shape
        np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.forward(X), trace.y_hat, rtol=1e-14, atol=0)
    assert net.loss(X, y, loss) == value


@given(problems(max_layers=3))
def test_trace_is_consistent_with_the_layer_formulas(problem: Problem) -> None:
    net, X = problem.net, problem.X
    trace = net.backprop(X, problem.y, problem.loss)
    L = net.n_layers
    assert len(trace.Z) == len(trace.deltas) == len(trace.dweights) == L
    assert len(trace.A) == L + 1
    np.testing.assert_array_equal(trace.A[0], X)
    for l in range(L):
        np.testing.assert_allclose(trace.Z[l], trace.A[l] @ net.weights[l] + net.biases[l])
        np.testing.assert_allclose(trace.dweights[l], trace.A[l].T @ trace.deltas[l])
        np.testing.assert_allclose(trace.dbiases[l], trace.deltas[l].sum(axis=0))
        assert trace.deltas[l].shape == trace.Z[l].shape


@given(
    st.sampled_from(ACTIVATION_NAMES),
    st.lists(unit_floats.map(lambda v: 4 * v), min_size=1, max_size=20),
)
def test_activation_derivative_matches_complex_step(name: str, values: list[float]) -> None:
    # |z| <= 4: for saturated units the rules written with a = f(z), such as 1 - a², keep
    # their absolute accuracy (~1e-16) but lose relative accuracy, ~1e-16 / (1 - |a|).
    Z = np.array(values)
    assume(np.all(np.abs(Z) > 1e-9))  # ReLU kinks: both rules give the same one-sided value
    act = ACTIVATIONS[name]
    h = 1e-20
    by_complex_step = act.f(Z + 1j * h).imag / h
    assert relative_error(act.df(Z, act.f(Z)), by_complex_step) <= 1e-12


@given(
    st.integers(1, 5).flatmap(
        lambda N: st.tuples(
            st.lists(unit_floats.map(lambda v: 1e4 * v), min_size=3 * N, max_size=3 * N),
            st.lists(st.integers(0, 2), min_size=N, max_size=N),
            st.floats(-1e4, 1e4),
        )
    )
)
def test_softmax_and_cross_entropy_are_stable_and_shift_invariant(
    data: tuple[list[float], list[int], float],
) -> None:
    values, labels, shift = data
    logits = np.array(values).reshape(-1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings
        P = softmax(logits)
        loss = softmax_cross_entropy(logits, labels)
        shifted = softmax_cross_entropy(logits + shift, labels)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(P >= 0)
    assert np.isfinite(loss) and loss >= 0
    assert abs(loss - shifted) <= 1e-9 * max(1.0, abs(loss)) + 1e-12 * abs(shift)
