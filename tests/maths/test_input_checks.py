"""Bad input to the package's public functions: an error that names the argument, raised before
anything is changed. One case per rule, across the modules that train and check models."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import bpcourse.grading as G
from bpcourse import data, dynamics, nn, symbolic


def _digits(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    X, y = data.load_digits()
    return X[:n], y[:n]


def _windows(model: dynamics.CharRNN, n: int = 6, T: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, model.vocab_size, size=(n, T + 1))
    return ids[:, :-1], ids[:, 1:]


CHAR = dynamics.CharRNN.init(6, embed_dim=3, n_hidden=4, seed=0)
CNN = dynamics.DigitCNN.init(n_kernels=2, seed=0)
X_CHAR, Y_CHAR = _windows(CHAR)
X_IMG, Y_IMG = _digits()


@pytest.mark.parametrize(
    ("call", "error", "start"),
    [
        (lambda: dynamics.CharRNN.init(6, seed=-1), ValueError, "seed: expected an integer >= 0"),
        (lambda: dynamics.CharRNN.init(6, seed=1.5), TypeError, "seed:"),
        (lambda: dynamics.DigitCNN.init(seed=-1), ValueError, "seed:"),
        (lambda: dynamics.DigitCNN.init(seed=True), TypeError, "seed:"),
        (
            lambda: CHAR.sample(data.CharVocab.from_texts(["abcde"]), 2, seed=-2),
            ValueError,
            "seed:",
        ),
        (
            lambda: dynamics.train_char_model(CHAR, X_CHAR, Y_CHAR, steps=1, seed="0"),
            TypeError,
            "seed:",
        ),
        (
            lambda: dynamics.train_digit_cnn(CNN, X_IMG, Y_IMG, X_IMG, Y_IMG, epochs=1, seed=-1),
            ValueError,
            "seed:",
        ),
    ],
)
def test_seeds_are_checked_by_name(call, error, start) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value).startswith(start)


@pytest.mark.parametrize(
    ("kwargs", "error", "start"),
    [
        ({"model": "net"}, TypeError, "model: expected a CharRNN"),
        ({"Y": Y_CHAR[:3]}, ValueError, "Y: expected shape (6, 5)"),
        ({"X": X_CHAR + 10}, ValueError, "X: expected character ids in 0..5"),
        ({"X_val": X_CHAR}, ValueError, "Y_val: expected windows with X_val"),
        ({"Y_val": Y_CHAR}, ValueError, "X_val: expected windows with Y_val"),
        ({"X_val": np.full((2, 5), 99), "Y_val": Y_CHAR[:2]}, ValueError, "X_val:"),
        ({"X_val": X_CHAR[:2], "Y_val": Y_CHAR[:2] - 9}, ValueError, "Y_val:"),
    ],
)
def test_char_training_checks_its_data_before_the_first_step(kwargs, error, start) -> None:
    args = {"model": CHAR, "X": X_CHAR, "Y": Y_CHAR, "steps": 500, "eval_every": 400}
    args.update(kwargs)
    with pytest.raises(error) as info:
        dynamics.train_char_model(**args)
    assert str(info.value).startswith(start)


def test_char_model_names_out_of_vocabulary_ids() -> None:
    with pytest.raises(ValueError) as info:
        CHAR.loss(np.full((2, 3), 9), np.zeros((2, 3), dtype=int))
    assert str(info.value).startswith("X: expected character ids in 0..5")


@pytest.mark.parametrize(
    ("kwargs", "error", "start"),
    [
        ({"model": "net"}, TypeError, "model: expected a DigitCNN"),
        ({"y_train": Y_IMG[:30]}, ValueError, "y_train: expected integer class labels"),
        ({"y_val": Y_IMG + 10}, ValueError, "y_val: expected integer class labels"),
        ({"X_val": np.zeros((2, 1, 7, 7)), "y_val": [0, 1]}, ValueError, "X_val:"),
        ({"y_train": Y_IMG.astype(bool)}, TypeError, "y_train:"),
    ],
)
def test_digit_training_checks_its_data_before_the_first_step(kwargs, error, start) -> None:
    args = {"model": CNN, "X_train": X_IMG, "y_train": Y_IMG, "X_val": X_IMG, "y_val": Y_IMG}
    args.update(kwargs)
    with pytest.raises(error) as info:
        dynamics.train_digit_cnn(**args, epochs=1)
    assert str(info.value).startswith(start)


def test_digit_accuracy_and_confusion_matrix_check_labels() -> None:
    with pytest.raises(ValueError, match=r"^y: expected integer class labels"):
        CNN.accuracy(np.zeros((3, 1, 8, 8)), [10, -3, 2])
    with pytest.raises(ValueError, match=r"^y: .*non-integer label 2.5"):
        CNN.accuracy(np.zeros((3, 1, 8, 8)), [1, 2, 2.5])
    M = dynamics.confusion_matrix([0, 1.0, 2], [0, 1, 1], n_classes=3)  # integral floats
    assert M.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 0]]
    with pytest.raises(ValueError, match=r"^y_true: expected a non-empty"):
        dynamics.confusion_matrix([], [], n_classes=3)
    with pytest.raises(ValueError, match=r"^y_pred:"):
        dynamics.confusion_matrix([0, 1], [0, 1.5], n_classes=3)
    with pytest.raises(TypeError, match=r"^y_true:"):
        dynamics.confusion_matrix([True, False], [0, 1], n_classes=3)


def test_sgd_epoch_rejects_a_bad_target_row_before_any_update() -> None:
    model = nn.MLP([2, 4, 1], seed=0)
    before = [p.copy() for p in model.parameters()]
    X = np.random.default_rng(0).random((60, 2))
    y = X[:, :1].copy()
    y[50] = np.nan  # in the fourth batch of 16
    with pytest.raises(ValueError) as info:
        dynamics.sgd_epoch(model, X, y, 0.1, 16)
    assert str(info.value).startswith("y: expected finite values")
    assert "(60, 1)" in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("make", [lambda: nn.MLP([3, 4, 2], seed=0), lambda: nn.RNN(3, 5, 2)])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_with_parameters_refuses_non_finite_arrays(make, bad) -> None:
    model = make()
    arrays = [p.copy() for p in model.parameters()]
    arrays[1].flat[0] = bad
    with pytest.raises(ValueError) as info:
        model.with_parameters(arrays)
    assert str(info.value).startswith("arrays[1] (")
    assert "1 NaN or infinite entry" in str(info.value)


@pytest.mark.parametrize(
    ("call", "error", "start"),
    [
        (lambda: G.check_scalar(1.0, 1.0, rtol=-1), ValueError, "rtol:"),
        (lambda: G.check_array(np.ones(3), np.ones(3), rtol=float("nan")), ValueError, "rtol:"),
        (lambda: G.check_array(np.ones(3), np.ones(3), atol=float("inf")), ValueError, "atol:"),
        (lambda: G.check_array(np.ones(3), np.ones(3), rtol="1e-6"), TypeError, "rtol:"),
        (lambda: G.check_function(abs, abs, []), ValueError, "cases:"),
        (lambda: G.check_function(abs, None, [(1.0,)]), TypeError, "reference:"),
    ],
)
def test_a_bad_test_setting_is_the_tests_error_not_the_learners(call, error, start) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value).startswith(start)


def test_a_right_answer_passes_with_zero_tolerances() -> None:
    G.check_array(np.ones(3), np.ones(3), rtol=0, atol=0)
    G.check_scalar(2.0, 2.0, rtol=np.float64(1e-9), atol=0.0)
    G.check_function(abs, abs, [(-1.5,)], rtol=0.0)


@pytest.mark.parametrize(("expr", "at"), [("sqrt(x)", -1.0), ("1/x", 0.0), ("log(x)", 0.0)])
def test_evaluate_refuses_values_that_are_not_finite_reals(expr, at) -> None:
    x = sp.Symbol("x")
    with pytest.raises(ValueError) as info:
        symbolic.evaluate(sp.sympify(expr), {x: at})
    assert str(info.value).startswith("expr: expected a finite real value at x = ")


def test_data_exports_every_public_name() -> None:
    names: dict[str, object] = {}
    exec("from bpcourse.data import *", names)
    wanted = ["make_moons", "load_dataset", "train_val_split", "standardize", "load_digits"]
    wanted += ["load_names", "names_to_sequences", "CharVocab", "Dataset", "DATASETS"]
    assert not [name for name in wanted if name not in names]
    public = {n for n in vars(data) if not n.startswith("_") and n.isidentifier()}
    assert set(data.__all__) <= public


def test_gradient_norms_of_huge_finite_gradients_do_not_overflow() -> None:
    from bpcourse import optim

    grads = [np.full(2, 3e200), np.full(2, 4e200), np.zeros(3)]
    assert optim.global_norm(grads) == pytest.approx(np.sqrt(50) * 1e200, rel=1e-12)
    clipped, total = optim.clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(np.sqrt(50) * 1e200, rel=1e-12)
    assert optim.global_norm(clipped) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(clipped[0], np.full(2, 3 / np.sqrt(50)), rtol=1e-12)


@pytest.mark.parametrize("bad", [{3, 2}, {2: 1, 3: 1}, "23", np.ones((2, 2), dtype=int)])
def test_layer_sizes_must_come_in_order(bad) -> None:
    for make in (nn.MLP, lambda s: dynamics.backprop_memory(s, 4)):
        with pytest.raises(TypeError) as info:
            make(bad)
        assert str(info.value).startswith("layer_sizes: expected a sequence of positive integers")
    with pytest.raises(TypeError):
        symbolic.mlp_loss_expression(bad)


def test_numpy_style_arguments_are_accepted() -> None:
    from bpcourse import optim

    assert nn.MLP(np.array([3, 4, 2])).layer_sizes == (3, 4, 2)
    assert nn.MLP(range(2, 5)).layer_sizes == (2, 3, 4)
    assert dynamics.backprop_memory(np.array([2, 4, 1]), 32) == dynamics.backprop_memory(
        [2, 4, 1], 32
    )
    P = [np.ones(2)]
    optim.Adam(P, lr=0.1, betas=np.array([0.9, 0.999]))
    with pytest.raises(ValueError, match=r"^betas\[1\]"):
        optim.Adam(P, lr=0.1, betas=np.array([0.9, 1.0]))
    with pytest.raises(TypeError, match=r"^betas: expected a pair"):
        optim.Adam(P, lr=0.1, betas=np.array([0.9, 0.99, 0.999]))
    X, _ = data.make_regression_1d(x_range=np.array([-1.0, 1.0]), seed=0)
    assert X.min() >= -1.0 and X.max() <= 1.0


def test_losses_of_nothing_are_refused() -> None:
    for loss in (nn.mse, nn.mse_grad):
        with pytest.raises(ValueError, match=r"^y_hat: expected at least one prediction"):
            loss(np.ones((0, 2)), np.ones((0, 2)))
    with pytest.raises(ValueError, match=r"^Z: expected at least one class"):
        nn.softmax(np.ones((3, 0)))
    assert nn.softmax(np.ones((0, 3))).shape == (0, 3)  # no rows: nothing to normalise


def test_numerical_gradients_refuse_a_non_finite_value_of_f() -> None:
    from bpcourse import gradcheck

    with pytest.raises(ValueError, match=r"^f: expected f\(x\) to return a finite number"):
        gradcheck.numerical_gradient(lambda z: float("nan"), np.ones(2))
    with (
        np.errstate(divide="ignore"),
        pytest.raises(ValueError, match=r"^f: expected f\(x\) to return a finite number"),
    ):
        gradcheck.complex_step_gradient(lambda z: np.sum(np.log(z)), np.array([0.0, 1.0]))


def test_adam_step_refuses_a_negative_second_moment() -> None:
    from bpcourse import optim

    with pytest.raises(ValueError, match=r"^v: expected entries >= 0"):
        optim.adam_step([1.0], [1.0], [0.0], [-1.0], t=1)


def test_flags_options_and_vocabularies_are_checked() -> None:
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10) % 2
    with pytest.raises(TypeError, match=r"^stratify: expected True or False"):
        data.train_val_split(X, y, stratify="no")
    with pytest.raises(TypeError, match=r"^backward:"):
        CHAR.backprop(X_CHAR, Y_CHAR, backward="no")
    with pytest.raises(TypeError, match=r"^input_gradient:"):
        CNN.backprop(X_IMG[:2], Y_IMG[:2], input_gradient="x")
    with pytest.raises(TypeError, match=r"^optimizer_kw: expected a dict"):
        dynamics.train("iris", num_epochs=2, optimizer_kw=[1])
    with pytest.raises(TypeError, match=r"^dataset_kw: expected a dict"):
        dynamics.train("moons", num_epochs=2, dataset_kw="x")
    with pytest.raises(ValueError, match=r"^count:"):
        dynamics.BackpropMemory.megabytes(-1)
    with pytest.raises(ValueError, match=r"^chars: expected distinct"):
        data.CharVocab((".", "a", "a"))
    with pytest.raises(TypeError, match=r"^chars: expected a tuple of single characters"):
        data.CharVocab((".", "ab"))
    with pytest.raises(TypeError, match=r"^texts:"):
        data.CharVocab.from_texts(None)
    vocab = data.CharVocab.from_texts(["anna", "bob"])
    with pytest.raises(TypeError, match=r"^vocab: expected a CharVocab"):
        data.names_to_sequences(["anna"], "abn", 2)
    with pytest.raises(TypeError, match=r"^names:"):
        data.names_to_sequences(["anna", 3], vocab, 2)
    with pytest.raises(ValueError, match=r"^names: expected characters of the vocabulary"):
        data.names_to_sequences(["zed"], vocab, 2)


def test_check_function_refuses_malformed_cases_as_the_tests_error() -> None:
    def double(a):
        return 2 * a

    with pytest.raises(TypeError, match=r"^cases\[0\]: expected a tuple of arguments"):
        G.check_function(double, double, [1.0])
    with pytest.raises(ValueError, match=r"^batch_size_arg: expected the position"):
        G.check_function(double, double, [(np.ones(3),)], batch_size_arg=5)
    G.check_function(double, double, [(np.ones(3),)], batch_size_arg=0)


def test_slow_symbolic_differentiation_is_announced(monkeypatch) -> None:
    class StopError(Exception):
        """Stops the run right after the warning: the slow part is not what is tested."""

    def stop(*args, **kwargs):
        raise StopError

    model = nn.MLP([4, 8, 1], seed=0)
    X, y = np.ones((30, 4)), np.ones((30, 1))
    monkeypatch.setattr(sp, "diff", stop)
    with pytest.warns(UserWarning, match="method='reverse'"), pytest.raises(StopError):
        symbolic.symbolic_mlp_gradients(model, X, y)


@pytest.mark.parametrize(
    ("args", "start"),
    [
        ((np.ones(10), np.zeros(10, dtype=int), "classification", 2), "X: expected a 2-D array"),
        ((np.ones((10, 2)), np.arange(10), "classification", 3), "n_outputs: expected more"),
        ((np.ones((10, 2)), np.ones(10), "classification", 2), "y: expected 10 integer labels"),
        ((np.ones((10, 2)), np.ones((10, 2)), "regression", 1), "y: expected shape (10, 1)"),
        ((np.ones((10, 2)), np.ones((10, 1)), "ranking", 1), "task: expected one of"),
    ],
)
def test_a_data_set_is_checked_when_made(args, start) -> None:
    with pytest.raises(ValueError) as info:
        data.Dataset("custom", *args)
    assert str(info.value).startswith(start)


def test_an_empty_embedding_table_is_named() -> None:
    with pytest.raises(ValueError, match=r"^E: expected at least one row"):
        nn.embedding_forward([0], np.ones((0, 3)))


def test_a_digit_network_is_checked_when_made() -> None:
    K, b, W, c = CNN.K, CNN.b, CNN.W, CNN.c
    cases = [
        ((K, b, W[:, :5], c), "c: expected shape (5,)"),
        ((K, b, W[:-1], c), "W: expected C·h·w rows"),
        ((K, b[:1], W, c), "b: expected shape (2,)"),
    ]
    for args, start in cases:
        with pytest.raises(ValueError) as info:
            dynamics.DigitCNN(*args)
        assert str(info.value).startswith(start)
    with pytest.raises(ValueError, match=r"^pool:"):
        dynamics.DigitCNN(K, b, W, c, pool=0)


@pytest.mark.parametrize(
    ("P", "offsets", "error", "start"),
    [
        (np.ones(2, dtype=int), (1e-3, -1e-3), TypeError, "P: expected a float or complex"),
        ([1.0, 2.0], (1e-3,), TypeError, "P:"),
        (np.ones(2), (1e-3j,), ValueError, "offsets[0]: a complex offset"),
        (np.ones(2), "ab", TypeError, "offsets: expected a sequence of numbers"),
        (np.ones(2), (None,), TypeError, "offsets[0]: expected a number"),
    ],
)
def test_perturbing_entries_checks_its_arguments_at_the_call(P, offsets, error, start) -> None:
    from bpcourse import gradcheck

    with pytest.raises(error) as info:
        gradcheck.perturb_each_entry(P, offsets, lambda: 0.0)
    assert str(info.value).startswith(start)
    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"^P: expected a writable array"):
        gradcheck.perturb_each_entry(frozen, (1e-3,), lambda: 0.0)


def test_an_optimizer_refuses_parameters_it_cannot_update() -> None:
    from bpcourse import optim

    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"^params\[0\]: expected a writable array"):
        optim.SGD([frozen], lr=0.1)
    with pytest.raises(ValueError, match=r"^params\[1\]: expected finite values"):
        optim.Adam([np.ones(2), np.array([np.nan])], lr=0.1)


def test_plots_name_a_wrong_figure_axes_or_grid() -> None:
    from bpcourse import plots

    with pytest.raises(TypeError, match=r"^fig: expected a matplotlib Figure"):
        plots.figure_to_png("x")
    with pytest.raises(TypeError, match=r"^ax: expected a matplotlib Axes or None"):
        plots.plot_layer_gradient_norms(np.array([1.0, 0.5]), ax="x")
    X, y = np.eye(2).repeat(2, axis=0), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"^resolution: expected an integer in 5\.\.1000"):
        plots.plot_decision_boundary(lambda p: p[:, 0], X, y, resolution=10**5)


@pytest.mark.parametrize(
    ("call", "error", "start"),
    [
        (lambda x: G.call_checked(abs, 3), TypeError, "args: expected a tuple of arguments"),
        (lambda x: G.call_checked(abs, (1.0,), kwargs=[1]), TypeError, "kwargs:"),
        (lambda x: G.graded(abs, foo=1), TypeError, "graded: unknown rule(s) ['foo']"),
        (lambda x: G.sympy_function(x**2, x), TypeError, "symbols: expected a list"),
        (lambda x: G.check_sympy(x**2, x**2, substitutions=[1]), TypeError, "substitutions:"),
        (lambda x: G.check_sympy(x**2, x**2, low=float("nan")), ValueError, "low:"),
        (lambda x: G.check_sympy(x**2, x**2, low=2.0, high=1.0), ValueError, "high:"),
        (lambda x: G.check_sympy(x**2, x**2, seed=-1), ValueError, "seed:"),
        (lambda x: G.check_sympy(x**2, x**2, n_points=0), ValueError, "n_points:"),
        (lambda x: G.check_sympy(x**2, x**2, rtol=0.0), ValueError, "rtol:"),
    ],
)
def test_grading_helpers_name_a_wrongly_written_test(call, error, start) -> None:
    with pytest.raises(error) as info:
        call(sp.Symbol("x"))
    assert str(info.value).startswith(start)


def test_counting_and_formatting_name_what_they_were_given() -> None:
    from bpcourse.engine import format_number

    for bad in ("x+", None):
        with pytest.raises(TypeError, match=r"^exprs: expected a list of SymPy expressions"):
            symbolic.count_ops(bad)
    with pytest.raises(TypeError, match=r"^exprs\[1\]: expected a SymPy expression"):
        symbolic.count_ops([sp.Symbol("x"), "y"])
    with pytest.raises(TypeError, match=r"^x: expected a real number"):
        format_number("1")
    assert format_number(np.float64(2.5)) == "2.5000"


def test_names_of_optimizers_and_data_sets_are_named_as_the_caller_gave_them() -> None:
    from bpcourse import optim

    with pytest.raises(ValueError, match=r"^name \(the dataset\): expected one of"):
        data.load_dataset("mnist")
    with pytest.raises(ValueError, match=r"^name \(the optimizer\): expected one of"):
        optim.make_optimizer("rmsprop", [np.ones(2)], 0.1)
    with pytest.raises(ValueError, match=r"^dataset: expected one of"):
        dynamics.train("mnist")
