"""The HTML class report on a really graded class.

A scratch course grades one lesson for a class built from the lesson's wrong-answer catalogue:
a solved notebook, a blank one, two students with the same wrong answer, two with other wrong
answers, and a roster student who never submitted. ``bpcourse report`` then writes
``grades/<lesson>.html``; the report must count each failing message once per student who hit
it, show one embedded figure per test cell, list every student, and reach for no network.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bpcourse.autograde import classroom, report
from bpcourse.autograde.cli import main

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

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.xdist_group("class-report")]


def _lesson() -> str:
    ids = assignment_ids()
    return min(
        ids, key=lambda a: (sum(c.cell_type == "code" for c in read(solution_path(a)).cells), a)
    )


AID = _lesson()
LINKS = answer_tests(read(lesson_path(AID)))
# Wrong answers whose failing test names a message, one per exercise where possible.
CATALOGUE = [w for w in wrong_answers(AID) if w.message and w.answer_id in LINKS]
PICKED = list({w.answer_id: w for w in CATALOGUE}.values())[:3] or CATALOGUE[:3]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.urls: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        for key in ("src", "href"):
            if values.get(key):
                self.urls.append(values[key] or "")
        if tag == "tr":
            self._row = []
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert PICKED, f"no wrong answer with a message in tests/wrong_answers/{AID}.py"
    course = make_course(tmp_path_factory.mktemp("report"), [AID], "c.Execute.timeout = 20\n")
    class_ = {"solved": student_version(AID), "blank": student_version(AID, solved=False)}
    class_["same_a"] = class_["same_b"] = student_version(
        AID, {PICKED[0].answer_id: PICKED[0].source}
    )
    for i, wrong in enumerate(PICKED[1:]):
        class_[f"wrong_{i}"] = student_version(AID, {wrong.answer_id: wrong.source})
    for student, nb in class_.items():
        submit(course, AID, student, nb)
    api = classroom.course_api(course)
    assert api.generate_assignment(AID, force=True)["success"]
    with classroom._gradebook(api) as gb:  # the roster: once it exists, only its students count
        for student in [*class_, "absent"]:
            gb.update_or_create_student(student)
    results = classroom.grade_assignment(course, AID, jobs=2)
    assert [r.status for r in results if r.student != "absent"] == ["graded"] * len(class_)
    return {"course": course, "class": class_, "results": {r.student: r for r in results}}


def test_report_command_writes_a_self_contained_page(graded: dict[str, Any], capsys: Any) -> None:
    course: Path = graded["course"]
    assert main(["--root", str(course), "report", AID]) == 0
    path = course / "grades" / f"{AID}.html"
    assert str(path) in capsys.readouterr().out
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    summary = report.summarize(course, AID)
    # One embedded PNG per test cell, and nothing fetched from anywhere.
    assert len(page.images) == len(summary.tests) > 0
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(u.startswith("data:") for u in page.urls)
    assert not re.search(r"https?://", path.read_text(encoding="utf-8"))
    # The student table: everyone, with the score the gradebook holds.
    table = {r[0]: r for r in page.rows if len(r) == 4 and r[0] != "student"}
    assert set(table) == {*graded["class"], "absent"}
    assert table["absent"][1:3] == ["-", "missing"]
    for student, result in graded["results"].items():
        if student != "absent":
            assert table[student][1] == f"{result.score:g} / {result.max_score:g}"
    solved = graded["results"]["solved"]
    assert solved.score == solved.max_score and table["solved"][3] == ""


def test_failing_messages_are_counted_per_student(graded: dict[str, Any]) -> None:
    summary = report.summarize(graded["course"], AID)
    by_test = {t.name: t for t in summary.tests}
    graded_students = len(graded["class"])
    for test in summary.tests:
        assert len(test.scores) == graded_students
        # Every failing student is counted once, under some message.
        assert sum(test.messages.values()) == sum(s < test.max_score for s in test.scores)
    # The shared wrong answer: its named message is hit by both students who gave it.
    first = PICKED[0]
    hits = _hits(by_test, LINKS[first.answer_id], first.message or "")
    assert hits >= 2, {n: by_test[n].messages for n in LINKS[first.answer_id]}
    for wrong in PICKED[1:]:
        assert _hits(by_test, LINKS[wrong.answer_id], wrong.message or "") >= 1
    # The most common message of a test comes first in the page.
    html = (graded["course"] / "grades" / f"{AID}.html").read_text(encoding="utf-8")
    for test in summary.tests:
        if len(test.messages) > 1:
            (top, _), (second, _) = test.messages.most_common(2)
            assert html.index(report.html.escape(top)) < html.index(report.html.escape(second))
    rows = {r.student: r for r in summary.students}
    assert rows["blank"].failed and rows["same_a"].failed == rows["same_b"].failed


def _hits(by_test: dict[str, Any], tests: list[str], fragment: str) -> int:
    return sum(
        count
        for name in tests
        for message, count in by_test[name].messages.items()
        if fragment in message
    )


def test_unknown_assignment_is_named(graded: dict[str, Any], capsys: Any) -> None:
    assert main(["--root", str(graded["course"]), "report", "99_nope"]) == 2
    err = capsys.readouterr().err
    assert "assignment: expected one of" in err and "'99_nope'" in err
