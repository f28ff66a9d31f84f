"""A class graded into a shared PostgreSQL gradebook by two graders at the same time.

A throw-away PostgreSQL server (``pg_server``) holds the gradebook; the course's
``nbgrader_config.py`` points ``CourseDirectory.db_url`` at it. Two ``bpcourse grade``
commands start together, one per lesson, on overlapping students. Checked: every grade is
there exactly once (counted in the database itself), the export is row for row the one a
SQLite gradebook gives for the same submissions graded one after the other, and a manual
grade set between two runs survives the regrade.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pg_server
import pytest

from bpcourse.autograde import classroom

from course_utils import (
    answer_tests,
    assignment_ids,
    lesson_path,
    make_course,
    read,
    solution_path,
    student_version,
    submit,
    wrong_answers,
)

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("postgres")]

SKIP = pg_server.server_or_skip_reason()
if SKIP:
    print(f"test_postgres skipped: {SKIP}", file=sys.stderr)
    pytestmark.append(pytest.mark.skip(reason=SKIP))

TIMEOUT = 20
ROSTER = ["ada", "ben", "chloe", "dev"]
TIMESTAMP = "2026-01-05 10:00:00.000000 UTC"


def _lessons() -> list[str]:
    """The two lessons with the fewest code cells (the quickest to grade)."""
    ids = assignment_ids()
    ids.sort(key=lambda a: (sum(c.cell_type == "code" for c in read(solution_path(a)).cells), a))
    return sorted(ids[:2])


LESSONS = _lessons()
# Grader 1 grades the first lesson for ada..chloe, grader 2 the second for ben..dev.
STUDENTS = {LESSONS[0]: ROSTER[:3], LESSONS[1]: ROSTER[1:]}


def _submission(aid: str, index: int) -> Any:
    """Varied submissions: solved, a wrong answer, blank."""
    wrong = [w for w in wrong_answers(aid) if w.answer_id in answer_tests(read(lesson_path(aid)))]
    if index == 0:
        return student_version(aid)
    if index == 2:
        return student_version(aid, solved=False)
    pick = wrong[0] if wrong else None
    return student_version(aid, {pick.answer_id: pick.source} if pick else None)


def _write_config(course: Path, db_url: str) -> None:
    path = course / "nbgrader_config.py"
    text = path.read_text()
    text += f"\nc.Execute.timeout = {TIMEOUT}\nc.CourseDirectory.db_url = {db_url!r}\n"
    path.write_text(text)


def _prepare(course: Path) -> None:
    """Release both lessons into the course's gradebook and import the roster."""
    api = classroom.course_api(course)
    for aid in LESSONS:
        assert api.generate_assignment(aid, force=True)["success"]
    with classroom._gradebook(api) as gb:
        for student in ROSTER:
            gb.update_or_create_student(student)


def _grade_cmd(course: Path, aid: str) -> list[str]:
    bpcourse = Path(sys.executable).with_name("bpcourse")
    cmd = [str(bpcourse), "--root", str(course), "grade", aid]
    for student in STUDENTS[aid]:
        cmd += ["--student", student]
    return cmd


