"""Autograding faulty and hostile submissions through the real nbgrader pipeline.

One scratch course holds one submission per case of ``faulty_cases`` (generated from the
released notebook of the fastest lesson) next to a clean "control" student and a student of
the roster who submitted nothing. The whole class is graded twice with ``bpcourse grade``
(first through :func:`bpcourse.autograde.classroom.grade_assignment`, then through the command
line), with manual grades set in between through nbgrader's Gradebook API. The scratch course uses a
short per-cell timeout and a smaller memory cap for speed; everything else is the course's own
``nbgrader_config.py``.

Checked for every case: its status, score (per test cell) and the reason or note reported;
the error the graded notebook shows; that no other student's grade moved; that every
submitted file is byte-identical afterwards; that the second run gives the same scores and
keeps the manual grades. Structural cases (deleted, edited, duplicated cells...) are also run
through nbgrader's sanitizing step for every lesson, which needs no kernel.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import faulty_cases as fc
import pytest

from course_utils import (
    assignment_ids,
    grade_id,
    graded_errors,
    is_test,
    is_written,
    lesson_path,
    make_course,
    nbgrader_api,
    read,
    solution_path,
)

# Under pytest-xdist one worker grades the batch (a module fixture) and runs every test that
# reads it; the sanitizing tests, which share another scratch course, form a second group.
pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("faulty-batch")]

IDS = assignment_ids()
TIMEOUT = 6  # per-cell timeout of the scratch course; nbgrader_config.py has the real one
SLOW_SECONDS = 2.0  # the slow-but-correct answer sleeps this long
MEMORY_MB = 1536  # the scratch course's kernel cap: a memory bomb fills it faster
JOBS = 2
DUE = datetime(2026, 1, 10, 12, 0, 0)
NO_SHOW = "no_show"

SCRATCH_CONFIG = f"""
c.Execute.timeout = {TIMEOUT}
c.LimitedKernelManager.memory_limit_mb = {MEMORY_MB}
c.LateSubmissionPlugin.penalty_method = "zero"
"""


def _fastest_lesson() -> str | None:
    """The lesson with the fewest code cells (override: BPCOURSE_FAULTY_LESSON)."""
    chosen = os.environ.get("BPCOURSE_FAULTY_LESSON")
    if chosen:
        return chosen
    if not IDS:
        return None
    return min(
        IDS, key=lambda a: (sum(c.cell_type == "code" for c in read(solution_path(a)).cells), a)
    )


LESSON = _fastest_lesson()
CASES = fc.cases(fc.lesson(LESSON), TIMEOUT, SLOW_SECONDS) if LESSON else []
BY_STUDENT = {c.student: c for c in CASES}
GRADED_CASES = [c for c in CASES if c.status == fc.GRADED]


def _hash_tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _gradebook(course: Path) -> Any:
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bpcourse")


def _cell_scores(course: Path, aid: str) -> dict[str, dict[str, float]]:
    """Per student: code score, total score, max score and every grade cell's score."""
    out: dict[str, dict[str, float]] = {}
    with _gradebook(course) as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(aid, student.id)
            except Exception:
                continue
            row = {
                "code_score": float(sub.code_score),
                "score": float(sub.score),
                "max_score": float(sub.max_score),
                "max_code_score": float(sub.max_code_score),
                "late_penalty": float(sub.late_submission_penalty or 0),
                "seconds_late": float(sub.total_seconds_late or 0),
            }
            for nb in sub.notebooks:
                for grade in nb.grades:
                    row[grade.name] = float(grade.score)
            out[student.id] = row
    return out


