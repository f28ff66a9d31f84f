"""Checks used by the test cells of the course's nbgrader exercises.

Every check raises :class:`AssertionError` with a message written for a learner: it says *what*
is wrong (shape, sign, a factor of 2, a sum where a mean was wanted, a known mistake named by
the exercise) rather than dumping two arrays.

The checks are built to resist an answer cell that tries to pass by replacing things:

- they never call ``numpy.allclose``, ``numpy.isclose`` or ``numpy.testing``; they compute with
  numpy ufuncs captured when this module is first imported (a ufunc object cannot be modified);
- before each check they verify that ``numpy.allclose``, ``numpy.isclose``, ``numpy.testing``
  and its assertion functions, ``math.isclose`` and ``sympy.simplify`` are still the genuine
  library objects, and fail the test with an explanation if one was replaced;
- the module object is sealed: assigning to ``bpcourse.grading.check_array`` (or writing into
  the module's ``__dict__``) cannot change what a test cell gets when it looks the name up.

Every graded call of a learner's function (:func:`check_function`, :func:`call_checked`,
:func:`graded`) also observes the rules an exercise states, each declared next to its test:

- ``own_work``: the package's own answer to the exercise (with its aliases and lower-level
  functions computing the same in one call) is replaced by a trap for the duration of the call;
  the trap swaps the *code* of the function objects, so every way of reaching them leads into
  it, and a learner's helper that merely shares a name is unaffected;
- ``inputs_unchanged`` / ``new_result``: the function gets the test's own arrays, which are
  compared afterwards, and must not hand an input back;
- ``no_recursion``: calls are watched (``sys.setprofile``), so recursion is seen whatever the
  recursion limit;
- ``earlier``: names of earlier exercises resolve to their references during the call, so one
  mistake costs points once.

A Python kernel shares one address space between answer and test cells, so no check can be
made proof against every deliberate attack; these measures defeat the plausible ones.

Example (a test cell)::

    import bpcourse.grading as G
    G.check_array(dW, dW_expected, name="dW",
                  known_mistakes={"the activation derivative is missing": dW_no_act})
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import sysconfig
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy
import numpy.testing
import sympy

__all__ = [
    "GradingTamperError",
    "OwnWorkRequired",
    "call_checked",
    "check_array",
    "check_choice",
    "check_function",
    "check_scalar",
    "check_sympy",
    "check_true",
    "graded",
    "sympy_function",
    "verify_integrity",
]

# ---------------------------------------------------------------------------------------------
# Captured primitives. Ufuncs are immutable objects, so holding references to them here keeps
# the arithmetic below correct even if ``numpy.abs`` and friends are reassigned later.
# ---------------------------------------------------------------------------------------------
_abs = numpy.absolute
_sub = numpy.subtract
_add = numpy.add
_mul = numpy.multiply
_div = numpy.true_divide
_isfinite = numpy.isfinite
_maximum = numpy.maximum
_array = numpy.array
_ndarray = numpy.ndarray
_float64 = numpy.float64
_argmax = numpy.argmax
_unravel = numpy.unravel_index
_all = numpy.all
_default_rng = numpy.random.default_rng
_ufunc = numpy.ufunc
_isinstance = isinstance
_float = float
_bool = bool
_len = len
_repr = repr

_shares_memory = numpy.shares_memory
_SYMPY_TRUE = sympy.true
_getprofile = sys.getprofile
_setprofile = sys.setprofile

_NUMPY_DIR = os.path.dirname(os.path.abspath(numpy.__file__))
_SYMPY_DIR = os.path.dirname(os.path.abspath(sympy.__file__))


def _watched() -> dict[str, Any]:
    """The objects an answer cell might replace to fake a pass, looked up afresh."""
    np_testing = sys.modules.get("numpy.testing")
    watched: dict[str, Any] = {
        "numpy.allclose": getattr(numpy, "allclose", None),
        "numpy.isclose": getattr(numpy, "isclose", None),
        "numpy.array_equal": getattr(numpy, "array_equal", None),
        "numpy.testing": getattr(numpy, "testing", None),
        "sys.modules['numpy.testing']": np_testing,
        "math.isclose": getattr(math, "isclose", None),
        "sympy.simplify": getattr(sympy, "simplify", None),
    }
    for fn in ("assert_allclose", "assert_array_almost_equal", "assert_almost_equal",
               "assert_array_equal", "assert_equal"):  # fmt: skip
        watched[f"numpy.testing.{fn}"] = getattr(numpy.testing, fn, None)
    return watched


_ORIGINALS: Mapping[str, Any] = types.MappingProxyType(_watched())


def _genuine(name: str, obj: Any) -> bool:
    """True when ``obj`` is the library's own object (by identity and by where it lives)."""
    if obj is not _ORIGINALS.get(name):
        return False
    if name == "math.isclose":
        return _isinstance(obj, types.BuiltinFunctionType)
    if _isinstance(obj, types.ModuleType):
        where = getattr(obj, "__file__", "") or ""
        return os.path.abspath(where).startswith(_NUMPY_DIR)
    code = getattr(obj, "__code__", None)
    if code is None:  # C-implemented functions (e.g. numpy's dispatchers)
        return _isinstance(obj, (types.BuiltinFunctionType, _ufunc)) or callable(obj)
    home = _SYMPY_DIR if name.startswith("sympy") else _NUMPY_DIR
    return os.path.abspath(code.co_filename).startswith(home)


