"""bpcourse.dynamics.backprop_memory counts what nn.MLP.backprop really keeps (lesson 06)."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import nn
from bpcourse.dynamics import backprop_memory


@pytest.mark.parametrize(
    ("sizes", "batch"), [((784, 100, 10), 64), ((3, 5, 5, 5, 2), 7), ((2, 1), 1)]
)
def test_counts_match_the_arrays_of_a_real_backward_pass(sizes, batch) -> None:
    model = nn.MLP(list(sizes), seed=0)
    rng = np.random.default_rng(0)
    trace = model.backprop(rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1])))
    memory = backprop_memory(sizes, batch)
    assert memory.stored_for_backward == sum(a.size for a in trace.A) + sum(z.size for z in trace.Z)
    assert memory.parameters == sum(p.size for p in model.parameters())
    # inference: the largest pair of consecutive activations alive at one time
    assert memory.inference == max(a.size + b.size for a, b in zip(trace.A, trace.A[1:]))


def test_grows_with_depth_times_batch_while_inference_does_not() -> None:
    shallow = backprop_memory((100, *[100] * 2, 10), 32)
    deep = backprop_memory((100, *[100] * 20, 10), 32)
    big_batch = backprop_memory((100, *[100] * 20, 10), 320)
    assert deep.stored_for_backward / shallow.stored_for_backward > 7  # 10x the layers
    assert big_batch.stored_for_backward == 10 * deep.stored_for_backward
    assert deep.inference == shallow.inference  # two layers alive at a time, whatever the depth
    assert backprop_memory((784, 100, 10), 64).megabytes(125_000) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("784, 10", 4), TypeError, "layer_sizes: expected a sequence of positive integers"),
        (((784,), 4), ValueError, "layer_sizes: expected at least 2 sizes"),
        (((784, 0), 4), ValueError, r"layer_sizes\[1\]"),
        (((784, 10), 0), ValueError, "batch_size"),
        (((784, 10), 2.5), TypeError, "batch_size"),
    ],
)
def test_bad_input(args, error, match) -> None:
    with pytest.raises(error, match=match):
        backprop_memory(*args)
