"""The digit explorer driven in plain pytest: set a control, the picture changes, bad options
are refused, nothing escapes."""

from __future__ import annotations

import numpy as np
import pytest

from bpcourse import widgets
from bpcourse.data import load_digits
from bpcourse.dynamics import digits as cnn
from bpcourse.widgets import digit_explorer

PNG = b"\x89PNG\r\n\x1a\n"

# A module fixture is shared (and, for an explorer, changed step by step) by the tests
# below: one worker runs them all, in order.
pytestmark = pytest.mark.xdist_group("vision-explorer")


@pytest.fixture(scope="module")
def explorer() -> widgets.Explorer:
    X, y = load_digits()
    model = cnn.DigitCNN.init(seed=0)
    return digit_explorer(model, X[:20], y[:20], index=3)


def _png(e: widgets.Explorer) -> bytes:
    return bytes(e.image.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("digit", 7), ("blank patch", True), ("patch row", 2), ("patch column", 4), ("digit", 0)],
)
def test_each_control_redraws(explorer, name, value) -> None:
    before, count = _png(explorer), explorer.n_updates
    explorer.controls[name].value = value
    assert explorer.n_updates == count + 1
    assert explorer.last_error is None, explorer.message.value
    assert _png(explorer).startswith(PNG) and _png(explorer) != before


def test_controls(explorer) -> None:
    assert explorer.controls["digit"].max == 19
    assert (explorer.controls["patch row"].min, explorer.controls["patch row"].max) == (0, 6)
    assert widgets.digit_explorer is digit_explorer  # the face re-exports it


def test_the_patch_moves_only_when_blanking() -> None:
    X, y = load_digits()
    e = digit_explorer(cnn.DigitCNN.init(seed=0), X[:5], y[:5])
    plain = _png(e)
    e.controls["patch row"].value = 0  # not blanking: the same picture
    assert _png(e) == plain and e.last_error is None
    e.controls["blank patch"].value = True
    assert _png(e) != plain


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"model": "net"}, TypeError, "model:"),
        ({"index": 50}, ValueError, "index:"),
        ({"y": np.zeros(20)}, ValueError, "y:"),
        ({"X": np.zeros((20, 1, 7, 7))}, ValueError, "X:"),
    ],
)
def test_bad_options_raise(kwargs, error, fragment) -> None:
    X, y = load_digits()
    args = {"model": cnn.DigitCNN.init(seed=0), "X": X[:20], "y": y[:20]}
    args.update(kwargs)
    with pytest.raises(error) as info:
        digit_explorer(**args)
    assert fragment in str(info.value)


def test_with_no_network_it_trains_one_and_shows_the_held_out_digits() -> None:
    X, _ = load_digits()
    e = digit_explorer()
    held_out = round(len(X) * widgets.DIGIT_DEFAULTS["val_fraction"])
    assert abs(e.controls["digit"].max + 1 - held_out) <= 1
    assert e.last_error is None and _png(e).startswith(PNG)
    model, X_va, y_va = widgets._default_digits()
    accuracy = np.mean(model.predict(X_va) == y_va)
    assert accuracy > 0.9, accuracy  # trained, not a random network (10 %)
    # a given network over the default digits
    e = digit_explorer(cnn.DigitCNN.init(seed=0), index=2)
    assert e.controls["digit"].value == 2 and e.last_error is None


@pytest.mark.parametrize(("given", "missing"), [({"X": "images"}, "y:"), ({"y": "labels"}, "X:")])
def test_images_and_labels_come_together(given, missing) -> None:
    X, y = load_digits()
    args = {"X": X[:5]} if "X" in given else {"y": y[:5]}
    with pytest.raises(ValueError) as info:
        digit_explorer(cnn.DigitCNN.init(seed=0), **args)
    assert str(info.value).startswith(missing)