class GradingTamperError(AssertionError):
    """Raised when an answer cell replaced a function the checks or the tests rely on."""


def verify_integrity() -> None:
    """Fail with :class:`GradingTamperError` if a watched library function was replaced.

    Called at the start of every check. The watched objects are ``numpy.allclose``,
    ``numpy.isclose``, ``numpy.array_equal``, ``numpy.testing`` and its ``assert_*``
    functions, ``math.isclose`` and ``sympy.simplify``.
    """
    replaced = [name for name, obj in _watched().items() if not _genuine(name, obj)]
    sealed = sys.modules.get(__name__)
    if sealed is not None and type(sealed).__qualname__ != "_SealedModule":
        replaced.append("bpcourse.grading (the module object)")
    if replaced:
        raise GradingTamperError(
            "These were replaced in this notebook: "
            + ", ".join(replaced)
            + ". Tests cannot be trusted after that, so this test fails. Remove the code that "
            "reassigns them, restart the kernel and run all cells again."
        )


# ---------------------------------------------------------------------------------------------
# Array comparison
# ---------------------------------------------------------------------------------------------


def _fmt(x: Any) -> str:
    text = numpy.array2string(_array(x), precision=4, threshold=12, edgeitems=3)
    return text if _len(text) < 300 else text[:297] + "..."


def _to_float_array(name: str, value: Any) -> Any:
    if value is None:
        raise AssertionError(
            f"{name}: your code produced None. Did the function forget to `return` its result?"
        )
    if _isinstance(value, type(NotImplemented)) or _isinstance(value, (str, bytes)):
        raise AssertionError(f"{name}: expected numbers, got {_repr(value)[:80]}")
    try:
        arr = _array(value, dtype=_float64, copy=True, subok=False)
    except (TypeError, ValueError) as exc:
        raise AssertionError(
            f"{name}: expected numbers (a float or an array), got {type(value).__name__} "
            f"that cannot be turned into an array of floats ({exc})"
        ) from None
    return arr


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    diff = _abs(_sub(a, b))
    tol = _add(atol, _mul(rtol, _maximum(_abs(a), _abs(b))))
    return _bool(_all(diff <= tol))


def _max_rel_error(a: Any, b: Any) -> tuple[float, Any]:
    diff = _abs(_sub(a, b))
    scale = _maximum(_maximum(_abs(a), _abs(b)), 1e-300)
    rel = _div(diff, scale)
    if rel.ndim == 0:
        return _float(rel), ()
    idx = _unravel(int(_argmax(rel)), rel.shape)
    return _float(rel[idx]), idx


def _diagnose_values(
    name: str,
    got: Any,
    want: Any,
    rtol: float,
    atol: float,
    known: Mapping[str, Any],
    batch_size: int | None,
) -> str:
    """Return a learner-facing explanation of why ``got`` differs from ``want``."""
    for description, wrong in known.items():
        try:
            w = _array(wrong, dtype=_float64)
        except (TypeError, ValueError):
            continue
        if w.shape == got.shape and _close(got, w, rtol, atol):
            return f"{name}: {description}"
    if _close(got, _mul(-1.0, want), rtol, atol):
        return f"{name}: the sign is flipped (you get minus the expected value)"
    if _close(got, _mul(2.0, want), rtol, atol):
        return f"{name}: twice as large as expected (an extra factor of 2)"
    if _close(got, _mul(0.5, want), rtol, atol):
        return f"{name}: half as large as expected (a factor of 2 is missing)"
    if batch_size and batch_size > 1:
        if _close(got, _mul(_float(batch_size), want), rtol, atol):
            return (
                f"{name}: {batch_size} times too large: it looks summed over the batch; the "
                f"loss is a mean, so divide by the batch size N={batch_size}"
            )
        if _close(got, _div(want, _float(batch_size)), rtol, atol):
            return f"{name}: {batch_size} times too small: divided by the batch size once too often"
    if got.size and _all(_abs(got) <= atol):
        return f"{name}: all zeros, expected {_fmt(want)}"
    rel, idx = _max_rel_error(got, want)
    where = f" at index {tuple(int(i) for i in idx)}" if idx != () else ""
    got_i = got[idx] if idx != () else got
    want_i = want[idx] if idx != () else want
    return (
        f"{name}: values differ from the expected ones: largest relative error {rel:.2e}"
        f"{where} (got {_float(got_i):.6g}, expected {_float(want_i):.6g})"
    )


def _check_tolerances(rtol: Any, atol: Any) -> None:
    """The test's own tolerances must be numbers >= 0: a bad one is the test's error (a
    ValueError or TypeError), never a failed answer."""
    for label, value in (("rtol", rtol), ("atol", atol)):
        if _check_real(label, value) < 0:
            raise ValueError(f"{label}: expected a finite number >= 0, got {_repr(value)}")


