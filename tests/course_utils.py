"""Helpers shared by the notebook and nbgrader tests: reading lessons, running kernels,
building submissions and grading them in a scratch course with the real gradebook."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
WRONG_ANSWERS_DIR = Path(__file__).resolve().parent / "wrong_answers"


def assignment_ids() -> list[str]:
    """Every lesson of the course, in order."""
    if not SOLUTIONS.is_dir():
        return []
    return sorted(
        p.name for p in SOLUTIONS.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").is_file()
    )


def solution_path(aid: str) -> Path:
    return SOLUTIONS / aid / f"{aid}.ipynb"


def lesson_path(aid: str) -> Path:
    return LESSONS / aid / f"{aid}.ipynb"


def read(path: Path) -> Any:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def is_answer(cell: Any) -> bool:
    m = nbgrader_meta(cell)
    return bool(m.get("solution")) and not m.get("grade") and cell.cell_type == "code"


def is_test(cell: Any) -> bool:
    m = nbgrader_meta(cell)
    return bool(m.get("grade")) and not m.get("solution") and cell.cell_type == "code"


def is_written(cell: Any) -> bool:
    m = nbgrader_meta(cell)
    return bool(m.get("grade")) and bool(m.get("solution")) and cell.cell_type == "markdown"


def grade_id(cell: Any) -> str:
    return str(nbgrader_meta(cell).get("grade_id", ""))


def points(cell: Any) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def answer_tests(nb: Any) -> dict[str, list[str]]:
    """Map each answer cell's grade_id to the test cells that follow it (up to the next answer)."""
    out: dict[str, list[str]] = {}
    current: str | None = None
    for cell in nb.cells:
        if is_answer(cell):
            current = grade_id(cell)
            out[current] = []
        elif is_test(cell) and current is not None:
            out[current].append(grade_id(cell))
    return out


@dataclass(frozen=True)
class WrongAnswer:
    """A plausible wrong answer to one exercise: the whole answer cell's replacement source."""

    answer_id: str
    description: str
    source: str
    message: str | None = None  # a fragment the failing test's message must contain


SOLUTION_TOKEN = "# + solution"


def _catalogue(aid: str) -> Any:
    path = WRONG_ANSWERS_DIR / f"{aid}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{aid}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _with_solution(aid: str, answer_id: str, src: str) -> str:
    """A source whose first line is ``# + solution`` gets the instructor's answer in front of it
    (so a variant can redefine one function of a cell and keep the others right)."""
    if not src.lstrip().startswith(SOLUTION_TOKEN):
        return src
    cells = {grade_id(c): c.source for c in read(solution_path(aid)).cells if grade_id(c)}
    return strip_markers(cells[answer_id]) + "\n\n" + src.lstrip()[len(SOLUTION_TOKEN) :]


def wrong_answers(aid: str) -> list[WrongAnswer]:
    """Load the wrong answers of ``tests/wrong_answers/<aid>.py``.

    It defines ``WRONG_ANSWERS = {answer_id: [(description, source, message?), ...]}``.
    """
    module = _catalogue(aid)
    if module is None:
        return []
    out = []
    for answer_id, items in module.WRONG_ANSWERS.items():
        for item in items:
            desc, src, *rest = item
            src = _with_solution(aid, answer_id, src)
            out.append(WrongAnswer(answer_id, desc, src, rest[0] if rest else None))
    return out


def right_answers(aid: str) -> list[WrongAnswer]:
    """Load ``RIGHT_ANSWERS = {answer_id: [(description, source), ...]}``: correct answers
    written differently from the instructor's, each of which must score full marks."""
    module = _catalogue(aid)
    if module is None:
        return []
    return [
        WrongAnswer(answer_id, desc, _with_solution(aid, answer_id, src))
        for answer_id, items in getattr(module, "RIGHT_ANSWERS", {}).items()
        for desc, src in items
    ]


OWN_WORK_MESSAGE = "own implementation"


