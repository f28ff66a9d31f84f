r"""Real data shipped with the package (lesson 07): handwritten digits and first names.

- :func:`load_digits`: the 1,797 UCI optdigits images, 8 × 8 pixels with counts 0..16, and
  their labels 0..9 (Alpaydin and Kaynak, 1998; CC BY 4.0).
- :func:`load_names`: 5,163 first names of the 1990 US Census, lower case a..z (via the PyPI
  package ``names``, MIT).
- :class:`CharVocab` turns text into integer ids and back; :func:`names_to_sequences` makes
  the (inputs, targets) arrays of next-character prediction from a list of names.

Nothing is downloaded: the files are in ``bpcourse/datasets/`` with their attribution in
``bpcourse/datasets/ATTRIBUTION.md``.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from bpcourse._validate import check_positive_int, describe

__all__ = [
    "DIGITS_SHAPE",
    "CharVocab",
    "load_digits",
    "load_names",
    "names_to_sequences",
]

#: Height and width of one digit image.
DIGITS_SHAPE = (8, 8)


def load_digits(scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: 1,797 images of 8 × 8 pixels and their labels.

    Args:
        scale: divide the pixel counts (0..16) by 16 so that pixels are in [0, 1].

    Returns:
        ``(X, y)``: ``X`` of shape (1797, 1, 8, 8), float64, one channel per image (the layout
        of :func:`bpcourse.nn.conv2d_forward`), and ``y`` of shape (1797,), int64 labels 0..9.

    Example:
        >>> X, y = load_digits()
        >>> X.shape, float(X.max()), np.bincount(y).tolist()[:3]
        ((1797, 1, 8, 8), 1.0, [178, 182, 177])
    """
    if not isinstance(scale, bool):
        raise TypeError(f"scale: expected True or False, got {describe(scale)}")
    raw = resources.files("bpcourse").joinpath("datasets/digits.csv.gz").read_bytes()
    table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",")
    if table.shape != (1797, 65):
        raise ValueError(f"digits.csv.gz: expected 1797 rows of 65 numbers, got {table.shape}")
    X = table[:, :64].reshape(-1, 1, *DIGITS_SHAPE)
    if scale:
        X = X / 16.0
    return np.ascontiguousarray(X), table[:, 64].astype(np.int64)


def load_names() -> list[str]:
    """5,163 distinct first names of the 1990 US Census, lower case, sorted alphabetically.

    Example:
        >>> names = load_names()
        >>> len(names), names[:3]
        (5163, ['aaron', 'abbey', 'abbie'])
    """
    text = resources.files("bpcourse").joinpath("datasets/names.txt").read_text(encoding="ascii")
    return [line for line in text.splitlines() if line]


@dataclass(frozen=True)
class CharVocab:
    """Characters and their integer ids; id 0 is the boundary mark ``"."`` (start and end).

    Attributes:
        chars: the characters in id order, ``chars[0] == "."``.
    """

    chars: tuple[str, ...]

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> CharVocab:
        """The vocabulary of every character in ``texts``, sorted, after the boundary mark."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"texts: expected a list of strings, got {describe(texts)}")
        found = sorted(set("".join(texts)))
        if "." in found:
            raise ValueError("texts: expected no '.', which marks the start and end of a text")
        return cls(tuple([".", *found]))

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of ``text`` as an int64 array."""
        if not isinstance(text, str):
            raise TypeError(f"text: expected a string, got {describe(text)}")
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text: expected characters of the vocabulary, got {unknown}")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids: Any) -> str:
        """The text of a sequence of ids."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"ids: expected a 1-D integer array, got {describe(ids)}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.size):
            raise ValueError(f"ids: expected ids in 0..{self.size - 1}, got {arr.tolist()}")
        return "".join(self.chars[i] for i in arr)


def names_to_sequences(
    names: Sequence[str], vocab: CharVocab, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Next-character training pairs from names, as a stream cut into windows of ``length``.

    The names are joined into one stream ``".emma.olivia.ava. ..."`` (the mark ``"."`` ends
    every name, so the model learns where names stop and start), and the stream is cut into
    non-overlapping windows: the inputs are ``length`` characters and the targets the same
    characters shifted one step ahead. A short final window is dropped.

    Returns:
        ``(X, Y)``, both int64 of shape (n_windows, length), ``Y[:, t] == X[:, t + 1]``.
    """
    length = check_positive_int("length", length)
    if isinstance(names, str) or not names:
        raise TypeError(f"names: expected a non-empty list of strings, got {describe(names)}")
    stream = vocab.encode("." + ".".join(names) + ".")
    n = (stream.size - 1) // length
    if n == 0:
        raise ValueError(
            f"length: expected at most {stream.size - 1} (the length of the stream), got {length}"
        )
    X = stream[: n * length].reshape(n, length)
    Y = stream[1 : n * length + 1].reshape(n, length)
    return X, Y