def check_array(
    answer: Any,
    expected: Any,
    name: str = "answer",
    *,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    known_mistakes: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
) -> None:
    """Check a numeric answer (scalar or array) against the expected value.

    Args:
        answer: what the learner's code produced.
        expected: the right value.
        name: how to call the quantity in messages, e.g. ``"dW"``.
        rtol: relative tolerance, ``|a - b| <= atol + rtol * max(|a|, |b|)`` elementwise.
        atol: absolute tolerance.
        known_mistakes: ``{explanation: wrong_value}``; an answer matching one of these fails
            with that explanation (e.g. ``"the activation derivative is missing"``).
        batch_size: the batch size N, so that a sum in place of a mean is recognised.

    Raises:
        AssertionError: with a message saying what is wrong.
        ValueError, TypeError: if ``rtol`` or ``atol`` is not a finite number >= 0.
    """
    verify_integrity()
    _check_tolerances(rtol, atol)
    want = _to_float_array(f"{name} (expected)", expected)
    got = _to_float_array(name, answer)
    if got.shape != want.shape:
        msg = f"{name}: expected shape {want.shape}, got shape {got.shape}"
        if got.ndim == 2 and got.shape == want.shape[::-1]:
            msg += ". It looks transposed: check the order of the matrix product"
        elif got.size == want.size:
            msg += ". Same number of entries: check reshape, keepdims, or (N,) versus (N, 1)"
        elif got.ndim < want.ndim:
            msg += ". A dimension is missing: did you sum over an axis you should keep?"
        raise AssertionError(msg)
    if not _bool(_all(_isfinite(got))):
        raise AssertionError(f"{name}: contains NaN or infinite values: {_fmt(got)}")
    if _close(got, want, rtol, atol):
        return
    raise AssertionError(
        _diagnose_values(name, got, want, rtol, atol, known_mistakes or {}, batch_size)
    )


def check_scalar(
    answer: Any,
    expected: float,
    name: str = "answer",
    *,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    known_mistakes: Mapping[str, Any] | None = None,
) -> None:
    """Check a single number with a relative tolerance (never by rounding)."""
    verify_integrity()
    _check_tolerances(rtol, atol)
    got = _to_float_array(name, answer)
    if got.size != 1:
        raise AssertionError(f"{name}: expected a single number, got shape {got.shape}")
    check_array(
        got.reshape(()),
        _float(expected),
        name,
        rtol=rtol,
        atol=atol,
        known_mistakes=known_mistakes,
    )


def check_true(condition: Any, message: str) -> None:
    """Fail with ``message`` unless ``condition`` is true.

    Accepted as true: ``True``, ``numpy.True_`` and SymPy's ``S.true`` (what a comparison of
    exact SymPy numbers returns). Any other object fails, whatever its ``__bool__`` says, so
    an answer cannot pass by returning an object that claims to be true.
    """
    verify_integrity()
    if condition is True or condition is _SYMPY_TRUE:
        return
    if _isinstance(condition, numpy.bool_) and _bool(condition):
        return
    raise AssertionError(message)


def check_choice(
    answer: Any, expected: Any, name: str = "answer", *, options: Sequence[Any]
) -> None:
    """Check a multiple-choice answer: it must be one of ``options`` and equal ``expected``."""
    verify_integrity()
    if isinstance(answer, str):
        answer = answer.strip()
    if answer not in list(options):
        raise AssertionError(f"{name}: choose one of {list(options)}, got {_repr(answer)[:80]}")
    if answer != expected:
        raise AssertionError(f"{name}: {_repr(answer)} is not the right choice; think again")


# ---------------------------------------------------------------------------------------------
# Graded calls: the rules an exercise states, observed while the learner's function runs
# ---------------------------------------------------------------------------------------------


class OwnWorkRequired(BaseException):
    """Raised inside a graded call that reached the package's own answer to the exercise.

    It derives from ``BaseException`` so that an ``except Exception`` in an answer cannot
    swallow it; the graded call also records every trap that was reached, so even a bare
    ``except:`` does not hide it.
    """


_SPRUNG: list[str] = []
_ACTIVE_TRAPS: dict[int, str] = {}


def _spring(label: str) -> None:
    """Entered by a trapped package function: record it and stop the learner's call."""
    _SPRUNG.append(label)
    raise OwnWorkRequired(label)


def _trap_code(target: types.CodeType, label: str) -> types.CodeType:
    """A code object that calls :func:`_spring`, with the free variables of ``target``.

    A function's ``__code__`` can only be replaced by code with the same free variables
    (its closure cells stay), so the trap declares the same ones.
    """
    free = target.co_freevars
    lines = ["def _outer():"]
    lines += [f"    {v} = None" for v in free]
    lines.append("    def _trap(*args, **kwargs):")
    if free:
        lines.append("        (" + ", ".join(free) + ",)")
    lines.append("        import sys")
    lines.append(f"        sys.modules[{__name__!r}]._spring({label!r})")
    lines.append("    return _trap")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<trap for {label}>", "exec"), namespace)
    code: types.CodeType = namespace["_outer"]().__code__
    if code.co_freevars != free:  # pragma: no cover - the compiler orders names the same way
        raise TypeError(f"own_work: cannot build a trap for {label} (closure {free})")
    return code


def _python_functions(ref: Any) -> list[types.FunctionType]:
    """The plain Python functions behind ``ref``: itself, its methods' functions, wrappers."""
    if _isinstance(ref, (classmethod, staticmethod)):
        ref = ref.__func__
    if _isinstance(ref, property):
        return [f for g in (ref.fget, ref.fset) if g is not None for f in _python_functions(g)]
    if _isinstance(ref, types.MethodType):
        ref = ref.__func__
    if not _isinstance(ref, types.FunctionType) and callable(ref):
        # a callable registry entry (e.g. an initialisation): its class's __call__ does the work
        call = vars(type(ref)).get("__call__")
        if _isinstance(call, types.FunctionType):
            ref = call
    out: list[types.FunctionType] = []
    seen = 0
    while _isinstance(ref, types.FunctionType) and seen < 10:
        out.append(ref)
        ref = getattr(ref, "__wrapped__", None)
        seen += 1
    if not out:
        raise TypeError(
            f"own_work: expected Python functions or methods of the course package, got "
            f"{type(ref).__name__} {_repr(ref)[:60]}"
        )
    return out


