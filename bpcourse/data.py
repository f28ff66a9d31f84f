r"""Small data sets that need no download, and the helpers to prepare them.

- :func:`make_moons`, :func:`make_spirals`: 2-D classification problems made in code.
- :func:`make_regression_1d`: a noisy sine wave for regression.
- :func:`load_iris`: Fisher's Iris measurements (150 flowers, 4 features, 3 species), a real
  data set shipped inside the package as ``bpcourse/datasets/iris.csv`` (the values as
  distributed with scikit-learn, which follow Fisher's 1936 table).
- :func:`train_val_split` and :func:`standardize` to prepare any of them for training.
- :func:`load_dataset` builds any of them by name, with the task it poses.

Every random choice goes through ``numpy.random.default_rng(seed)``: the same ``seed`` gives the
same arrays. Features are float64 arrays ``X: (N, n_features)``; class labels are integer arrays
``y: (N,)``; regression targets are ``y: (N, 1)``.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_choice,
    check_finite_number,
    check_flag,
    check_nonnegative_number,
    check_pair,
    check_positive_int,
    check_positive_number,
    describe,
    seeded_rng,
)

__all__ = [
    "DATASETS",
    "DIGITS_SHAPE",
    "IRIS_CLASS_NAMES",
    "IRIS_FEATURE_NAMES",
    "CharVocab",
    "Dataset",
    "load_dataset",
    "load_digits",
    "load_iris",
    "load_names",
    "make_moons",
    "make_regression_1d",
    "make_spirals",
    "names_to_sequences",
    "standardize",
    "train_val_split",
]

IRIS_FEATURE_NAMES: tuple[str, ...] = (
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
)
IRIS_CLASS_NAMES: tuple[str, ...] = ("setosa", "versicolor", "virginica")


def _check_seed(seed: Any) -> int:
    return check_positive_int("seed", seed, minimum=0)


# --- data sets made in code -----------------------------------------------------------------


def make_moons(
    n_samples: int = 200, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles, a classic non-linearly separable problem.

    Class 0 lies on the upper half of the unit circle, $(\cos t, \sin t)$, $t \in [0, \pi]$;
    class 1 on a lower half circle shifted right and down, $(1 - \cos t, \tfrac12 - \sin t)$.
    Gaussian noise of standard deviation ``noise`` is added to both coordinates and the
    samples are shuffled.

    Args:
        n_samples: total number of points N (>= 2); class 0 gets ``N // 2`` of them.
        noise: standard deviation of the added noise, >= 0.
        seed: seed of the random generator.

    Returns:
        ``(X, y)`` with ``X: (N, 2)`` float64 and ``y: (N,)`` int labels in {0, 1}.

    Example:
        >>> X, y = make_moons(10, seed=1)
        >>> X.shape, y.shape, sorted(set(y.tolist()))
        ((10, 2), (10,), [0, 1])
    """
    n = check_positive_int("n_samples", n_samples, minimum=2)
    noise = check_nonnegative_number("noise", noise)
    rng = seeded_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    order = rng.permutation(n)
    return X[order], y[order]


