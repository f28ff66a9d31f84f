"""Helpers shared by the notebook and nbgrader tests: reading lessons, running kernels,
building submissions and grading them in a scratch course with the real gradebook."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


def wrong_answers(aid: str) -> list[WrongAnswer]:
    """Load ``tests/wrong_answers/<aid>.py``.

    It defines ``WRONG_ANSWERS = {answer_id: [(description, source, message?), ...]}``.
    """
    path = WRONG_ANSWERS_DIR / f"{aid}.py"
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{aid}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = []
    for answer_id, items in module.WRONG_ANSWERS.items():
        for item in items:
            desc, src, *rest = item
            out.append(WrongAnswer(answer_id, desc, src, rest[0] if rest else None))
    return out


# ---------------------------------------------------------------------------------------------
# A kernel driven cell by cell
# ---------------------------------------------------------------------------------------------


@dataclass
class CellResult:
    status: str
    ename: str = ""
    evalue: str = ""
    stdout: str = ""


class Kernel:
    """A real IPython kernel (the course's own interpreter) that runs code in a directory."""

    def __init__(self, cwd: Path, timeout: float = 120.0) -> None:
        from jupyter_client.manager import start_new_kernel

        self.timeout = timeout
        self.km, self.kc = start_new_kernel(
            kernel_name="python3", cwd=str(cwd), extra_arguments=["--HistoryManager.enabled=False"]
        )

    def run(self, code: str) -> CellResult:
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"].get("text", ""))

        reply = self.kc.execute_interactive(
            code, timeout=self.timeout, output_hook=hook, allow_stdin=False
        )
        content = reply["content"]
        return CellResult(
            content["status"], content.get("ename", ""), content.get("evalue", ""), "".join(out)
        )

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@contextmanager
def kernel(cwd: Path, timeout: float = 120.0) -> Iterator[Kernel]:
    k = Kernel(cwd, timeout)
    try:
        yield k
    finally:
        k.close()


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


def python() -> str:
    return sys.executable
