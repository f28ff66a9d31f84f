"""Faults of the grader itself, outside the kernel, through the real nbgrader round trip.

- Feedback is generated for every graded student, whatever their cells hold: an answer that
  contains the text of nbgrader's hidden-test markers made ``generate_feedback`` fail.
- ``autograded/<student>`` and ``feedback/<student>`` are written into real folders: a
  symbolic link found there (left by an earlier run or planted) is removed first, never
  written through, and the report says so.
- Once the gradebook has a roster (its students), a folder in ``submitted/`` of someone not on
  it (a folder that appeared during an earlier run, a typo) is not graded but reported, with
  what to do; a gradebook without students yet grades every folder (a first run).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
from pathlib import Path

import nbformat
import pytest

from course_utils import (
    grade_id,
    is_answer,
    make_course,
    nbgrader_api,
    read,
    solution_path,
    student_version,
)

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("grader-faults")]

LESSON = "02_computational_graphs"
CONFIG = "c.Execute.timeout = 10\n"


def _enrol(course: Path, *students: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bpcourse") as gb:
        for student in students:
            gb.update_or_create_student(student)


def _submit(course: Path, student: str, nb: object) -> None:
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{LESSON}.ipynb"))


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _grade(course: Path, students: list[str] | None = None) -> dict[str, object]:
    from bpcourse.autograde import classroom

    with contextlib.redirect_stdout(io.StringIO()):
        results = classroom.grade_assignment(course, LESSON, students)
    return {r.student: r for r in results}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_course(tmp_path_factory.mktemp("faults"), [LESSON], CONFIG)


def test_feedback_is_generated_when_an_answer_holds_the_hidden_test_markers(course: Path) -> None:
    nb = student_version(LESSON)
    answers = [c for c in nb.cells if is_answer(c) and grade_id(c)]
    answers[0].source += "\n# my notes: ### BEGIN HIDDEN TESTS (what does the teacher hide?)\n"
    answers[1].source += "\n# ### END HIDDEN TESTS\n# ### BEGIN HIDDEN TESTS\n"
    _enrol(course, "marker_text", "marker_control")
    _submit(course, "marker_text", nb)
    _submit(course, "marker_control", student_version(LESSON))
    results = _grade(course, ["marker_text", "marker_control"])
    assert results["marker_text"].score == results["marker_control"].score > 0
    api = nbgrader_api(course)
    hidden = [
        line.strip()
        for c in read(solution_path(LESSON)).cells
        if "### BEGIN HIDDEN TESTS" in c.source and not is_answer(c)
        for line in c.source.split("### BEGIN HIDDEN TESTS")[1]
        .split("### END HIDDEN TESTS")[0]
        .splitlines()
        if len(line.strip()) > 20
    ]
    assert hidden
    for student in ("marker_text", "marker_control"):
        result = api.generate_feedback(LESSON, student, force=True)
        assert result["success"], result.get("log")
        page = (course / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        text = html.unescape(page)
        assert not [ln for ln in hidden if ln in text], "hidden tests in the feedback"
    text = html.unescape(
        (course / "feedback" / "marker_text" / LESSON / f"{LESSON}.html").read_text()
    )
    assert "what does the teacher hide?" in text  # the student's own text is kept


def test_links_where_results_go_are_removed_not_written_through(course: Path) -> None:
    decoy = course / "decoy"
    (decoy / LESSON).mkdir(parents=True)
    (decoy / LESSON / "keep.txt").write_text("must survive")
    (decoy / LESSON / f"{LESSON}.ipynb").write_text("{}")
    before = _digest(decoy)
    solutions_before = _digest(course / "solutions")
    _enrol(course, "linked", "linked_inner")
    _submit(course, "linked", student_version(LESSON))
    _submit(course, "linked_inner", student_version(LESSON))
    (course / "autograded").mkdir(exist_ok=True)
    (course / "feedback").mkdir(exist_ok=True)
    (course / "autograded" / "linked").symlink_to(decoy)
    (course / "feedback" / "linked").symlink_to(course / "solutions")
    (course / "autograded" / "linked_inner").mkdir()
    (course / "autograded" / "linked_inner" / LESSON).symlink_to(decoy / LESSON)
    results = _grade(course, ["linked", "linked_inner"])
    for student in ("linked", "linked_inner"):
        result = results[student]
        assert result.status == "graded" and result.score == result.max_score, result.reason
        assert any("symbolic link" in n and "removed" in n for n in result.notes), result.notes
        graded = course / "autograded" / student / LESSON
        assert not graded.is_symlink() and not graded.parent.is_symlink()
        assert (graded / f"{LESSON}.ipynb").is_file()
    assert not (course / "feedback" / "linked").exists()
    assert _digest(decoy) == before, "written through a link"
    assert _digest(course / "solutions") == solutions_before
    api = nbgrader_api(course)
    assert api.generate_feedback(LESSON, "linked", force=True)["success"]
    assert _digest(course / "solutions") == solutions_before
    assert (course / "feedback" / "linked" / LESSON / f"{LESSON}.html").is_file()


def test_folders_not_on_the_roster_are_reported_not_graded(course: Path) -> None:
    from nbgrader.api import Gradebook

    _enrol(course, "rostered")
    _submit(course, "rostered", student_version(LESSON))
    _submit(course, "stranger", student_version(LESSON))
    results = _grade(course, ["rostered", "stranger"])
    assert results["rostered"].status == "graded" and results["rostered"].score
    stranger = results["stranger"]
    assert stranger.status == "failed" and "not on the roster" in stranger.reason
    assert "nbgrader db student add stranger" in stranger.reason
    assert not (course / "autograded" / "stranger").exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bpcourse") as gb:
        assert "stranger" not in {s.id for s in gb.students}
    _enrol(course, "stranger")  # what the reason says to do
    assert _grade(course, ["stranger"])["stranger"].status == "graded"


def test_a_first_run_without_a_roster_grades_every_folder(tmp_path: Path) -> None:
    fresh = make_course(tmp_path, [LESSON], CONFIG)
    _submit(fresh, "first", student_version(LESSON))
    assert _grade(fresh)["first"].status == "graded"
