"""Faulty and hostile submissions of a lesson, generated from its released notebook.

Each :class:`Case` is one student's submission folder (its files, byte for byte) and what
grading must make of it: graded or failed, the code score, a fragment of the reason or of the
notes, the error names the graded notebook must show. Scores are derived from the lesson's
structure, so the cases follow the lessons as they change:

- ``full``: every test's points;
- ``without_target``: full minus the tests of the *target* exercise, the last exercise with
  tests (nothing after it can depend on it). Faults are put into the target's answer cell.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nbformat

from course_utils import (
    answer_tests,
    grade_id,
    is_answer,
    is_test,
    lesson_path,
    points,
    read,
    solution_path,
    strip_markers,
    student_version,
    wrong_answers,
)

__all__ = ["Case", "Lesson", "cases", "lesson", "structural_submissions"]

GRADED = "graded"
FAILED = "failed"
NON_ASCII_STUDENT = "élève_学生_ü"
LATE_BY_SECONDS = 2 * 86400 + 3600


@dataclass(frozen=True)
class Lesson:
    """What the cases need to know about one lesson."""

    aid: str
    release: Any
    solution: Any
    test_points: dict[str, float]
    links: dict[str, list[str]]  # answer grade_id -> its test grade_ids
    target: str  # the answer grade_id that faults go into

    @property
    def full(self) -> float:
        return sum(self.test_points.values())

    @property
    def target_tests(self) -> list[str]:
        return self.links[self.target]

    @property
    def without_target(self) -> float:
        return self.full - sum(self.test_points[t] for t in self.target_tests)

    @property
    def notebook(self) -> str:
        return f"{self.aid}.ipynb"


def lesson(aid: str) -> Lesson:
    solution = read(solution_path(aid))
    links = {a: t for a, t in answer_tests(solution).items() if t}
    return Lesson(
        aid=aid,
        release=read(lesson_path(aid)),
        solution=solution,
        test_points={grade_id(c): points(c) for c in solution.cells if is_test(c)},
        links=links,
        target=list(links)[-1],
    )


@dataclass(frozen=True)
class Case:
    """One faulty submission and what grading must make of it."""

    student: str
    what: str
    files: dict[str, bytes]
    status: str
    score: float | None = None  # expected code score when graded
    reason: str = ""  # fragment of the failure reason (lower case)
    note: str = ""  # fragment of one of the notes (lower case)
    enames: dict[str, frozenset[str]] = field(default_factory=dict)  # grade_id -> one of
    late_by: float = 0.0  # seconds after the due date (timestamp.txt)
    max_seconds: float | None = None  # grading this student must not take longer


# ---------------------------------------------------------------------------------------------
# Building notebooks
# ---------------------------------------------------------------------------------------------


def _dump(nb: Any) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _index(nb: Any, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def _solution_source(les: Lesson, answer: str) -> str:
    cell = next(c for c in les.solution.cells if grade_id(c) == answer)
    return strip_markers(cell.source)


def _stub_source(les: Lesson, answer: str) -> str:
    return next(c for c in les.release.cells if grade_id(c) == answer).source


def _wrong_source(les: Lesson, answer: str) -> str:
    """A plausible wrong answer (numbers, not an exception) where the lesson lists one."""
    for w in wrong_answers(les.aid):
        if w.answer_id == answer:
            return w.source
    return _stub_source(les, answer)


def _with(les: Lesson, change: Callable[[Any], None]) -> dict[str, bytes]:
    nb = student_version(les.aid)
    change(nb)
    return {les.notebook: _dump(nb)}


def _answer(les: Lesson, source: str) -> dict[str, bytes]:
    """The perfect submission with the target answer cell replaced by ``source``."""

    def change(nb: Any) -> None:
        nb.cells[_index(nb, les.target)].source = source

    return _with(les, change)


# ---------------------------------------------------------------------------------------------
# Edits a student might make (each changes a notebook in place)
# ---------------------------------------------------------------------------------------------


def _read_only_code(nb: Any) -> list[int]:
    return [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and c.get("metadata", {}).get("nbgrader", {}).get("locked")
        and not is_test(c)
        and not is_answer(c)
    ]


def delete_cell(nb: Any, gid: str) -> None:
    del nb.cells[_index(nb, gid)]


def strip_metadata(nb: Any, gid: str) -> None:
    nb.cells[_index(nb, gid)].metadata = {}


def edit_source(nb: Any, gid: str) -> None:
    nb.cells[_index(nb, gid)].source = "pass  # the test was removed by the student"


def to_markdown(nb: Any, gid: str) -> None:
    i = _index(nb, gid)
    old = nb.cells[i]
    cell = nbformat.v4.new_markdown_cell(old.source)
    cell.metadata = old.metadata
    cell["id"] = old.get("id", cell["id"])
    nb.cells[i] = cell


def duplicate(nb: Any, gid: str) -> None:
    i = _index(nb, gid)
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    nb.cells[i + 1]["id"] = nb.cells[i]["id"] + "-copy"


def edit_points(nb: Any, gid: str) -> None:
    for cell in nb.cells:  # every copy, should there be several
        if grade_id(cell) == gid:
            cell.metadata["nbgrader"]["points"] = 100


def break_setup(nb: Any) -> None:
    nb.cells[_read_only_code(nb)[0]].source = "import math  # the rest was deleted"


def delete_setup(nb: Any) -> None:
    del nb.cells[_read_only_code(nb)[0]]


def forge_grade_cell(nb: Any, after: str) -> None:
    cell = nbformat.v4.new_code_cell("print('bonus')")
    cell.metadata["nbgrader"] = {
        "grade": True, "solution": False, "locked": True, "task": False,
        "grade_id": "bonus_points_for_me", "points": 100, "schema_version": 3,
    }  # fmt: skip
    nb.cells.insert(_index(nb, after) + 1, cell)


def unknown_kernel(nb: Any) -> None:
    nb.metadata["kernelspec"] = {
        "name": "python2-legacy", "display_name": "Python 2 (legacy)", "language": "python",
    }  # fmt: skip


def answer_in_new_cell(les: Lesson, nb: Any, answer: str) -> None:
    i = _index(nb, answer)
    nb.cells[i].source = _stub_source(les, answer)
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell(_solution_source(les, answer)))


def _on_tests(les: Lesson, edit: Callable[[Any, str], None]) -> Callable[[Any], None]:
    """Apply ``edit`` to each test cell of the target exercise."""

    def apply(nb: Any) -> None:
        for gid in les.target_tests:
            edit(nb, gid)

    return apply


def structural_submissions(les: Lesson) -> dict[str, dict[str, bytes]]:
    """Two submissions with many structural faults each, on different test cells.

    Used where no kernel runs (nbgrader's sanitizing step alone), so one notebook can carry
    several faults and each is checked on its own cell. Needs four test cells.
    """
    tests = [grade_id(c) for c in les.solution.cells if is_test(c)]
    first, second = tests[:4], tests[-4:]

    def many_a(nb: Any) -> None:
        delete_cell(nb, first[0])
        strip_metadata(nb, first[1])
        to_markdown(nb, first[2])
        duplicate(nb, first[3])
        edit_points(nb, first[3])
        delete_setup(nb)

    def many_b(nb: Any) -> None:
        edit_source(nb, second[0])
        edit_points(nb, second[1])
        duplicate(nb, second[2])
        break_setup(nb)
        forge_grade_cell(nb, after=second[3])
        answer_in_new_cell(les, nb, les.target)
        unknown_kernel(nb)

    return {"many_faults_a": _with(les, many_a), "many_faults_b": _with(les, many_b)}


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

# The cap counts address space, so the bomb asks for memory without writing to it (bytes(n) is
# zero memory straight from the system): it reaches the cap within milliseconds however slowly
# the machine hands out pages. Filling the pages as well (bytearray) took 0.5 s on a quiet
# machine and over the scratch course's 6 s cell timeout on a loaded one.
MEMORY_BOMB = """import resource
# Run the bomb only under a cap: without one it would take the grading machine down.
assert resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY, "no memory cap"
hog = []
while True:
    hog.append(bytes(2**28))
"""

ALLCLOSE_PATCH = """import numpy as np
import numpy.testing
import math
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: np.ones(np.shape(args[0]), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True
"""

HELPERS_PATCH = """import sys
import types
import bpcourse.grading
_fake = types.SimpleNamespace(
    **{n: (lambda *args, **kwargs: None) for n in dir(bpcourse.grading) if n.startswith("check")},
    verify_integrity=lambda: None,
)
for _name in vars(_fake):
    try:
        setattr(bpcourse.grading, _name, getattr(_fake, _name))
    except AttributeError:
        pass
sys.modules["bpcourse.grading"] = _fake
G = _fake
"""

FAKE_RESULT_HOOK = """ip = get_ipython()
ip.events.register("pre_run_cell", lambda info: ip.displayhook(1e9))
"""


def cases(les: Lesson, timeout: float, slow_seconds: float) -> list[Case]:
    """Every case for one lesson. ``timeout`` is the per-cell timeout the course uses."""
    full, partial = les.full, les.without_target
    target, tests = les.target, les.target_tests
    nb_name = les.notebook
    solution = _solution_source(les, target)
    wrong = _wrong_source(les, target)

    def on_target(*names: str) -> dict[str, frozenset[str]]:
        return {target: frozenset(names)}

    def on_tests(*names: str) -> dict[str, frozenset[str]]:
        return {t: frozenset(names) for t in tests}

    def vandal(nb: Any) -> None:
        code = (
            "from pathlib import Path\n"
            "_root, _aid = Path.cwd().parents[2] / 'submitted', Path.cwd().name\n"
            "for _who in ('control', Path.cwd().parent.name):\n"
            "    for _p in (_root / _who / _aid).glob('*.ipynb'):\n"
            "        _p.write_text('{\"broken\": true')\n"
            "(_root / 'control' / _aid / 'extra.py').write_text('x = 1')\n"
        )
        nb.cells.insert(_index(nb, target) + 1, nbformat.v4.new_code_cell(code))

    def non_ascii(nb: Any) -> None:
        note = "Notizen: Ableitung ∂L/∂w — ça marche ✓ 学习"
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(note))
        i = _index(nb, target)
        nb.cells[i].source = "# dérivée — ∂L/∂w, 反向传播 ✓\n" + solution + "\n_note = 'grüße ✓'\n"

    def delete_tests(nb: Any) -> None:
        for gid in tests:
            delete_cell(nb, gid)

    perfect = _with(les, lambda nb: None)
    corrupt = perfect[nb_name][: len(perfect[nb_name]) // 2]
    slow_answer = f"import time\ntime.sleep({slow_seconds})\n{solution}"
    million_lines = "print('\\n'.join(str(i) for i in range(10**6)))\n" + solution
    loop = "while True:\n    pass\n"
    deaf_loop = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" + loop
    recursion = "def _down(n):\n    return _down(n + 1)\n\n_down(0)\n"
    hang_limit = timeout + 30

    def wrong_with_edited_tests(nb: Any) -> None:
        _on_tests(les, edit_source)(nb)
        nb.cells[_index(nb, target)].source = wrong

    return [
        Case("control", "the instructor's answers, untouched", perfect, GRADED, full),
        Case("infinite_loop", "an endless loop in an answer", _answer(les, loop), GRADED, partial,
             note="timed out", enames=on_target("CellTimeoutError", "KeyboardInterrupt"),
             max_seconds=hang_limit),
        Case("slow_correct", "a correct answer, slow but within the timeout",
             _answer(les, slow_answer), GRADED, full),
        Case("sigint_ignored", "an endless loop that ignores Ctrl-C (SIGINT)",
             _answer(les, deaf_loop), GRADED, partial, note="ignored the interrupt",
             enames=on_target("UnresponsiveCellError"), max_seconds=hang_limit + timeout),
        Case("memory_bomb", "allocates memory without end", _answer(les, MEMORY_BOMB), GRADED,
             partial, enames=on_target("MemoryError", "KernelDiedError")),
        Case("os_exit", "os._exit() in an answer", _answer(les, "import os\nos._exit(1)\n"),
             GRADED, partial, note="killed the kernel", enames=on_target("KernelDiedError")),
        Case("sys_exit", "sys.exit() in an answer", _answer(les, "import sys\nsys.exit(3)\n"),
             GRADED, partial, enames=on_target("SystemExit")),
        Case("keyboard_interrupt", "raises KeyboardInterrupt",
             _answer(les, "raise KeyboardInterrupt\n"), GRADED, partial,
             enames=on_target("KeyboardInterrupt")),
        Case("million_lines", "prints a million lines, then answers correctly",
             _answer(les, million_lines), GRADED, full),
        Case("infinite_recursion", "endless recursion", _answer(les, recursion), GRADED, partial,
             enames=on_target("RecursionError", "CellTimeoutError", "KeyboardInterrupt")),
        Case("input_call", "asks for input() before answering",
             _answer(les, "_name = input('Your name: ')\n" + solution), GRADED, partial,
             enames=on_target("StdinNotImplementedError"), max_seconds=hang_limit),
        Case("test_deleted", "the target's test cells deleted", _with(les, delete_tests), GRADED,
             full, note="was missing; restored"),
        Case("test_metadata_stripped", "the target's test cells without nbgrader metadata",
             _with(les, _on_tests(les, strip_metadata)), GRADED, full,
             note="was missing; restored"),
        Case("test_edited", "the target's tests replaced by `pass`, with a wrong answer",
             _with(les, wrong_with_edited_tests), GRADED, partial),
        Case("read_only_edited", "the read-only setup cell cut down to one import",
             _with(les, break_setup), GRADED, full, note="read-only cell"),
        Case("test_duplicated", "each target test cell pasted twice",
             _with(les, _on_tests(les, duplicate)), GRADED, full,
             note="more than once"),
        Case("test_to_markdown", "the target's test cells turned into markdown",
             _with(les, _on_tests(les, to_markdown)), GRADED, full,
             note="type changed"),
        Case("answer_in_new_cell", "the answer pasted into a new cell, the answer cell untouched",
             _with(les, lambda nb: answer_in_new_cell(les, nb, target)), GRADED, full),
        Case("allclose_patched", "numpy.allclose/isclose/testing patched, with a wrong answer",
             _answer(les, ALLCLOSE_PATCH + wrong), GRADED, partial, note="tampering",
             enames=on_tests("GradingTamperError")),
        Case("helpers_replaced", "bpcourse.grading's checks replaced and G rebound, wrong answer",
             _answer(les, HELPERS_PATCH + wrong), GRADED, partial, note="tampering",
             enames=on_tests("GradingTamperError")),
        Case("fake_result_hook", "a hook giving every cell a numeric result, wrong answer",
             _answer(les, FAKE_RESULT_HOOK + wrong), GRADED, partial, note="tampering",
             enames=on_tests("GradingTamperError")),
        # the grading sandbox shows a kernel no submitted/ folder: nothing to restore (without
        # the sandbox, the snapshot of submitted/ would put the files back and say so)
        Case("aa_vandal", "overwrites every submitted notebook, adds a file to another folder",
             _with(les, vandal), GRADED, full),
        Case("unknown_kernel", "asks for a kernel that does not exist", _with(les, unknown_kernel),
             GRADED, full, note="replaced"),
        Case(NON_ASCII_STUDENT, "non-ASCII text in cells and in the student id",
             _with(les, non_ascii), GRADED, full),
        Case("late", "submitted two days and an hour after the due date",
             {**perfect, "timestamp.txt": b""}, GRADED, full, late_by=LATE_BY_SECONDS),
        Case("renamed", "the notebook saved under another name",
             {f"{les.aid}_final.ipynb": perfect[nb_name]}, FAILED, reason="renamed"),
        Case("missing_notebook", "a folder with notes but no notebook",
             {"notes.txt": b"I could not finish, sorry.\n"}, FAILED, reason="no notebook"),
        Case("empty_folder", "an empty submission folder", {}, FAILED, reason="empty"),
        Case("corrupt_json", "the notebook truncated halfway (broken JSON)", {nb_name: corrupt},
             FAILED, reason="json"),
    ]  # fmt: skip


def notebook_json(files: dict[str, bytes], name: str) -> Any:
    return json.loads(files[name].decode("utf-8"))
