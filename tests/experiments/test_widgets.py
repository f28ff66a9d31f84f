"""The explorers driven in plain pytest: set a control, the picture changes, nothing escapes."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets
import pytest

from bpcourse.widgets import Explorer, gradient_flow_explorer, learning_rate_explorer

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def strict_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# A module fixture is shared (and, for an explorer, changed step by step) by the tests
# below: one worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("widgets-explorers")


@pytest.fixture(scope="module")
def flow() -> Explorer:
    return gradient_flow_explorer(depth=4)


@pytest.fixture(scope="module")
def rate() -> Explorer:
    return learning_rate_explorer(num_epochs=40)


def _png(explorer: Explorer) -> bytes:
    return bytes(explorer.image.value)  # ipywidgets keeps image data as a memoryview


def _change(explorer: Explorer, name: str, value: Any) -> bytes:
    before, count = _png(explorer), explorer.n_updates
    explorer.controls[name].value = value
    assert explorer.n_updates == count + 1, f"setting {name!r} did not trigger an update"
    assert explorer.last_error is None, explorer.message.value
    assert explorer.message.value == ""
    assert _png(explorer).startswith(PNG)
    assert _png(explorer) != before, f"setting {name!r} left the picture unchanged"
    return _png(explorer)


def test_gradient_flow_controls_and_first_picture(flow: Explorer) -> None:
    assert isinstance(flow, widgets.VBox)
    for name in ("depth", "learning rate", "activation", "init", "width", "clip", "clip threshold"):
        assert flow.controls[name].description == name
    assert isinstance(flow.controls["depth"], widgets.IntSlider)
    assert (flow.controls["depth"].min, flow.controls["depth"].max) == (1, 50)
    assert isinstance(flow.controls["learning rate"], widgets.FloatLogSlider)
    assert isinstance(flow.controls["clip"], widgets.Checkbox)
    assert set(flow.controls["activation"].options) == {"sigmoid", "tanh", "relu"}
    assert set(flow.controls["init"].options) == {"normal", "xavier", "he"}
    for name in ("depth", "width", "learning rate", "clip threshold"):
        assert flow.controls[name].continuous_update is False
    assert _png(flow).startswith(PNG) and flow.last_error is None
    assert isinstance(flow.progress, widgets.IntProgress)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("depth", 30),
        ("activation", "relu"),
        ("init", "he"),
        ("width", 20),
        ("learning rate", 1.0),
        ("init", "normal"),
        ("clip", True),
        ("clip threshold", 0.05),
        ("depth", 1),
        ("depth", 50),
        ("activation", "tanh"),
    ],
)
def test_gradient_flow_each_control_redraws(
    flow: Explorer, strict_warnings: None, name: str, value: Any
) -> None:
    _change(flow, name, value)


def test_learning_rate_controls(rate: Explorer) -> None:
    assert rate.controls["learning rate"].description == "learning rate"
    assert isinstance(rate.controls["learning rate"], widgets.FloatLogSlider)
    assert rate.controls["optimizer"].description == "optimizer"
    assert [label for label, _ in rate.controls["optimizer"].options] == [
        "SGD",
        "momentum",
        "Adam",
    ]
    assert isinstance(rate.controls["epochs"], widgets.IntSlider)
    assert rate.controls["epochs"].description == "epochs"
    assert _png(rate).startswith(PNG)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("learning rate", 0.001),
        ("learning rate", 0.7),
        ("learning rate", 20.0),  # diverges: drawn as an event, no warning, no error
        ("optimizer", "momentum"),
        ("optimizer", "adam"),
        ("epochs", 60),
        ("data set", "iris"),
        ("learning rate", 0.3),
    ],
)
def test_learning_rate_each_control_redraws(
    rate: Explorer, strict_warnings: None, name: str, value: Any
) -> None:
    _change(rate, name, value)


def test_progress_bar_reaches_the_end(rate: Explorer) -> None:
    rate.controls["epochs"].value = 120
    assert rate.progress.max == 120 and rate.progress.value == 120
    assert rate.progress.layout.display == "none"


def test_an_error_in_an_update_is_shown_not_swallowed() -> None:
    calls: list[int] = []

    def render(values: dict[str, Any], progress: Any) -> bytes:
        calls.append(values["n"])
        if values["n"] == 3:
            raise ValueError("n: three is not allowed")
        return PNG + bytes([values["n"]])

    explorer = Explorer({"n": widgets.IntSlider(value=1, description="n")}, render, [["n"]])
    explorer.controls["n"].value = 3
    assert isinstance(explorer.last_error, ValueError)
    assert (
        "ValueError" in explorer.message.value and "three is not allowed" in explorer.message.value
    )
    assert _png(explorer) == PNG + bytes([1])  # the previous picture stays
    explorer.controls["n"].value = 2
    assert explorer.last_error is None and explorer.message.value == ""
    assert calls == [1, 3, 2]


@pytest.mark.parametrize(
    ("factory", "kwargs", "exc", "needle"),
    [
        (gradient_flow_explorer, {"depth": 0}, ValueError, "depth"),
        (gradient_flow_explorer, {"depth": 60}, ValueError, "max_depth"),
        (gradient_flow_explorer, {"activation": "softplus"}, ValueError, "activation"),
        (gradient_flow_explorer, {"init": "orthogonal"}, ValueError, "init"),
        (gradient_flow_explorer, {"lr": -1.0}, ValueError, "lr"),
        (gradient_flow_explorer, {"clip": "yes"}, TypeError, "clip"),
        (gradient_flow_explorer, {"colour": "red"}, TypeError, "colour"),
        (learning_rate_explorer, {"optimizer": "rmsprop"}, ValueError, "optimizer"),
        (learning_rate_explorer, {"dataset": "mnist"}, ValueError, "dataset"),
        (learning_rate_explorer, {"num_epochs": 0}, ValueError, "num_epochs"),
    ],
)
def test_bad_options_raise_named_errors(
    factory: Any, kwargs: dict[str, Any], exc: type[Exception], needle: str
) -> None:
    with pytest.raises(exc, match=needle):
        factory(**kwargs)


def test_deep_update_is_interactive() -> None:
    """A loose guard (the benchmark measures properly): depth 50 redraws in under 2 s."""
    explorer = gradient_flow_explorer(depth=49, seed=5)
    start = time.perf_counter()
    explorer.controls["depth"].value = 50
    assert time.perf_counter() - start < 2.0


def _explorer_names() -> list[str]:
    from bpcourse import widgets

    return sorted(n for n in dir(widgets) if n.endswith("_explorer") and not n.startswith("_"))


@pytest.mark.parametrize("name", _explorer_names())
def test_every_explorer_opens_with_no_arguments_and_is_exported(name) -> None:
    """The contract: each ``*_explorer`` takes only optional arguments, draws its first
    figure without an error, and ``from bpcourse.widgets import *`` brings it in."""
    import inspect

    from bpcourse import widgets

    func = getattr(widgets, name)
    required = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not required, f"{name} requires {required}"
    explorer = func()
    assert isinstance(explorer, Explorer)
    assert explorer.last_error is None, explorer.message.value
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert name in widgets.__all__