@dataclass
class Batch:
    course: Path
    lesson: fc.Lesson
    first: dict[str, Any]  # student -> SubmissionResult
    second: dict[str, dict[str, str]]  # student -> CSV row written by `bpcourse grade`
    cli_exit: int
    cli_output: str
    scores_first: dict[str, dict[str, float]]
    scores_second: dict[str, dict[str, float]]
    manual: dict[str, tuple[str, float, float]]  # student -> (cell, auto score, manual score)
    hashes: list[dict[str, str]]  # submitted/ before, after the first and the second run
    seconds_first: float
    export: list[dict[str, str]]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    if not LESSON:
        pytest.skip("no lesson in solutions/ yet")
    from bpcourse.autograde import classroom
    from bpcourse.autograde.cli import main

    les = fc.lesson(LESSON)
    course = make_course(tmp_path_factory.mktemp("faulty"), [LESSON], SCRATCH_CONFIG)
    with _gradebook(course) as gb:
        gb.update_or_create_assignment(LESSON, duedate=DUE)
        gb.update_or_create_student(NO_SHOW)
        for case in CASES:  # the roster: a folder of someone not on it would not be graded
            gb.update_or_create_student(case.student)
    for case in CASES:
        folder = course / "submitted" / case.student / LESSON
        folder.mkdir(parents=True)
        for name, data in case.files.items():
            if name == "timestamp.txt":
                stamp = DUE + timedelta(seconds=case.late_by)
                data = stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC").encode()
            (folder / name).write_bytes(data)
    hashes = [_hash_tree(course / "submitted")]

    start = time.perf_counter()
    first = {r.student: r for r in classroom.grade_assignment(course, LESSON, jobs=JOBS)}
    seconds_first = time.perf_counter() - start
    hashes.append(_hash_tree(course / "submitted"))
    scores_first = _cell_scores(course, LESSON)

    # A manual grade for every graded student, on a written answer if the lesson has one,
    # otherwise an instructor's override of the first test cell.
    written = [grade_id(c) for c in les.solution.cells if is_written(c)]
    cell = (written or [grade_id(c) for c in les.solution.cells if is_test(c)])[0]
    manual = {}
    with _gradebook(course) as gb:
        for student, result in first.items():
            if result.status != classroom.GRADED:
                continue
            grade = gb.find_grade(cell, LESSON, LESSON, student)
            value = float(grade.max_score) / 2 + 0.25
            manual[student] = (cell, float(grade.auto_score or 0), value)
            grade.manual_score = value
        gb.db.commit()

    table = course / "second.csv"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["--root", str(course), "grade", LESSON, "--jobs", str(JOBS), "--csv", str(table)]
        )
    with table.open(encoding="utf-8") as fh:
        second = {row["student"]: row for row in csv.DictReader(fh)}
    hashes.append(_hash_tree(course / "submitted"))
    scores_second = _cell_scores(course, LESSON)

    export = course / "grades.csv"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--root", str(course), "export-grades", str(export)]) == 0
    with export.open(encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    return Batch(
        course, les, first, second, code, out.getvalue(), scores_first, scores_second, manual,
        hashes, seconds_first, exported,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# One test per case
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.student for c in CASES])
def test_case_is_graded_as_expected(batch: Batch, case: fc.Case) -> None:
    result = batch.first[case.student]
    les = batch.lesson
    assert result.status == case.status, (case.what, result.reason, result.notes)
    if case.status == fc.FAILED:
        assert case.reason in result.reason.lower(), result.reason
        assert batch.scores_first[case.student]["score"] == 0, "a failed submission keeps points"
        return
    scores = batch.scores_first[case.student]
    assert scores["max_code_score"] == les.full, "the maximum changed (extra or doubled points)"
    assert scores["code_score"] == case.score, (case.what, scores, result.notes)
    # the fault costs exactly the target exercise's tests, never another exercise's
    for answer, tests in les.links.items():
        for test in tests:
            lost = case.score != les.full and answer == les.target
            want = 0.0 if lost else les.test_points[test]
            assert scores[test] == want, f"{test}: {scores[test]} (expected {want})"
    if case.note:
        assert any(case.note in n.lower() for n in result.notes), result.notes
    errors = graded_errors(batch.course, LESSON, case.student)
    for gid, names in case.enames.items():
        found = {ename for ename, _ in errors.get(gid, [])}
        assert found & names, f"{gid}: errors {found}, expected {names}"
    if case.max_seconds is not None:
        assert result.seconds < case.max_seconds, f"took {result.seconds:.1f} s"
    if case.late_by:
        assert scores["seconds_late"] == pytest.approx(case.late_by, abs=1)
        assert scores["late_penalty"] == les.full  # penalty_method "zero": the whole score
        assert float(result.late_penalty) == les.full
    else:
        assert scores["late_penalty"] == 0 and scores["seconds_late"] == 0


