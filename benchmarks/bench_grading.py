"""How long does autograding a class take?

Generates a class of submissions of one lesson (50 by default) from its released notebook:
each exercise is answered right, left untouched, or answered with one of the plausible wrong
answers the course lists for it (``tests/wrong_answers/``), at random with a fixed seed. The
class goes into a scratch course directory with the course's own ``nbgrader_config.py`` (the
production timeout and memory cap) and is graded by the engine of ``bpcourse grade``
(:func:`bpcourse.autograde.classroom.grade_assignment`). The report gives the total time,
the time per submission, and how many scores match the score expected from the answers used
(exercises are assumed independent: a mismatch means a later test depends on an earlier
answer).

By default the class is graded four times, each in a fresh scratch course: one submission at
a time and two at a time (``--jobs 2``), each without and with the grading sandbox, and the
time ratio sandboxed / without is printed for both (the course promises at most 1.2x).

``--per-lesson`` first grades one perfect submission of every lesson and reports the time it
took and its slowest cell, next to the per-cell timeout.

Run it with ``python benchmarks/bench_grading.py`` (``--help`` for options). It is not a test:
the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bpcourse.autograde import classroom  # noqa: E402
from bpcourse.autograde.cli import load_config  # noqa: E402

from course_utils import (  # noqa: E402  (the tests' helpers build the submissions)
    answer_tests,
    assignment_ids,
    grade_id,
    is_test,
    lesson_path,
    points,
    read,
    solution_path,
    student_version,
    submit,
    wrong_answers,
)


def scratch_course(tmp: Path, ids: list[str]) -> Path:
    """A course directory with the production config, the lessons registered in a gradebook."""
    course = tmp / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for aid in ids:
        shutil.copytree(ROOT / "solutions" / aid, course / "solutions" / aid)
    api = classroom.course_api(course)
    for aid in ids:
        result = api.generate_assignment(aid, force=True)
        if not result["success"]:
            raise RuntimeError(result.get("error") or result.get("log"))
    return course


def make_class(aid: str, n: int, seed: int) -> list[tuple[str, Any, float]]:
    """``n`` submissions as (student id, notebook, expected code score)."""
    rng = random.Random(seed)
    solution = read(solution_path(aid))
    test_points = {grade_id(c): points(c) for c in solution.cells if is_test(c)}
    links = {a: t for a, t in answer_tests(solution).items() if t}
    wrong: dict[str, list[str]] = {}
    for w in wrong_answers(aid):
        wrong.setdefault(w.answer_id, []).append(w.source)
    release = {grade_id(c): c.source for c in read(lesson_path(aid)).cells if grade_id(c)}
    out = []
    for k in range(n):
        replace: dict[str, str] = {}
        expected = 0.0
        for answer, tests in links.items():
            choice = rng.random()
            if k == 0 or choice < 0.5:  # the first student answers everything right
                expected += sum(test_points[t] for t in tests)
            elif choice < 0.8 and wrong.get(answer):
                replace[answer] = rng.choice(wrong[answer])
            else:
                replace[answer] = release[answer]
        out.append((f"student{k:03d}", student_version(aid, replace=replace), expected))
    return out


def slowest_cell(path: Path) -> float:
    """Longest cell execution (s) recorded in an autograded notebook."""
    nb = read(path)
    longest = 0.0
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            t0 = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            t1 = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            longest = max(longest, (t1 - t0).total_seconds())
    return longest


def per_lesson(ids: list[str]) -> None:
    timeout = load_config(ROOT).Execute.timeout
    print(f"one perfect submission per lesson (per-cell timeout {timeout} s):")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = scratch_course(Path(tmp), ids)
        for aid in ids:
            submit(course, aid, "perfect", student_version(aid))
            start = time.perf_counter()
            (result,) = classroom.grade_assignment(course, aid, ["perfect"])
            took = time.perf_counter() - start
            cell = slowest_cell(course / "autograded" / "perfect" / aid / f"{aid}.ipynb")
            print(
                f"  {aid:26s} {result.status:7s} {result.score:g}/{result.max_score:g}  "
                f"{took:5.1f} s  slowest cell {cell:4.1f} s"
            )


def main(argv: list[str] | None = None) -> int:
    ids = assignment_ids()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lesson",
        default="02_computational_graphs"
        if "02_computational_graphs" in ids
        else (ids[0] if ids else None),
    )
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument(
        "--jobs",
        type=int,
        action="append",
        help="submissions graded at once (repeatable; default: 1 and 2)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-lesson", action="store_true", help="also time every lesson once")
    parser.add_argument(
        "--sandbox",
        choices=["compare", "on", "off"],
        default="compare",
        help="grade with the grading sandbox, without it, or both (default) and print the ratio",
    )
    args = parser.parse_args(argv)
    if not args.lesson:
        print("no lesson in solutions/")
        return 1
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    if args.per_lesson:
        per_lesson(ids)
    modes = {"compare": [False, True], "on": [True], "off": [False]}[args.sandbox]
    ok = True
    for jobs in args.jobs or [1, 2]:
        totals = {}
        for sandboxed in modes:
            label = "sandboxed" if sandboxed else "without the sandbox"
            what = f"{args.students} generated submissions of {args.lesson}"
            print(f"\n{what}, jobs={jobs}, {label}:")
            total, good = grade_class(args.lesson, args.students, args.seed, jobs, sandboxed)
            totals[sandboxed] = total
            ok = ok and good
        if len(totals) == 2:
            ratio = totals[True] / totals[False]
            print(
                f"\njobs={jobs}: sandboxed / without = {totals[True]:.1f} s / "
                f"{totals[False]:.1f} s = {ratio:.2f}x (bound: 1.2x)"
            )
    return 0 if ok else 1


def grade_class(
    lesson: str, students: int, seed: int, jobs: int, sandboxed: bool
) -> tuple[float, bool]:
    """Grade a generated class in a fresh scratch course; print the report, return the time."""
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = scratch_course(Path(tmp), [lesson])
        expected = {}
        for student, nb, score in make_class(lesson, students, seed):
            submit(course, lesson, student, nb)
            expected[student] = score
        start = time.perf_counter()
        results = classroom.grade_assignment(course, lesson, jobs=jobs, sandboxed=sandboxed)
        total = time.perf_counter() - start
    seconds = [r.seconds for r in results]
    graded = [r for r in results if r.status == classroom.GRADED]
    match = sum(r.score == expected[r.student] for r in graded)
    scores = [r.score for r in graded if r.score is not None]
    print(f"  sandbox        {results[0].sandbox if results else '-'}")
    print(f"  total          {total:7.1f} s")
    wall = total / len(results)
    each = f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"
    print(f"  per submission {wall:7.2f} s of wall time; each took {each}")
    print(f"  graded         {len(graded)}/{len(results)}")
    print(f"  scores as expected from the answers used: {match}/{len(graded)}")
    if scores:
        spread = f"min {min(scores):g}, median {statistics.median(scores):g}, max {max(scores):g}"
        print(f"  scores: {spread}")
    return total, len(graded) == len(results)


if __name__ == "__main__":
    sys.exit(main())
