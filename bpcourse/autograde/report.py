"""The class report of one graded assignment: what an instructor re-teaches on Monday.

``write_report(root, assignment)`` reads the course's gradebook and the autograded notebooks
and writes ``grades/<assignment>.html``, a single self-contained file (figures embedded as
data URIs, no script, no network):

- per test cell, the distribution of the class's scores as a bar chart;
- per test cell, the failing test messages (error name and first line of the message) and
  how many students hit each, most common first;
- a table of students: score, status (graded, missing, needs manual grade) and failed tests.

Run it after ``bpcourse grade`` with ``bpcourse report ASSIGNMENT``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcourse.autograde import classroom

__all__ = ["ClassSummary", "StudentRow", "TestSummary", "summarize", "write_report"]


@dataclass
class StudentRow:
    """One student's line of the report."""

    student: str
    status: str  # "graded", "missing", or "needs manual grade"
    score: float | None
    max_score: float
    failed: list[str] = field(default_factory=list)  # names of the failed test cells


@dataclass
class TestSummary:
    """One test cell across the class."""

    name: str
    max_score: float
    scores: list[float] = field(default_factory=list)  # one per graded student
    messages: Counter[str] = field(default_factory=Counter)  # failure message -> students


@dataclass
class ClassSummary:
    """What the report shows, before it is rendered."""

    assignment: str
    max_score: float
    students: list[StudentRow]
    tests: list[TestSummary]


def _failure_message(cell: dict[str, Any]) -> str | None:
    """``Ename: first line of the message`` of a cell's error output, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename = output.get("ename", "Error")
            evalue = (output.get("evalue") or "").strip().splitlines()
            return f"{ename}: {evalue[0]}" if evalue else ename
    return None


def _autograded_messages(path: Path) -> dict[str, str]:
    """Failure message per grade cell id in one autograded notebook."""
    if not path.is_file():
        return {}
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.get("cell_type") == "code":
            message = _failure_message(cell)
            if message is not None:
                out[meta.get("grade_id", "")] = message
    return out


def summarize(root: str | Path, assignment: str) -> ClassSummary:
    """Collect the report's content from the gradebook of the course directory ``root``.

    Raises:
        ValueError: if ``assignment`` is not in the gradebook.
    """
    from nbgrader.api import MissingEntry

    api = classroom.course_api(root)
    coursedir = api.coursedir
    with classroom._gradebook(api) as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            known = sorted(a.name for a in gb.assignments)
            raise ValueError(
                f"assignment: expected one of the gradebook's assignments {known}, "
                f"got {assignment!r}"
            ) from None
        tests: dict[str, TestSummary] = {}
        for notebook in record.notebooks:
            for cell in notebook.grade_cells:
                if cell.cell_type == "code":
                    tests[cell.name] = TestSummary(cell.name, float(cell.max_score))
        rows = []
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                rows.append(StudentRow(student.id, "missing", None, float(record.max_score)))
                continue
            row = StudentRow(
                student.id,
                "needs manual grade" if sub.needs_manual_grade else "graded",
                float(sub.score),
                float(sub.max_score),
            )
            for notebook in sub.notebooks:
                folder = coursedir.format_path(
                    coursedir.autograded_directory, student.id, assignment
                )
                messages = _autograded_messages(Path(folder) / f"{notebook.name}.ipynb")
                for grade in notebook.grades:
                    if grade.name not in tests:
                        continue
                    score = float(grade.score)
                    test = tests[grade.name]
                    test.scores.append(score)
                    if score < float(grade.max_score):
                        row.failed.append(grade.name)
                        test.messages[messages.get(grade.name, "no error shown")] += 1
            rows.append(row)
        return ClassSummary(assignment, float(record.max_score), rows, list(tests.values()))


def _figure(test: TestSummary) -> str:
    """A bar chart of the scores of one test as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    counts = Counter(test.scores)
    values = sorted(set(counts) | {0.0, test.max_score})
    fig = Figure(figsize=(3.6, 2.2), dpi=100)
    ax = fig.add_subplot()
    ax.bar([f"{v:g}" for v in values], [counts.get(v, 0) for v in values], color="#4c72b0")
    ax.set_xlabel(f"points (of {test.max_score:g})")
    ax.set_ylabel("students")
    ax.set_title(test.name, fontsize=9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.test { display: flex; gap: 1.5em; align-items: flex-start; margin-bottom: 1em; }
.missing { color: #999; }
"""


def render(summary: ClassSummary) -> str:
    """The report as one HTML document."""
    e = html.escape
    graded = [r for r in summary.students if r.score is not None]
    mean = sum(r.score or 0.0 for r in graded) / len(graded) if graded else 0.0
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(summary.assignment)}: class report</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(summary.assignment)}: class report</h1>",
        f"<p>{len(graded)} of {len(summary.students)} students submitted; mean score "
        f"{mean:.2f} of {summary.max_score:g}.</p>",
        "<h2>Tests</h2>",
    ]
    for test in summary.tests:
        parts.append(f'<div class="test" id="test-{e(test.name)}">')
        parts.append(f'<img alt="score distribution of {e(test.name)}" src="{_figure(test)}">')
        full = sum(s >= test.max_score for s in test.scores)
        parts.append(f"<div><h3>{e(test.name)}</h3><p>{full} of {len(test.scores)} full marks</p>")
        if test.messages:
            parts.append("<table><tr><th>failing message</th><th>students</th></tr>")
            for message, count in test.messages.most_common():
                parts.append(f"<tr><td><code>{e(message)}</code></td><td>{count}</td></tr>")
            parts.append("</table>")
        parts.append("</div></div>")
    parts.append("<h2>Students</h2>")
    parts.append(
        "<table><tr><th>student</th><th>score</th><th>status</th><th>failed tests</th></tr>"
    )
    for row in summary.students:
        score = "-" if row.score is None else f"{row.score:g} / {row.max_score:g}"
        css = ' class="missing"' if row.status == "missing" else ""
        parts.append(
            f"<tr{css}><td>{e(row.student)}</td><td>{score}</td><td>{e(row.status)}</td>"
            f"<td>{e(', '.join(row.failed))}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"


def write_report(root: str | Path, assignment: str, path: str | Path | None = None) -> Path:
    """Write the class report of ``assignment`` (default ``root/grades/<assignment>.html``)."""
    summary = summarize(root, assignment)
    out = Path(path) if path is not None else Path(root) / "grades" / f"{assignment}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(summary), encoding="utf-8")
    return out