# ---------------------------------------------------------------------------------------------
# Properties of the whole batch
# ---------------------------------------------------------------------------------------------


def test_control_student_is_unaffected(batch: Batch) -> None:
    full = batch.lesson.full
    assert batch.scores_first["control"]["code_score"] == full
    for note in batch.first["control"].notes:
        assert "submitted files" in note, note  # only the vandal's overwrite is reported
    assert batch.second["control"]["status"] == "graded"


def test_no_false_full_marks(batch: Batch) -> None:
    full = batch.lesson.full
    for case in CASES:
        got = batch.scores_first.get(case.student, {}).get("code_score", 0.0)
        if case.status == fc.FAILED or (case.score is not None and case.score < full):
            assert got < full, f"{case.student} got full marks: {case.what}"


def test_submitted_files_are_byte_identical(batch: Batch) -> None:
    before, after_first, after_second = batch.hashes
    assert after_first == before
    assert after_second == before


def test_every_student_is_graded_or_failed_with_a_reason(batch: Batch) -> None:
    from bpcourse.autograde.classroom import FAILED, GRADED, MISSING

    expected = {c.student for c in CASES} | {NO_SHOW}
    assert set(batch.first) == expected
    assert set(batch.second) == expected
    assert batch.first[NO_SHOW].status == MISSING
    for student, result in batch.first.items():
        assert result.status in (GRADED, FAILED, MISSING)
        if result.status != GRADED:
            assert result.reason, student
            assert batch.second[student]["reason"] == result.reason
    for student in expected:
        assert student in batch.cli_output
    assert batch.cli_exit == 1  # some submissions could not be graded


def test_rerun_gives_the_same_scores_and_keeps_manual_grades(batch: Batch) -> None:
    for student, first in batch.scores_first.items():
        second = batch.scores_second[student]
        result = batch.first.get(student)
        assert batch.second[student]["status"] == (result.status if result else "missing")
        if student not in batch.manual:
            assert second == first, student
            continue
        cell, auto, manual = batch.manual[student]
        assert second[cell] == manual, f"{student}: manual grade of {cell} lost"
        assert second["score"] == pytest.approx(first["score"] - auto + manual), student
        changed = (cell, "score", "code_score", "late_penalty")
        rest = {k: v for k, v in second.items() if k not in changed}
        assert rest == {k: v for k, v in first.items() if k not in changed}, student
        if first["late_penalty"]:  # penalty "zero": the penalty follows the new score
            assert second["late_penalty"] == pytest.approx(second["score"])
        else:
            assert second["late_penalty"] == 0
        assert float(batch.second[student]["score"]) == pytest.approx(second["score"])


def test_grade_export_lists_everyone(batch: Batch) -> None:
    rows = {r["student"]: r for r in batch.export if r["assignment"] == LESSON}
    assert set(rows) == {c.student for c in CASES} | {NO_SHOW}
    assert rows[NO_SHOW]["raw_score"] == ""
    for case in CASES:
        row = rows[case.student]
        assert float(row["max_score"]) == batch.lesson.full
        if case.status == fc.FAILED:
            assert float(row["score"]) == 0
    late = rows["late"]
    assert float(late["late_penalty"]) == float(late["raw_score"]) > 0
    assert float(late["score"]) == 0


def test_grading_time_is_bounded(batch: Batch) -> None:
    graded = [r for r in batch.first.values() if r.status == "graded"]
    per_submission = batch.seconds_first / max(1, len(batch.first))
    print(f"\n{LESSON}: {len(batch.first)} students in {batch.seconds_first:.1f} s "
          f"({per_submission:.1f} s each, {len(graded)} graded, jobs={JOBS})")  # fmt: skip
    assert batch.first["control"].seconds < 10 * TIMEOUT


