"""The benchmark scripts compute what they claim to time (their timings are not tested).

A benchmark that times the wrong work gives a wrong ratio silently, so the workloads are
checked here: the engine's MLP graph has the size the report gives and its loss, the phases of
``--split`` are all measured, the plain numpy step of ``bench_mlp`` is a real training step's
arithmetic (its loss matches the formula it claims for both losses) and its tanh passes are a
step's activation work.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:  # as when run as a script: one may import another
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_engine() -> ModuleType:
    return _load("bench_engine")


@pytest.fixture(scope="module")
def bench_mlp() -> ModuleType:
    return _load("bench_mlp")


def test_engine_workloads_build_the_graphs_the_report_names(bench_engine: ModuleType) -> None:
    from bpcourse.engine import Value, topological_order

    built = bench_engine.make_mlp_workload(Value, backward=False)()
    assert bench_engine.count_nodes(built) == 6626
    assert all(node.grad == 0.0 for node in topological_order(built)[:-1])
    trained = bench_engine.make_mlp_workload(Value)()
    assert trained.data == built.data and trained.grad == 1.0
    chain = bench_engine.make_chain_workload(Value, length=100)()
    assert bench_engine.count_nodes(chain) == 401
    assert chain.data == pytest.approx(0.5 * 1.0001**100 + 0.001 * (1.0001**100 - 1) / 0.0001)


def test_engine_split_times_every_phase(bench_engine: ModuleType, capsys) -> None:
    phases = bench_engine.split_mlp(repeats=1)
    assert {"bpcourse build", "bpcourse backward", "bpcourse order"} <= set(phases)
    assert all(t > 0 for t in phases.values())
    assert "split (mlp, gc on, fastest)" in capsys.readouterr().out


@pytest.mark.parametrize("index", range(4))
def test_plain_numpy_is_a_training_step(bench_mlp: ModuleType, index: int) -> None:
    case = bench_mlp.CASES[index]
    X, y = bench_mlp.make_batch(case)
    step = bench_mlp.plain_numpy_step(case, X, y)
    value = step()
    assert math.isfinite(value) and value > 0
    assert step() == value  # same work, same numbers, every call
    # The same weights drawn again: the loss it computes is the loss of that network.
    rng = np.random.default_rng(1)
    sizes = case.layer_sizes
    Ws = [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in itertools.pairwise(sizes)]
    bs = [rng.standard_normal(n) for n in sizes[1:]]
    A = X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        A = A @ W + b
        if l < len(sizes) - 2:
            A = np.tanh(A)
    if case.loss == "mse":
        want = float(np.mean((A - y) ** 2))
    else:
        shifted = A - A.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        want = float(-log_p[np.arange(len(y)), y].mean())
    assert value == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("index", range(4))
def test_tanh_passes_are_the_activation_work_of_a_step(bench_mlp: ModuleType, index: int) -> None:
    """The activation contender computes delta = D * (1 - tanh(Z)²) for every hidden layer of
    the case's shape, and the same numbers at every call (nothing drifts, e.g. into subnormal
    numbers that would time slower than a real step's)."""
    case = bench_mlp.CASES[index]
    step = bench_mlp.activation_step(case)
    first = [d.copy() for d in step()]
    assert [d.shape for d in first] == [(n, case.batch) for n in case.layer_sizes[1:-1]]
    for _ in range(3):
        assert all(np.array_equal(a, b) for a, b in zip(step(), first))
    # The same draws again: Z (pre-activations) and D (incoming gradients) per layer.
    rng = np.random.default_rng(2)
    widths = case.layer_sizes[1:-1]
    D = [rng.standard_normal((n, case.batch)) for n in widths]
    Z = [rng.standard_normal((n, case.batch)) for n in widths]
    for got, z, d in zip(first, Z, D):
        np.testing.assert_allclose(got, d * (1.0 - np.tanh(z) ** 2), rtol=1e-14, atol=1e-300)
    with pytest.raises(ValueError, match="tanh only"):
        bench_mlp.activation_step(bench_mlp.Case("relu", [2, 3, 1], 4, "mse", "relu"))


def test_race_reports_every_contender(bench_mlp: ModuleType) -> None:
    case = bench_mlp.CASES[2]
    X, y = bench_mlp.make_batch(case)
    steps = {
        "GEMM floor": bench_mlp.gemm_floor_step(case),
        "plain numpy": bench_mlp.plain_numpy_step(case, X, y),
        "bpcourse": bench_mlp.bpcourse_step(case, X, y),
    }
    timings = bench_mlp.race(steps, rounds=2, sample_seconds=0.0005, gap_seconds=0.0)
    assert set(timings) == set(steps)
    assert all(0 < t.best <= t.median for t in timings.values())


def test_equivalence_cases_are_right_answers() -> None:
    """Every answer the equivalence benchmark times is right: it passes the exercises' check
    and the lesson helper shows a zero difference (the benchmark times acceptance)."""
    import bpcourse.grading as G
    from bpcourse.symbolic import simplify_difference

    bench = _load("bench_equivalence")
    assert len(bench.CASES) >= 5
    for case in bench.CASES:
        G.check_sympy(case.answer, case.expected, case.label, substitutions=case.substitutions)
        got, want = case.in_inputs()
        assert got != want, f"{case.label}: the answer is not written in another form"
        assert simplify_difference(got, want) == 0, case.label


def test_thread_benchmark_times_both_counts_and_stops_its_busy_processes() -> None:
    bench = _load("bench_threads")
    _, history = bench.char_model_workload(steps=3)()
    assert len(history.loss) == 3  # the lesson's training, the steps asked for
    with bench.busy_cores(2) as procs:
        assert all(p.poll() is None for p in procs)  # running, each on a core
    assert all(p.poll() is not None for p in procs)  # and stopped afterwards
    results = bench.run([0, 1], repeats=1, steps=2, threads=2)
    assert set(results) == {(w, b) for w in ("char model", "MLP 784") for b in (0, 1)}
    assert all(set(times) == {1, 2} and min(times.values()) > 0 for times in results.values())
    with pytest.raises(Exception, match="--busy: expected numbers of busy processes"):
        bench._busy_counts("one,two")