def _label_of(fn: Any) -> str:
    module = str(getattr(fn, "__module__", "") or "")
    short = module.rsplit(".", 1)[-1] if module.startswith("bpcourse") else module
    qual = str(getattr(fn, "__qualname__", getattr(fn, "__name__", "?")))
    return f"{short}.{qual}" if short else qual


@contextlib.contextmanager
def _traps(refs: Sequence[Any]) -> Iterator[list[str]]:
    """Put a trap in place of every function of ``refs`` for the duration of the block.

    The trap replaces the *code* of each function object, so it is reached however the
    function is found: by its name, an alias, ``from ... import ... as``, ``getattr`` by
    string, ``importlib``, another module's namespace, or another package function that calls
    it. A learner's own function that merely has the same name is a different object and is
    not affected. Yields the list of labels of the traps reached.
    """
    swapped: list[tuple[types.FunctionType, types.CodeType]] = []
    start = _len(_SPRUNG)
    hits: list[str] = []
    try:
        for ref in refs:
            for fn in _python_functions(ref):
                if id(fn) in _ACTIVE_TRAPS:
                    continue
                label = _label_of(fn)
                original = fn.__code__
                fn.__code__ = _trap_code(original, label)
                swapped.append((fn, original))
                _ACTIVE_TRAPS[id(fn)] = label
        yield hits
    finally:
        for fn, original in reversed(swapped):
            fn.__code__ = original
            _ACTIVE_TRAPS.pop(id(fn), None)
        hits.extend(dict.fromkeys(_SPRUNG[start:]))
        del _SPRUNG[start:]


_LIBRARY_DIRS = tuple(
    os.path.abspath(d) + os.sep
    for d in {
        *(sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib")),
        sys.prefix,
        sys.base_prefix,
        os.path.dirname(os.path.abspath(__file__)),
    }
    if d
)


def _learner_code(code: types.CodeType) -> bool:
    """True for code written in the notebook (not in the library, the package or the tests)."""
    where = code.co_filename
    if where.startswith("<trap for "):
        return False
    if not os.path.isabs(where):
        return True  # e.g. <ipython-input-...>, <string>
    where = os.path.abspath(where)
    return not where.startswith(_LIBRARY_DIRS)


class _RecursionFound(BaseException):
    pass


@contextlib.contextmanager
def _recursion_watch() -> Iterator[list[str]]:
    """Record a function of the notebook that calls itself (directly or through others).

    Watches calls with ``sys.setprofile``, so it sees recursion however deep the interpreter's
    recursion limit was set, and stops the call at the second nested entry. Yields the list of
    names of recursive functions found; ``"<profile removed>"`` if the call switched the
    watch off.
    """
    active: dict[types.CodeType, int] = {}
    found: list[str] = []

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            if _learner_code(code):
                depth = active.get(code, 0) + 1
                active[code] = depth
                if depth > 1:
                    found.append(code.co_name)
                    raise _RecursionFound(code.co_name)
        elif event == "return":
            code = frame.f_code
            if code in active:
                active[code] -= 1

    previous = _getprofile()
    _setprofile(watch)
    try:
        yield found
    finally:
        if _getprofile() is not watch and not found:
            found.append("<profile removed>")
        _setprofile(previous)


def _snapshot(value: Any, depth: int = 0) -> Any:
    """Copies of the arrays in ``value`` (also inside lists, tuples and dicts), for comparing."""
    if _isinstance(value, _ndarray):
        return value.copy()
    if depth < 3 and _isinstance(value, (list, tuple)):
        return (type(value), _len(value), [(id(v), _snapshot(v, depth + 1)) for v in value])
    if depth < 3 and _isinstance(value, dict):
        return (dict, _len(value), [(k, id(v), _snapshot(v, depth + 1)) for k, v in value.items()])
    return None


def _same_snapshot(before: Any, value: Any, depth: int = 0) -> bool:
    if _isinstance(before, _ndarray):
        if not _isinstance(value, _ndarray) or value.shape != before.shape:
            return False
        if value.dtype != before.dtype:
            return False
        same = (value == before) | ((value != value) & (before != before))
        return _bool(_all(same))
    if _isinstance(before, tuple) and _len(before) == 3 and before[0] in (list, tuple, dict):
        kind, n, items = before
        if not _isinstance(value, kind) or _len(value) != n:
            return False
        if kind is dict:
            return all(
                k in value and id(value[k]) == i and _same_snapshot(snap, value[k], depth + 1)
                for k, i, snap in items
            )
        return all(
            id(v) == i and _same_snapshot(snap, v, depth + 1) for (i, snap), v in zip(items, value)
        )
    return True


def _arrays_in(value: Any, depth: int = 0) -> list[Any]:
    if _isinstance(value, _ndarray):
        return [value]
    if depth < 3 and _isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays_in(v, depth + 1)]
    if depth < 3 and _isinstance(value, dict):
        return [a for v in value.values() for a in _arrays_in(v, depth + 1)]
    return []


