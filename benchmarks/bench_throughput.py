"""Grading throughput: submissions per minute per core, for sizing a class.

A class of generated submissions of one lesson (right, untouched and wrong answers from
``tests/wrong_answers/``, fixed seed; see ``bench_grading.py``) is graded by the engine of
``bpcourse grade`` with the course's own ``nbgrader_config.py``, with the grading sandbox on
when this checkout has it, one submission at a time and then ``--jobs`` at a time. The
reference, measured in the same run, is the same number of bare notebook executions (nbclient,
no nbgrader, no sandbox): the ratio says what grading costs on top of running the notebook.

Printed: submissions per minute, per minute per busy core, the ratio to the reference, and
what a class of ``--class-size`` students needs on machines of ``--cores`` cores.

Run: ``python benchmarks/bench_throughput.py [--students 20] [--jobs 2]``. Not a test: the
numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_grading import make_class, scratch_course  # noqa: E402

from bpcourse.autograde import classroom  # noqa: E402

from course_utils import assignment_ids, submit  # noqa: E402


def sandbox_supported() -> bool:
    """Does this checkout's ``grade_assignment`` take ``sandboxed``?"""
    return "sandboxed" in inspect.signature(classroom.grade_assignment).parameters


def grade(lesson: str, class_: list[tuple[str, Any, float]], jobs: int) -> tuple[float, int]:
    """Grade the class in a fresh scratch course; return (seconds, graded count)."""
    kwargs: dict[str, Any] = {"jobs": jobs}
    if sandbox_supported():
        kwargs["sandboxed"] = True
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        course = scratch_course(Path(tmp), [lesson])
        for student, nb, _ in class_:
            submit(course, lesson, student, nb)
        start = time.perf_counter()
        results = classroom.grade_assignment(course, lesson, **kwargs)
        seconds = time.perf_counter() - start
    return seconds, sum(r.status == classroom.GRADED for r in results)


def bare_runs(class_: list[tuple[str, Any, float]]) -> float:
    """Execute every notebook of the class with nbclient, one after the other; seconds."""
    import copy

    from nbclient import NotebookClient

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        for _, nb, _ in class_:
            client = NotebookClient(
                copy.deepcopy(nb), timeout=30, kernel_name="python3", allow_errors=True,
                resources={"metadata": {"path": tmp}},
            )  # fmt: skip
            client.execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ids = assignment_ids()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", default="01_chain_rule" if "01_chain_rule" in ids else ids[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--class-size", type=int, default=500)
    parser.add_argument("--cores", type=int, default=8, help="cores of a grading machine")
    args = parser.parse_args(argv)
    sandbox = "on" if sandbox_supported() else "not in this checkout (graded without)"
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    print(f"{args.students} submissions of {args.lesson}; grading sandbox: {sandbox}")
    class_ = make_class(args.lesson, args.students, args.seed)
    bare = bare_runs(class_)
    print(f"reference, bare execution one at a time: {bare:.1f} s")
    rates = {}
    for jobs in sorted({1, args.jobs}):
        seconds, graded = grade(args.lesson, class_, jobs)
        per_min = 60.0 * args.students / seconds
        per_core = per_min / jobs
        rates[jobs] = per_core
        print(
            f"jobs={jobs}: {seconds:.1f} s, {graded}/{args.students} graded, "
            f"{per_min:.1f} submissions/min, {per_core:.1f} per min per core, "
            f"{seconds / bare:.2f}x the bare execution"
        )
    rate = min(rates.values())  # the conservative figure
    minutes = args.class_size / (rate * args.cores)
    print(
        f"\nsizing: {rate:.1f} submissions per minute per core -> a class of {args.class_size} "
        f"takes {minutes:.0f} min per lesson on one {args.cores}-core machine, "
        f"{minutes / 2:.0f} min on two sharing a PostgreSQL gradebook"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