def make_spirals(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    turns: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Interleaved spiral arms, one per class: hard for a linear model, easy for a small MLP.

    Point $i$ of arm $k$ (of $K$) has radius $r = i / (n_k - 1)$ and angle
    $\theta = 2\pi\,(\text{turns}\cdot r + k / K) + \varepsilon$ with
    $\varepsilon \sim \mathcal N(0, \text{noise}^2)$, and sits at $r(\cos\theta, \sin\theta)$.

    Args:
        n_samples: total number of points N (at least 2 per class); spread evenly over classes.
        n_classes: number of arms K (>= 2).
        noise: standard deviation of the angle noise in radians, >= 0.
        turns: how many full turns each arm makes, > 0.
        seed: seed of the random generator.

    Returns:
        ``(X, y)`` with ``X: (N, 2)`` float64 and ``y: (N,)`` int labels in {0, ..., K-1}.
    """
    k = check_positive_int("n_classes", n_classes, minimum=2)
    n = check_positive_int("n_samples", n_samples, minimum=2 * k)
    noise = check_nonnegative_number("noise", noise)
    turns = check_positive_number("turns", turns)
    rng = seeded_rng(seed)
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    parts, labels = [], []
    for cls, count in enumerate(counts):
        r = np.linspace(0.0, 1.0, int(count))
        theta = 2.0 * np.pi * (turns * r + cls / k) + noise * rng.standard_normal(int(count))
        parts.append(r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]))
        labels.append(np.full(int(count), cls, dtype=np.int64))
    X, y = np.vstack(parts), np.concatenate(labels)
    order = rng.permutation(n)
    return X[order], y[order]


def make_regression_1d(
    n_samples: int = 100,
    noise: float = 0.1,
    seed: int = 0,
    x_range: tuple[float, float] = (-3.0, 3.0),
) -> tuple[np.ndarray, np.ndarray]:
    r"""A noisy sine wave, $y = \sin x + \varepsilon$ with $\varepsilon \sim \mathcal N(0, s^2)$.

    Args:
        n_samples: number of points N (>= 1), with $x$ drawn uniformly from ``x_range``.
        noise: the standard deviation $s$ of the noise, >= 0.
        seed: seed of the random generator.
        x_range: ``(low, high)`` with low < high.

    Returns:
        ``(X, y)`` with ``X: (N, 1)`` and ``y: (N, 1)``, both float64 (column vectors, so that
        ``y`` is shaped like the output of a network with one output unit).
    """
    n = check_positive_int("n_samples", n_samples)
    noise = check_nonnegative_number("noise", noise)
    low, high = check_pair("x_range", x_range, "(low, high)")
    low = check_finite_number("x_range[0]", low)
    high = check_finite_number("x_range[1]", high)
    if not low < high:
        raise ValueError(f"x_range: expected low < high, got {tuple(x_range)!r}")
    rng = seeded_rng(seed)
    x = rng.uniform(low, high, size=n)
    y = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None], y[:, None]


# --- a real data set shipped with the package ------------------------------------------------


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's Iris data: 150 flowers, 4 measurements in cm, 3 species (50 each).

    The rows are in the order of the file (sorted by species); shuffle with
    :func:`train_val_split` before training. Feature and class names are in
    :data:`IRIS_FEATURE_NAMES` and :data:`IRIS_CLASS_NAMES`.

    Returns:
        ``(X, y)`` with ``X: (150, 4)`` float64 and ``y: (150,)`` int labels 0, 1, 2
        (setosa, versicolor, virginica).

    Example:
        >>> X, y = load_iris()
        >>> X.shape, X.dtype, y.shape, np.bincount(y).tolist()
        ((150, 4), dtype('float64'), (150,), [50, 50, 50])
    """
    text = resources.files("bpcourse").joinpath("datasets/iris.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if len(header) != 5:
        raise ValueError(f"iris.csv: expected 5 columns in the header, got {header!r}")
    features, labels = [], []
    for row in reader:
        if not row:
            continue
        features.append([float(v) for v in row[:4]])
        labels.append(IRIS_CLASS_NAMES.index(row[4]))
    return np.array(features, dtype=np.float64), np.array(labels, dtype=np.int64)


# --- preparing data ---------------------------------------------------------------------------


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X_arr = as_array("X", X, ndim=2)
    y_raw = np.asarray(y)
    if np.issubdtype(y_raw.dtype, np.integer):
        y_arr = y_raw
        if y_arr.ndim not in (1, 2):
            raise ValueError(f"y: expected a 1-D or 2-D array, got shape {y_arr.shape}")
    else:
        y_arr = as_array("y", y, ndim=(1, 2))
    if y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"y: expected {X_arr.shape[0]} rows (one per row of X), got shape {y_arr.shape}"
        )
    return X_arr, y_arr


def train_val_split(
    X: Any,
    y: Any,
    val_fraction: float = 0.25,
    seed: int = 0,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into a training and a validation part.

    Args:
        X: features, ``(N, n_features)``.
        y: targets with N rows: labels ``(N,)`` or values ``(N, k)``.
        val_fraction: share of the rows that go to validation, in (0, 1); the validation part
            gets ``round(val_fraction * N)`` rows, and each part at least one.
        seed: seed of the shuffle.
        stratify: keep the class proportions of integer labels ``y`` in both parts.

    Returns:
        ``(X_train, X_val, y_train, y_val)`` (the order scikit-learn's ``train_test_split`` uses).
    """
    X_arr, y_arr = _check_xy(X, y)
    frac = check_finite_number("val_fraction", val_fraction)
    if not 0.0 < frac < 1.0:
        raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
    n = X_arr.shape[0]
    if n < 2:
        raise ValueError(f"X: expected at least 2 rows to split, got shape {X_arr.shape}")
    rng = seeded_rng(seed)
    if check_flag("stratify", stratify):
        if y_arr.ndim != 1 or not np.issubdtype(y_arr.dtype, np.integer):
            raise ValueError(
                f"y: expected integer class labels of shape (N,) with stratify=True, "
                f"got {describe(y_arr)}"
            )
        val_idx = []
        for cls in np.unique(y_arr):
            members = rng.permutation(np.flatnonzero(y_arr == cls))
            val_idx.append(members[: round(frac * members.size)])
        val = np.concatenate(val_idx)
        if val.size in (0, n):
            raise ValueError(
                f"val_fraction: {val_fraction!r} leaves one part empty for these classes"
            )
        mask = np.zeros(n, dtype=bool)
        mask[val] = True
        train = rng.permutation(np.flatnonzero(~mask))
        val = rng.permutation(val)
    else:
        n_val = min(max(round(frac * n), 1), n - 1)
        order = rng.permutation(n)
        val, train = order[:n_val], order[n_val:]
    return X_arr[train], X_arr[val], y_arr[train], y_arr[val]


def standardize(
    X: Any, mean: Any = None, std: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Scale every feature to mean 0 and standard deviation 1: $(X - \mu) / \sigma$.

    Fit on the training data, then reuse the same $\mu, \sigma$ for validation data so that
    nothing about the validation set leaks into training::

        X_train_s, mu, sigma = standardize(X_train)
        X_val_s, _, _ = standardize(X_val, mu, sigma)

    Args:
        X: features, ``(N, n_features)``.
        mean: $\mu$, ``(n_features,)``; computed from ``X`` when omitted.
        std: $\sigma$, ``(n_features,)``, all > 0; computed from ``X`` when omitted (a constant
            feature gets $\sigma = 1$ so that it is only centred).

    Returns:
        ``(X_standardized, mean, std)``.
    """
    X_arr = as_array("X", X, ndim=2)
    n_features = X_arr.shape[1]
    if (mean is None) != (std is None):
        given = "mean only" if std is None else "std only"
        raise ValueError(
            f"mean, std: expected both (to reuse a fit) or neither (to fit on X), got {given}"
        )
    if mean is None:
        with np.errstate(over="ignore", invalid="ignore"):
            mu = X_arr.mean(axis=0)
            sigma = X_arr.std(axis=0)
        if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            # Sums or squares of huge features overflow: standardize each feature divided by
            # its largest magnitude, and give mu and sigma back in X's units.
            scale = np.abs(X_arr).max(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            scaled = X_arr / scale
            mu_s, sigma_s = scaled.mean(axis=0), scaled.std(axis=0)
            sigma_s = np.where(sigma_s > 0, sigma_s, 1.0 / scale)  # constant: sigma = 1
            return (scaled - mu_s) / sigma_s, mu_s * scale, sigma_s * scale
        sigma = np.where(sigma > 0, sigma, 1.0)
    else:
        mu = as_array("mean", mean, ndim=1)
        sigma = as_array("std", std, ndim=1)
        for name, arr in (("mean", mu), ("std", sigma)):
            if arr.shape != (n_features,):
                raise ValueError(
                    f"{name}: expected shape ({n_features},) (one per column of X), "
                    f"got shape {arr.shape}"
                )
        if np.any(sigma <= 0):
            raise ValueError(f"std: expected positive entries, got {sigma.tolist()}")
    return (X_arr - mu) / sigma, mu, sigma


# --- data sets by name ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A data set with the task it poses.

    Attributes:
        name: its name in :data:`DATASETS`.
        X: features, ``(N, n_features)``.
        y: int labels ``(N,)`` for classification, values ``(N, 1)`` for regression.
        task: ``"classification"`` or ``"regression"``.
        n_outputs: number of classes, or of regression outputs: the width of a network's
            output layer for this task.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    n_outputs: int

    def __post_init__(self) -> None:
        X = as_array("X", self.X, ndim=2)
        check_choice("task", self.task, ("classification", "regression"))
        n_outputs = check_positive_int("n_outputs", self.n_outputs)
        n = X.shape[0]
        y = np.asarray(self.y)
        if self.task == "classification":
            if y.shape != (n,) or y.dtype.kind not in "iu" or (n and (y.min() < 0)):
                raise ValueError(
                    f"y: expected {n} integer labels >= 0 for classification (one per row of "
                    f"X), got {describe(self.y)}"
                )
            if n and y.max() >= n_outputs:
                raise ValueError(
                    f"n_outputs: expected more than the largest label {int(y.max())}, got "
                    f"{n_outputs}"
                )
        else:
            y = as_array("y", self.y, ndim=2)
            if y.shape != (n, n_outputs):
                raise ValueError(
                    f"y: expected shape ({n}, {n_outputs}) for regression (one row per row of X, "
                    f"n_outputs columns), got shape {y.shape}"
                )

    @property
    def n_features(self) -> int:
        """Number of input features (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def loss(self) -> str:
        """The loss that fits the task: softmax cross-entropy or mean squared error."""
        return "softmax_cross_entropy" if self.task == "classification" else "mse"


def _moons(seed: int = 0, **kw: Any) -> Dataset:
    X, y = make_moons(seed=seed, **kw)
    return Dataset("moons", X, y, "classification", 2)


def _spirals(seed: int = 0, **kw: Any) -> Dataset:
    X, y = make_spirals(seed=seed, **kw)
    return Dataset("spirals", X, y, "classification", int(y.max()) + 1)


def _sine(seed: int = 0, **kw: Any) -> Dataset:
    X, y = make_regression_1d(seed=seed, **kw)
    return Dataset("sine", X, y, "regression", 1)


def _iris(seed: int = 0, **kw: Any) -> Dataset:
    if kw:
        raise TypeError(f"iris: expected no options (a fixed data set), got {sorted(kw)}")
    _check_seed(seed)
    X, y = load_iris()
    return Dataset("iris", X, y, "classification", 3)


DATASETS: Mapping[str, Callable[..., Dataset]] = {
    "sine": _sine,
    "iris": _iris,
    "moons": _moons,
    "spirals": _spirals,
}


def load_dataset(name: str, seed: int = 0, **kw: Any) -> Dataset:
    """Build a data set by name: ``"moons"``, ``"spirals"``, ``"sine"`` or ``"iris"``.

    Args:
        name: a key of :data:`DATASETS`.
        seed: seed of the generated data (ignored by the fixed Iris data).
        **kw: options of the generator, e.g. ``n_samples=``, ``noise=``.

    Returns:
        A :class:`Dataset` holding ``X``, ``y``, the task and the number of outputs.
    """
    check_choice("name (the dataset)", name, DATASETS)
    return DATASETS[name](seed=seed, **kw)


# --- real data: the UCI digits and first names (lesson 07) ------------------------------------

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
    check_flag("scale", scale)
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

    def __post_init__(self) -> None:
        chars = self.chars
        if (
            not isinstance(chars, tuple)
            or not chars
            or not all(isinstance(c, str) and len(c) == 1 for c in chars)
        ):
            raise TypeError(f"chars: expected a tuple of single characters, got {describe(chars)}")
        if chars[0] != "." or len(set(chars)) != len(chars):
            raise ValueError(
                f"chars: expected distinct characters starting with the mark '.', got {chars!r}"
            )

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> CharVocab:
        """The vocabulary of every character in ``texts``, sorted, after the boundary mark."""
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"texts: expected a list of strings, got {describe(texts)}")
        found = sorted(set("".join(texts)))
        if "." in found:
            raise ValueError(
                "texts: expected no '.' (it marks the start and end of a text), got a text "
                "containing '.'"
            )
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
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) for n in names)
    ):
        raise TypeError(f"names: expected a non-empty list of strings, got {describe(names)}")
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab: expected a CharVocab, got {describe(vocab)}")
    unknown = sorted(set("".join(names)) - set(vocab.chars))
    if unknown or any("." in n for n in names):
        raise ValueError(
            f"names: expected characters of the vocabulary and no '.' (the mark between "
            f"names), got {unknown or ['.']}"
        )
    stream = vocab.encode("." + ".".join(names) + ".")
    n = (stream.size - 1) // length
    if n == 0:
        raise ValueError(
            f"length: expected at most {stream.size - 1} (the length of the stream), got {length}"
        )
    X = stream[: n * length].reshape(n, length)
    Y = stream[1 : n * length + 1].reshape(n, length)
    return X, Y