def test_feedback_shows_no_hidden_test(batch: Batch) -> None:
    """Feedback HTML of failing and passing students quotes no line of a hidden test."""
    api = nbgrader_api(batch.course)
    hidden = []
    for cell in batch.lesson.solution.cells:
        if is_test(cell):
            body = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            hidden += [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 15]
    release = json.dumps(json.loads(lesson_path(LESSON).read_text(encoding="utf-8")))
    hidden = [ln for ln in hidden if json.dumps(ln)[1:-1] not in release]
    assert hidden
    for student in ("control", "test_edited", "allclose_patched"):
        result = api.generate_feedback(LESSON, student, force=True)
        assert result["success"], result.get("log")
        html = next((batch.course / "feedback" / student / LESSON).glob("*.html")).read_text()
        import html as html_lib

        text = html_lib.unescape(html)
        leaked = [ln for ln in hidden if ln in text]
        assert not leaked, f"{student}: hidden test lines in feedback: {leaked[:2]}"


# ---------------------------------------------------------------------------------------------
# Sanitizing alone, for every lesson (no kernel: nbgrader's execution step switched off)
# ---------------------------------------------------------------------------------------------

SANITIZE_ONLY = 'c.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.SaveAutoGrades"]\n'


@pytest.fixture(scope="module")
def sanitize_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scratch course for every lesson, with nbgrader's execution step switched off."""
    return make_course(tmp_path_factory.mktemp("sanitize"), IDS, SANITIZE_ONLY)


@pytest.mark.xdist_group("faulty-sanitize")
@pytest.mark.parametrize("aid", IDS)
def test_sanitizing_restores_every_graded_and_read_only_cell(
    aid: str, sanitize_course: Path
) -> None:
    """Two notebooks with many structural faults each come out of nbgrader's sanitizing step
    with every test and read-only cell of the source once, in order, with its own source,
    type and points; no forged cell counts; a manual grade on a written answer survives a
    second run."""
    les = fc.lesson(aid)
    course = sanitize_course
    submissions = {"control": fc.cases(les, TIMEOUT, SLOW_SECONDS)[0].files}
    submissions.update(fc.structural_submissions(les))
    for student, files in submissions.items():
        folder = course / "submitted" / student / aid
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    api = nbgrader_api(course)
    result = api.autograde(aid, "*", force=True, create=True)
    assert result["success"], result.get("error")
    source = les.solution
    by_id = {grade_id(c): c for c in source.cells if grade_id(c)}
    locked = [gid for gid, c in by_id.items() if c.metadata["nbgrader"].get("locked")]
    max_score = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in by_id.values()
                    if c.metadata["nbgrader"].get("grade"))  # fmt: skip
    kernel = les.release.metadata["kernelspec"]["name"]
    for student in submissions:
        nb = read(course / "autograded" / student / aid / les.notebook)
        ids = [grade_id(c) for c in nb.cells if grade_id(c)]
        assert ids == list(by_id), f"{student}: cells missing, doubled or out of order"
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid not in locked:
                continue
            original = by_id[gid]
            assert cell.cell_type == original.cell_type, (student, gid)
            assert original.source in cell.source, (student, gid, "source not restored")
            meta, want = cell.metadata["nbgrader"], original.metadata["nbgrader"]
            assert bool(meta.get("grade")) == bool(want.get("grade")), (student, gid)
            if want.get("grade"):
                assert float(meta["points"]) == float(want["points"]), (student, gid)
        assert nb.metadata["kernelspec"]["name"] == kernel
    with _gradebook(course) as gb:
        for student in submissions:
            assert gb.find_submission(aid, student).max_score == max_score, student
    written = [grade_id(c) for c in source.cells if is_written(c)]
    if not written:
        return
    with _gradebook(course) as gb:
        gb.find_grade(written[0], aid, aid, "control").manual_score = 1.5
        gb.db.commit()
    assert api.autograde(aid, "control", force=True, create=True)["success"]
    with _gradebook(course) as gb:
        grade = gb.find_grade(written[0], aid, aid, "control")
        assert grade.manual_score == 1.5 and grade.score == 1.5