def delegating_answers(
    name: str, module: str, attr: str, via: str | None = None, *, keep_solution: bool = True
) -> list[tuple[str, str, str]]:
    """The answer ``def name(...)`` that hands the work to ``module.attr``, written the ways a
    learner might: a direct call, an alias, ``from ... import ... as``, ``getattr`` by string,
    ``importlib``, and through another module's namespace (``via``, an expression; default
    ``sys.modules[module]``). Each must score 0 with a message asking for own work."""
    head = SOLUTION_TOKEN + "\n" if keep_solution else ""
    forward = "(*args, **kwargs)"
    via = via or f"sys.modules[{module!r}].{attr}"
    forms = {
        "direct call": (f"import {module}\n", f"{module}.{attr}"),
        "an alias": (f"import {module}\n_ref = {module}.{attr}\n", "_ref"),
        "import as": (f"from {module} import {attr} as _helper\n", "_helper"),
        "getattr by string": (f"import {module}\n", f"getattr({module}, {attr!r})"),
        "importlib": ("import importlib\n", f"importlib.import_module({module!r}).{attr}"),
        "another module's namespace": ("import sys\nimport bpcourse.dynamics\n", via),
    }
    return [
        (
            f"delegates to {module}.{attr} ({form})",
            f"{head}{setup}\ndef {name}(*args, **kwargs):\n    return {call}{forward}\n",
            OWN_WORK_MESSAGE,
        )
        for form, (setup, call) in forms.items()
    ]


# ---------------------------------------------------------------------------------------------
# Submissions and grading in a scratch course
# ---------------------------------------------------------------------------------------------


def student_version(aid: str, replace: dict[str, str] | None = None, solved: bool = True) -> Any:
    """The released notebook as a student would submit it.

    With ``solved``, every answer cell (code and written) holds the instructor's answer;
    ``replace`` maps an answer's grade_id to other source (e.g. a wrong answer).
    """
    release = read(lesson_path(aid))
    source = {grade_id(c): c.source for c in read(solution_path(aid)).cells if grade_id(c)}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        if (is_answer(cell) or is_written(cell)) and solved:
            cell.source = strip_markers(source[gid])
        if replace and gid in replace:
            cell.source = replace[gid]
    return nb


def strip_markers(src: str) -> str:
    """Remove the nbgrader solution markers, keeping the solution between them."""
    keep = [
        line
        for line in src.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    ]
    return "\n".join(keep)


def make_course(tmp: Path, ids: list[str], config_extra: str = "") -> Path:
    """A scratch course directory with the course's config and sources, releases generated."""
    from bpcourse.cli import ensure_tools_on_path

    ensure_tools_on_path()
    course = tmp / "course"
    course.mkdir()
    config = (ROOT / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + "\n" + config_extra)
    for aid in ids:
        shutil.copytree(SOLUTIONS / aid, course / "solutions" / aid)
    api = nbgrader_api(course)
    for aid in ids:
        result = api.generate_assignment(aid, force=True)
        assert result["success"], result.get("log")
    return course


def nbgrader_api(course: Path) -> Any:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from bpcourse.cli import load_config

    config = load_config(course)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def submit(course: Path, aid: str, student: str, nb: Any) -> Path:
    path = course / "submitted" / student / aid / f"{aid}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def autograde(course: Path, aid: str, student: str) -> dict[str, Any]:
    api = nbgrader_api(course)
    result = api.autograde(aid, student, force=True, create=True)
    return dict(result)


def scores(course: Path, aid: str, student: str) -> dict[str, float]:
    """Code score, its maximum and the per-test-cell scores recorded in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bpcourse") as gb:
        sub = gb.find_submission(aid, student)
        out = {"code_score": float(sub.code_score), "max_code_score": float(sub.max_code_score)}
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.cell_type == "code":
                    out[grade.name] = float(grade.score)
        return out


def graded_errors(course: Path, aid: str, student: str) -> dict[str, list[tuple[str, str]]]:
    """The errors the graded cells of a student's autograded notebook show:
    grade_id -> [(ename, evalue), ...] (several where a cell was duplicated)."""
    graded = read(course / "autograded" / student / aid / f"{aid}.ipynb")
    out: dict[str, list[tuple[str, str]]] = {}
    for cell in graded.cells:
        for o in cell.get("outputs", []):
            if grade_id(cell) and o.get("output_type") == "error":
                out.setdefault(grade_id(cell), []).append((o.get("ename", ""), o.get("evalue", "")))
    return out


def python() -> str:
    return sys.executable