def _containers_in(value: Any, depth: int = 0) -> list[Any]:
    if depth < 3 and _isinstance(value, (list, dict)):
        inner = value.values() if _isinstance(value, dict) else value
        return [value] + [c for v in inner for c in _containers_in(v, depth + 1)]
    if depth < 3 and _isinstance(value, tuple):
        return [c for v in value for c in _containers_in(v, depth + 1)]
    return []


def _argument_names(func: Any, n: int) -> list[str]:
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        params = []
    names = [p for p in params if p not in ("args", "kwargs")]
    return [names[i] if i < _len(names) else f"argument {i + 1}" for i in range(n)]


@contextlib.contextmanager
def _earlier_answers(func: Any, earlier: Mapping[str, Any]) -> Iterator[None]:
    """Make the names in ``earlier`` resolve to the given (reference) functions during a call.

    The learner's function looks names up in its module's globals (the notebook's namespace)
    when it runs; for the call they are bound to the references and restored afterwards, so a
    wrong (or missing) answer to an earlier exercise does not cost this exercise its points.
    """
    found = getattr(func, "__globals__", None)
    if not earlier or not _isinstance(found, dict):
        yield
        return
    namespace: dict[str, Any] = dict.__new__(dict) if found is None else found
    missing = object()
    saved = {k: namespace.get(k, missing) for k in earlier}
    namespace.update(earlier)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v


