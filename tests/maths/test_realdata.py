"""The shipped digits and names: sizes, values, attribution, vocabulary and training pairs."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from bpcourse import data
from bpcourse.data import CharVocab, load_digits, load_names, names_to_sequences


def test_digits() -> None:
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    raw, _ = load_digits(scale=False)
    np.testing.assert_array_equal(raw, 16 * X)
    assert set(np.unique(raw)) <= set(range(17))
    with pytest.raises(TypeError, match="scale:"):
        load_digits(scale=1)
    assert data.load_digits is load_digits  # the face re-exports it


def test_names() -> None:
    names = load_names()
    assert len(names) == len(set(names)) == 5163 and names == sorted(names)
    assert {"mary", "james", "emma"} <= set(names)
    assert all(n.isalpha() and n.islower() for n in names)


def test_attribution_is_shipped() -> None:
    text = resources.files("bpcourse").joinpath("datasets/ATTRIBUTION.md").read_text()
    for fragment in ("CC BY 4.0", "Alpaydin", "Census", "MIT License", "Trey Hunner"):
        assert fragment in text


def test_vocab_round_trip_and_errors() -> None:
    vocab = CharVocab.from_texts(["bob", "ada"])
    assert vocab.chars == (".", "a", "b", "d", "o") and vocab.size == 5
    ids = vocab.encode("ab.ad")
    assert ids.tolist() == [1, 2, 0, 1, 3] and vocab.decode(ids) == "ab.ad"
    with pytest.raises(ValueError, match="text: expected characters"):
        vocab.encode("z")
    with pytest.raises(ValueError, match="ids: expected ids"):
        vocab.decode(np.array([7]))
    with pytest.raises(ValueError, match=r"texts: expected no '\.'"):
        CharVocab.from_texts(["a.b"])
    with pytest.raises(TypeError, match="texts:"):
        CharVocab.from_texts("abc")


def test_names_to_sequences_shifts_by_one() -> None:
    vocab = CharVocab.from_texts(["bob", "ada"])
    X, Y = names_to_sequences(["bob", "ada"], vocab, 3)
    assert vocab.decode(X.ravel()) == ".bob.ada"[:6]
    np.testing.assert_array_equal(X[:, 1:], Y[:, :-1])
    np.testing.assert_array_equal(X.ravel()[1:], Y.ravel()[:-1])
    with pytest.raises(ValueError, match="length:"):
        names_to_sequences(["bob"], vocab, 50)
    with pytest.raises(TypeError, match="names:"):
        names_to_sequences("bob", vocab, 2)