def _export(course: Path, name: str) -> list[dict[str, str]]:
    path = course / "grades" / name
    classroom.export_grades(course, path)
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pg_server.postgres() as server:
        base = tmp_path_factory.mktemp("pg")
        course = make_course(base, LESSONS)
        for aid, students in STUDENTS.items():
            for i, student in enumerate(students):
                folder = submit(course, aid, student, _submission(aid, i)).parent
                (folder / "timestamp.txt").write_text(TIMESTAMP)
        lite = base / "sqlite_course"
        shutil.copytree(course, lite)
        (lite / "gradebook.db").unlink(missing_ok=True)
        (course / "gradebook.db").unlink(missing_ok=True)
        url = server.createdb("bpcourse")
        _write_config(course, url)
        _write_config(lite, f"sqlite:///{lite / 'gradebook.db'}")
        _prepare(course)
        _prepare(lite)

        start = time.perf_counter()
        procs = {
            aid: subprocess.Popen(
                _grade_cmd(course, aid),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for aid in LESSONS
        }
        # Both graders are running before either is done.
        both_running = all(p.poll() is None for p in procs.values())
        outputs = {aid: p.communicate(timeout=600)[0] for aid, p in procs.items()}
        concurrent_seconds = time.perf_counter() - start
        codes = {aid: p.returncode for aid, p in procs.items()}

        for aid in LESSONS:
            results = classroom.grade_assignment(lite, aid, STUDENTS[aid], jobs=2)
            assert all(r.status == classroom.GRADED for r in results), results
        yield {
            "server": server,
            "course": course,
            "lite": lite,
            "url": url,
            "outputs": outputs,
            "codes": codes,
            "both_running": both_running,
            "seconds": concurrent_seconds,
        }


def test_two_graders_ran_at_once_and_succeeded(graded: Any) -> None:
    print(f"two graders, {sum(map(len, STUDENTS.values()))} submissions: {graded['seconds']:.1f} s")
    assert graded["both_running"]
    for aid, code in graded["codes"].items():
        assert code == 0, graded["outputs"][aid]
        assert f"{len(STUDENTS[aid])} graded, 0 not graded" in graded["outputs"][aid]
        assert "WITHOUT the sandbox" not in graded["outputs"][aid]


def _count(url: str, sql: str) -> list[tuple[Any, ...]]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def test_no_grade_lost_or_duplicated(graded: Any) -> None:
    url = graded["url"]
    subs = _count(
        url,
        "SELECT a.name, s.student_id, count(*) FROM submitted_assignment s "
        "JOIN assignment a ON a.id = s.assignment_id GROUP BY a.name, s.student_id",
    )
    expected = {(aid, st) for aid, sts in STUDENTS.items() for st in sts}
    assert {(a, s) for a, s, _ in subs} == expected
    assert all(n == 1 for *_, n in subs)
    grades = _count(
        url,
        "SELECT a.name, sa.student_id, bc.name, count(*) FROM grade g "
        "JOIN submitted_notebook sn ON sn.id = g.notebook_id "
        "JOIN submitted_assignment sa ON sa.id = sn.assignment_id "
        "JOIN assignment a ON a.id = sa.assignment_id "
        "JOIN base_cell bc ON bc.id = g.cell_id "
        "GROUP BY a.name, sa.student_id, bc.name",
    )
    assert all(n == 1 for *_, n in grades)
    cells = dict(
        _count(
            url,
            "SELECT a.name, count(*) FROM grade_cells gc JOIN base_cell bc ON bc.id = gc.id "
            "JOIN notebook n ON n.id = bc.notebook_id "
            "JOIN assignment a ON a.id = n.assignment_id GROUP BY a.name",
        )
    )
    for aid, students in STUDENTS.items():
        per_student = sum(1 for a, *_ in grades if a == aid)
        assert per_student == cells[aid] * len(students)
    students = _count(url, "SELECT id FROM student ORDER BY id")
    assert [s for (s,) in students] == ROSTER


def test_export_equals_sqlite_export(graded: Any) -> None:
    pg_rows = _export(graded["course"], "pg.csv")
    lite_rows = _export(graded["lite"], "lite.csv")
    assert len(pg_rows) == len(LESSONS) * len(ROSTER)
    assert pg_rows == lite_rows
    scores = {(r["assignment"], r["student"]): r["raw_score"] for r in pg_rows}
    # The overlap is real: absent students of a lesson are listed without a score.
    assert scores[(LESSONS[0], "dev")] == "" and scores[(LESSONS[1], "ada")] == ""
    # Solved, wrong and blank submissions give different scores.
    assert len({scores[(LESSONS[0], s)] for s in STUDENTS[LESSONS[0]]}) >= 2


def test_manual_grade_kept_across_regrade(graded: Any) -> None:
    from nbgrader.api import Gradebook

    course, aid = graded["course"], LESSONS[0]
    student = STUDENTS[aid][2]  # the blank submission
    with Gradebook(graded["url"], course_id="bpcourse") as gb:
        sub = gb.find_submission(aid, student)
        grade = next(g for g in sub.notebooks[0].grades if g.cell_type == "code")
        name, max_score = grade.name, float(grade.max_score)
        before = float(sub.score)
        grade.manual_score = max_score
        gb.db.commit()
    cmd = [*_grade_cmd(course, aid)[:5], "--student", student]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    with Gradebook(graded["url"], course_id="bpcourse") as gb:
        sub = gb.find_submission(aid, student)
        grade = next(g for g in sub.notebooks[0].grades if g.name == name)
        assert float(grade.manual_score) == max_score
        assert float(sub.score) == pytest.approx(before - float(grade.auto_score) + max_score)