def call_checked(
    func: Any,
    args: Sequence[Any],
    name: str | None = None,
    *,
    own_work: Sequence[Any] = (),
    inputs_unchanged: bool = True,
    new_result: bool = True,
    no_recursion: bool = False,
    earlier: Mapping[str, Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    deferred: list[str] | None = None,
) -> Any:
    """Call a learner's function once, observing the rules an exercise states.

    Args:
        func: the learner's function.
        args: its arguments, the test's own objects (not copies): that is how a change to an
            input is seen.
        name: how to call the function in messages.
        own_work: the package's answer to the exercise (functions or methods, with aliases
            and lower-level functions computing the same in one call). During the call each is
            replaced by a trap; reaching one fails with a message asking for the learner's own
            implementation. Outside the call they work as usual.
        inputs_unchanged: fail if an array argument (also inside lists/tuples/dicts) or a
            list/dict argument was modified.
        new_result: fail if a returned array shares memory with an argument, or a returned
            list/dict is one of the arguments.
        no_recursion: fail if a function of the notebook calls itself during the call (seen
            by watching the calls, whatever the recursion limit).
        earlier: ``{name: reference}`` bound in the function's globals during the call, so that
            it uses the reference versions of earlier exercises.
        kwargs: keyword arguments.
        deferred: if given, a broken input or result rule is appended to it instead of
            raised (so that a caller can first say what is wrong with the values).

    Returns:
        What ``func`` returned.

    Raises:
        AssertionError: with a message for the learner when a rule is broken, when ``func``
            raised, or when it is not implemented yet.
    """
    verify_integrity()
    label: str = name or str(getattr(func, "__name__", "your function"))
    if _isinstance(args, (str, bytes)) or not _isinstance(args, (tuple, list)):
        raise TypeError(f"args: expected a tuple of arguments, got {_repr(args)[:60]}")
    if kwargs is not None and not _isinstance(kwargs, Mapping):
        raise TypeError(f"kwargs: expected a dict of keyword arguments, got {_repr(kwargs)[:60]}")
    if not callable(func):
        raise AssertionError(f"{label}: expected a function, got {type(func).__name__}")
    for ref in own_work:  # a test written wrongly fails here, not as the learner's error
        _python_functions(ref)
    args = tuple(args)
    kw = dict(kwargs or {})
    before = [_snapshot(a) for a in args] if inputs_unchanged else []
    recursion: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            hits = stack.enter_context(_traps(own_work))
            stack.enter_context(_earlier_answers(func, earlier or {}))
            if no_recursion:
                recursion = stack.enter_context(_recursion_watch())
            try:
                got = func(*args, **kw)
            except (OwnWorkRequired, _RecursionFound):
                got = None
    except NotImplementedError:
        raise AssertionError(f"{label}: not implemented yet") from None
    except RecursionError:
        raise AssertionError(
            f"{label} hit Python's recursion limit: keep your own stack (a list) instead of "
            "calling the function recursively"
        ) from None
    except Exception as exc:
        raise AssertionError(
            f"{label} raised {type(exc).__name__}: {exc} (inputs "
            f"{[getattr(a, 'shape', type(a).__name__) for a in args]})"
        ) from None
    if hits:
        raise AssertionError(
            f"{label}: your function calls {', '.join(hits)} from the course package, which "
            "computes the answer of this exercise. The exercise asks for your own "
            "implementation: write the computation yourself."
        )
    if recursion:
        if recursion[0] == "<profile removed>":
            raise AssertionError(
                f"{label}: the function switched off the test's watch on its calls "
                "(sys.setprofile); remove that line"
            )
        raise AssertionError(
            f"{label}: {recursion[0]} calls itself (recursion), which the exercise rules out, "
            "whatever the recursion limit: keep your own stack (a list) and loop"
        )

    def _broken(message: str) -> None:
        if deferred is None:
            raise AssertionError(message)
        deferred.append(message)

    if inputs_unchanged:
        names = _argument_names(func, _len(args))
        for i, (snap, arg) in enumerate(zip(before, args)):
            if snap is not None and not _same_snapshot(snap, arg):
                _broken(
                    f"{label} changed its input `{names[i]}`: the exercise asks you to leave "
                    "the arguments as they are and return new arrays (write e.g. "
                    "`p = p - lr * g` or `new = old + x`, not `p -= ...`, `old += ...` or "
                    "`arr[...] = ...` on an argument)"
                )
    if new_result:
        names = _argument_names(func, _len(args))
        for i, arg in enumerate(args):
            inputs = _arrays_in(arg)
            for out in _arrays_in(got):
                if any(_shares_memory(out, a) for a in inputs):
                    _broken(
                        f"{label} returned (a view of) its input `{names[i]}`: return a new "
                        "array (e.g. `x.copy()` or the result of an arithmetic expression)"
                    )
            containers = [id(c) for c in _containers_in(arg)]
            if any(id(c) in containers for c in _containers_in(got)):
                _broken(
                    f"{label} returned the list it was given (`{names[i]}`): build and return "
                    "a new list"
                )
    return got


#: The rules :func:`graded` passes on to :func:`call_checked`.
_CALL_RULES = frozenset({"own_work", "inputs_unchanged", "new_result", "no_recursion", "earlier"})


def graded(func: Any, name: str | None = None, **rules: Any) -> Callable[..., Any]:
    """``func`` wrapped so that every call goes through :func:`call_checked` with ``rules``.

    For tests that call a learner's function directly: ``backward = G.graded(backward,
    own_work=[Value.backward])`` and then ``backward(root)`` as usual.
    """
    label: str = name or str(getattr(func, "__name__", "your function"))
    unknown = sorted(set(rules) - _CALL_RULES)
    if unknown:
        raise TypeError(f"graded: unknown rule(s) {unknown}; the rules are {sorted(_CALL_RULES)}")

    def run(*args: Any, **kwargs: Any) -> Any:
        return call_checked(func, args, label, kwargs=kwargs, **rules)

    run.__name__ = label
    with contextlib.suppress(TypeError, ValueError):
        run.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
    return run


def _copies(case: Sequence[Any]) -> tuple[Any, ...]:
    def dup(a: Any, depth: int = 0) -> Any:
        if _isinstance(a, _ndarray):
            return a.copy()
        if depth < 3 and _isinstance(a, list):
            return [dup(v, depth + 1) for v in a]
        if depth < 3 and _isinstance(a, tuple):
            return tuple(dup(v, depth + 1) for v in a)
        return a

    return tuple(dup(a) for a in case)


def check_function(
    func: Any,
    reference: Callable[..., Any],
    cases: Iterable[tuple[Any, ...]],
    name: str | None = None,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    mistakes: Mapping[str, Callable[..., Any]] | None = None,
    batch_size_arg: int | None = None,
    own_work: Sequence[Any] = (),
    inputs_unchanged: bool = True,
    new_result: bool = True,
    no_recursion: bool = False,
    earlier: Mapping[str, Any] | None = None,
) -> None:
    """Call ``func`` and ``reference`` on each argument tuple and compare the results.

    Results may be arrays or tuples/lists of arrays (compared element by element).
    ``mistakes`` maps an explanation to a function computing a typical wrong answer; a match
    names the mistake. ``batch_size_arg`` is the position of the argument whose first
    dimension is the batch size, for recognising a sum in place of a mean.

    The learner's function gets the test's own arrays and runs under the rules of
    :func:`call_checked` (``own_work``, ``inputs_unchanged``, ``new_result``,
    ``no_recursion``, ``earlier``); the reference and the mistakes get fresh copies
    afterwards, with no trap in place.
    """
    verify_integrity()
    label: str = name or str(getattr(func, "__name__", "your function"))
    _check_tolerances(rtol, atol)
    if not callable(reference):
        raise TypeError(f"reference: expected a function, got {type(reference).__name__}")
    cases = list(cases)
    if not cases:
        raise ValueError("cases: expected at least one tuple of arguments, got none")
    for i, case in enumerate(cases):
        if not _isinstance(case, (tuple, list)):
            raise TypeError(f"cases[{i}]: expected a tuple of arguments, got {_repr(case)[:60]}")
        if batch_size_arg is not None and not (
            _isinstance(batch_size_arg, int) and 0 <= batch_size_arg < _len(case)
        ):
            raise ValueError(
                f"batch_size_arg: expected the position of an argument of cases[{i}] "
                f"(0..{_len(case) - 1}), got {_repr(batch_size_arg)}"
            )
    if not callable(func):
        raise AssertionError(f"{label}: expected a function, got {type(func).__name__}")
    for case in cases:
        pristine = _copies(case)
        args = _copies(case)
        deferred: list[str] = []
        got = call_checked(
            func, args, label, own_work=own_work, inputs_unchanged=inputs_unchanged,
            new_result=new_result, no_recursion=no_recursion, earlier=earlier,
            deferred=deferred,
        )  # fmt: skip
        want = reference(*_copies(pristine))
        wrong = {d: f(*_copies(pristine)) for d, f in (mistakes or {}).items()}
        n = None
        if batch_size_arg is not None:
            n = int(getattr(pristine[batch_size_arg], "shape", (0,))[0])
        if _isinstance(want, (tuple, list)):
            if not _isinstance(got, (tuple, list)) or _len(got) != _len(want):
                raise AssertionError(
                    f"{label}: expected a {type(want).__name__} of {_len(want)} results, got "
                    f"{type(got).__name__}"
                    + (f" of length {_len(got)}" if _isinstance(got, (tuple, list)) else "")
                )
            for i, (g, w) in enumerate(zip(got, want)):
                known = {d: v[i] for d, v in wrong.items() if _isinstance(v, (tuple, list))}
                check_array(
                    g, w, f"{label} result {i}", rtol=rtol, atol=atol,
                    known_mistakes=known, batch_size=n,
                )  # fmt: skip
        else:
            check_array(got, want, label, rtol=rtol, atol=atol, known_mistakes=wrong, batch_size=n)
        if deferred:
            raise AssertionError(deferred[0])


# ---------------------------------------------------------------------------------------------
# SymPy comparison
# ---------------------------------------------------------------------------------------------


def _sympify(name: str, value: Any) -> sympy.Expr:
    if value is None:
        raise AssertionError(f"{name}: your code produced None. Did you forget to assign it?")
    if isinstance(value, (str, bytes)):
        raise AssertionError(
            f"{name}: expected a SymPy expression, got the string {value!r}; build it from "
            "SymPy symbols and functions instead of writing it as text"
        )
    try:
        expr = sympy.sympify(value, strict=True)
    except (sympy.SympifyError, TypeError) as exc:
        raise AssertionError(
            f"{name}: expected a SymPy expression, got {type(value).__name__} ({exc})"
        ) from None
    if not isinstance(expr, sympy.Expr):
        raise AssertionError(f"{name}: expected a SymPy expression, got {type(expr).__name__}")
    return expr


def _evaluator(symbols: list[Any], expr: Any) -> Callable[..., float]:
    """A float-valued function of ``symbols`` for ``expr``.

    Uses the ``math`` module, and falls back to mpmath's complex arithmetic for forms whose
    intermediate terms are complex (e.g. a sine rewritten with exponentials); the result must
    then be real up to round-off.
    """
    fast = sympy.lambdify(symbols, expr, modules="math")
    slow = sympy.lambdify(symbols, expr, modules="mpmath")

    def evaluate(*point: float) -> float:
        try:
            return _float(fast(*point))
        except (ValueError, TypeError):
            value = complex(slow(*point))
            if abs(value.imag) > 1e-9 * max(abs(value.real), 1.0):
                raise ValueError(f"the value {value} is not real") from None
            return value.real

    return evaluate


def _check_count(label: str, value: Any, minimum: int) -> None:
    """A setting of the test that must be an integer >= minimum (the test's error if not)."""
    if _isinstance(value, _bool) or not _isinstance(value, int) or value < minimum:
        raise ValueError(f"{label}: expected an integer >= {minimum}, got {_repr(value)}")


def _check_real(label: str, value: Any) -> float:
    """A setting of the test that must be a finite real number (the test's error if not)."""
    if _isinstance(value, _bool) or not _isinstance(value, (int, _float, numpy.floating)):
        raise TypeError(f"{label}: expected a finite number, got {_repr(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{label}: expected a finite number, got {_repr(value)}")
    return _float(value)


def _check_substitutions(substitutions: Any) -> None:
    if substitutions is not None and not _isinstance(substitutions, Mapping):
        raise TypeError(
            "substitutions: expected a dict {symbol: expression} or None, got "
            f"{_repr(substitutions)[:60]}"
        )


def sympy_function(
    expr: Any,
    symbols: Sequence[Any],
    name: str = "answer",
    *,
    substitutions: Mapping[Any, Any] | None = None,
) -> Callable[..., float]:
    """A float-valued function of ``symbols`` for a learner's SymPy answer.

    The same evaluation path as :func:`check_sympy` (``math``, falling back to complex
    arithmetic for forms with complex intermediate terms, e.g. rewrites with exponentials), so
    a hidden test built on it accepts every form the visible check accepts. Fails like
    :func:`check_sympy` for text, ``None`` or a symbol outside ``symbols``.
    """
    verify_integrity()
    if _isinstance(symbols, (str, bytes)) or not _isinstance(symbols, (tuple, list)):
        raise TypeError(f"symbols: expected a list of SymPy symbols, got {_repr(symbols)[:60]}")
    _check_substitutions(substitutions)
    got = _sympify(name, expr)
    if substitutions:
        got = got.subs(dict(substitutions))
    extra = got.free_symbols - set(symbols)
    if extra:
        names = ", ".join(sorted(str(s) for s in extra))
        raise AssertionError(
            f"{name}: uses symbol(s) {names} that the right answer does not depend on"
        )
    evaluate = _evaluator(list(symbols), got)

    def value(*point: float) -> float:
        try:
            return evaluate(*(_float(p) for p in point))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
            raise AssertionError(
                f"{name}: could not be evaluated at {dict(zip(symbols, point))}: {exc}"
            ) from None

    return value


def check_sympy(
    answer: Any,
    expected: Any,
    name: str = "answer",
    *,
    substitutions: Mapping[Any, Any] | None = None,
    known_mistakes: Mapping[str, Any] | None = None,
    n_points: int = 12,
    seed: int = 0,
    low: float = 0.1,
    high: float = 2.0,
    rtol: float = 1e-9,
) -> None:
    """Check a SymPy answer: equal to ``expected`` for every value of its symbols.

    The answer passes when (1) it involves no symbol ``expected`` does not, (2) it agrees with
    ``expected`` at ``n_points`` random points with coordinates in ``[low, high]``, and (3)
    the agreement of (2) holds at three times as many further points, or, where rounding spoils
    that, ``answer - expected`` simplifies to 0 (written with exponentials, or as it is). So
    ``1 - tanh(z)**2`` and ``sech(z)**2`` both pass; with ``substitutions={a: tanh(z)}`` so
    does ``1 - a**2``. The points come first because ``simplify`` can take seconds on a right
    answer written with other functions (``sech`` for ``1 - tanh**2`` in a longer formula)
    where evaluating at points takes milliseconds; the simplification only decides the rare
    case the points cannot.

    Raises:
        AssertionError: saying whether the sign, a factor of 2, a known mistake or simply the
            values are wrong, and at which point.
    """
    verify_integrity()
    _check_substitutions(substitutions)
    _check_count("n_points", n_points, 1)
    _check_count("seed", seed, 0)
    bounds = [_check_real(label, v) for label, v in (("low", low), ("high", high), ("rtol", rtol))]
    if not bounds[0] < bounds[1]:
        raise ValueError(f"high: expected a number above low = {low!r}, got {high!r}")
    if bounds[2] <= 0:
        raise ValueError(f"rtol: expected a positive number, got {rtol!r}")
    subs = dict(substitutions or {})
    got = _sympify(name, answer)
    want = _sympify(f"{name} (expected)", expected)
    if subs:
        got = got.subs(subs)
        want = want.subs(subs)
    extra = got.free_symbols - want.free_symbols
    if extra:
        names = ", ".join(sorted(str(s) for s in extra))
        raise AssertionError(
            f"{name}: uses symbol(s) {names} that the right answer does not depend on"
        )
    symbols = sorted(want.free_symbols | got.free_symbols, key=str)
    f_got = _evaluator(symbols, got)
    f_want = _evaluator(symbols, want)
    rng = _default_rng(seed)

    def disagreement(n: int) -> tuple[Any, float, float] | None:
        for _ in range(n):
            point = [_float(v) for v in rng.uniform(low, high, size=_len(symbols))]
            try:
                a, b = f_got(*point), f_want(*point)
            except (ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
                raise AssertionError(
                    f"{name}: could not be evaluated at {dict(zip(symbols, point))}: {exc}"
                ) from None
            if abs(a - b) > rtol * max(abs(a), abs(b), 1e-12):
                return point, a, b
        return None

    bad = disagreement(n_points)
    if bad is not None:
        point, a, b = bad
        for description, wrong in (known_mistakes or {}).items():
            w = _sympify(name, wrong).subs(subs)
            if w.free_symbols <= set(symbols):
                wa = _evaluator(symbols, w)(*point)
                if abs(a - wa) <= rtol * max(abs(a), abs(wa), 1e-12):
                    raise AssertionError(f"{name}: {description}")
        at = ", ".join(f"{s}={v:.3g}" for s, v in zip(symbols, point))
        if abs(a + b) <= rtol * max(abs(a), 1e-12) and b != 0:
            raise AssertionError(
                f"{name}: the sign is wrong (at {at} got {a:.6g}, expected {b:.6g})"
            )
        if b != 0 and abs(a / b - 2) < 1e-9:
            raise AssertionError(f"{name}: twice the expected value (an extra factor of 2)")
        if b != 0 and abs(a / b - 0.5) < 1e-9:
            raise AssertionError(f"{name}: half the expected value (a factor of 2 is missing)")
        raise AssertionError(
            f"{name}: not equal to the expected expression (at {at} got {a:.6g}, expected {b:.6g})"
        )
    if disagreement(3 * n_points) is None:
        return
    # Further points disagree although the first ones all agreed: rounding, or a difference
    # confined to a small region. Only a symbolic zero still passes. (The same test as
    # bpcourse.symbolic.simplify_difference, written out: this module imports nothing from
    # the package a notebook could have patched.)
    difference = got - want
    if sympy.simplify(difference.rewrite(sympy.exp)) == 0 or sympy.simplify(difference) == 0:
        return
    raise AssertionError(f"{name}: not equal to the expected expression")


# ---------------------------------------------------------------------------------------------
# Sealing: names looked up on this module always resolve to the functions defined above.
# ---------------------------------------------------------------------------------------------

_REGISTRY: Mapping[str, Any] = types.MappingProxyType({n: globals()[n] for n in __all__})


class _SealedMeta(type):
    def __setattr__(cls, key: str, value: Any) -> None:
        raise AttributeError("bpcourse.grading cannot be modified")


class _SealedModule(types.ModuleType, metaclass=_SealedMeta):
    def __getattribute__(self, key: str) -> Any:
        if key in _REGISTRY:
            return _REGISTRY[key]
        return super().__getattribute__(key)

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("__") and key.endswith("__"):  # the import system's bookkeeping
            super().__setattr__(key, value)
            return
        raise AttributeError(
            f"bpcourse.grading.{key} cannot be replaced: the tests rely on these checks"
        )

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"bpcourse.grading.{key} cannot be deleted")


if type(sys.modules[__name__]).__qualname__ != "_SealedModule":  # not again on reload
    sys.modules[__name__].__class__ = _SealedModule
