"""The ``bpcourse`` command: course maintenance tasks where nbgrader's own CLI is awkward.

``bpcourse release-all``
    Regenerate ``lessons/`` from ``solutions/`` with nbgrader's ``generate_assignment``, in a
    scratch course directory so that no gradebook or log is left in the repository.
``bpcourse check-lessons``
    Exit non-zero when the committed ``lessons/`` differs from a fresh generation.
``bpcourse check-outputs [NOTEBOOK ...]``
    Exit non-zero when a source notebook (default: all of ``solutions/``) carries outputs or
    execution counts; ``--strip`` removes them instead.
``bpcourse grade ASSIGNMENT [--student ID ...] [--csv F] [--timeout S] [--jobs N] [--unsandboxed]``
    Autograde every submission in ``submitted/*/ASSIGNMENT`` with nbgrader, carrying on past
    failures, each kernel in the grading sandbox; print a table of student, score, status and
    reason and write it as CSV (default ``grades/ASSIGNMENT.csv``). Exit 1 if a submission
    could not be graded, 2 (grading nothing) if the sandbox cannot be built here, unless
    ``--unsandboxed`` (which the table and the CSV then flag on every row).
``bpcourse export-grades FILE [--assignment ID ...]``
    Write every grade in the gradebook as CSV, one row per student and assignment.
``bpcourse report ASSIGNMENT [--output FILE]``
    Write the class report of a graded assignment as HTML (default ``grades/ASSIGNMENT.html``):
    score distributions, the most common failing test messages, a table of students.

Run from the repository root (where ``nbgrader_config.py`` is).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "assignment_ids",
    "ensure_tools_on_path",
    "generate_release",
    "main",
    "notebooks_with_outputs",
    "release_differences",
]


def assignment_ids(root: Path) -> list[str]:
    """The assignments of the course: the folders of ``solutions/`` holding a notebook."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin`` folder first on ``PATH``.

    nbgrader runs the ``alembic`` command of its own environment when it creates a gradebook;
    when the course's virtual environment is not activated that command would not be found.
    """
    bindir = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def load_config(root: Path) -> Any:
    """Load ``nbgrader_config.py`` of ``root`` as a traitlets Config."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def generate_release(root: Path, out_dir: Path, ids: Sequence[str] | None = None) -> list[str]:
    """Generate the student version of each assignment of ``root`` into ``out_dir``.

    The generation runs in a temporary copy of the course (``nbgrader_config.py`` and
    ``solutions/``) so that the gradebook database and logs never touch ``root``.

    Returns:
        The assignment ids generated.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    ensure_tools_on_path()
    root = Path(root).resolve()
    ids = list(ids) if ids is not None else assignment_ids(root)
    with tempfile.TemporaryDirectory(prefix="bpcourse-release-") as tmp:
        course = Path(tmp)
        shutil.copy2(root / "nbgrader_config.py", course / "nbgrader_config.py")
        for aid in ids:
            shutil.copytree(
                root / "solutions" / aid,
                course / "solutions" / aid,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
        config = load_config(course)
        config.CourseDirectory.root = str(course)
        config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for aid in ids:
            result = api.generate_assignment(aid, force=True)
            if not result.get("success"):
                raise RuntimeError(f"generate_assignment {aid} failed:\n{result.get('log')}")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for aid in ids:
            target = out_dir / aid
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course / "lessons" / aid, target)
    return ids


def release_differences(root: Path) -> list[str]:
    """Compare ``root/lessons`` with a fresh generation; return the differing paths."""
    root = Path(root).resolve()
    with tempfile.TemporaryDirectory(prefix="bpcourse-check-") as tmp:
        fresh = Path(tmp) / "lessons"
        generate_release(root, fresh)
        committed = root / "lessons"
        diffs: list[str] = []
        names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        names |= {
            p.relative_to(committed)
            for p in committed.rglob("*")
            if p.is_file() and ".ipynb_checkpoints" not in p.parts
        }
        for name in sorted(names):
            a, b = fresh / name, committed / name
            if not (a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)):
                diffs.append(str(Path("lessons") / name))
        return diffs


def notebooks_with_outputs(paths: Sequence[Path], strip: bool = False) -> list[str]:
    """Return the notebooks among ``paths`` whose cells carry outputs or execution counts.

    With ``strip``, remove them in place (keeping everything else byte for byte the same
    layout nbformat writes) and return the notebooks that were changed.
    """
    import json

    found = []
    for path in paths:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        dirty = False
        for cell in nb.get("cells", []):
            if cell.get("outputs") or cell.get("execution_count") is not None:
                dirty = True
                if strip:
                    cell["outputs"] = []
                    cell["execution_count"] = None
        if dirty:
            found.append(str(path))
            if strip:
                text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
                Path(path).write_text(text, encoding="utf-8")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bpcourse`` command."""
    parser = argparse.ArgumentParser(prog="bpcourse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the course repository (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release-all", help="regenerate lessons/ from solutions/")
    sub.add_parser("check-lessons", help="fail if lessons/ differs from a fresh generation")
    outputs = sub.add_parser("check-outputs", help="fail if source notebooks carry outputs")
    outputs.add_argument("notebooks", nargs="*", help="default: every notebook in solutions/")
    outputs.add_argument("--strip", action="store_true", help="remove the outputs instead")
    grade = sub.add_parser("grade", help="autograde every submission of an assignment")
    grade.add_argument("assignment", help="assignment id, e.g. 01_chain_rule")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--csv", help="CSV of the results (default: grades/ASSIGNMENT.csv)")
    grade.add_argument("--timeout", type=int, help="per-cell timeout in s (default: the config)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    grade.add_argument(
        "--unsandboxed",
        action="store_true",
        help="grade without the sandbox (student code runs as you): only for a class you trust",
    )
    export = sub.add_parser("export-grades", help="write the gradebook's grades as CSV")
    export.add_argument("file", help="the CSV file to write")
    export.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    report = sub.add_parser("report", help="write the HTML class report of an assignment")
    report.add_argument("assignment", help="assignment id, e.g. 01_chain_rule")
    report.add_argument("--output", help="the HTML file (default: grades/ASSIGNMENT.html)")
    args = parser.parse_args(argv)
    if args.command == "check-outputs":
        paths = [Path(p) for p in args.notebooks] or sorted(
            Path(args.root, "solutions").rglob("*.ipynb")
        )
        paths = [p for p in paths if ".ipynb_checkpoints" not in p.parts]
        found = notebooks_with_outputs(paths, strip=args.strip)
        verb = "stripped outputs from" if args.strip else "outputs or execution counts in"
        for name in found:
            print(f"{verb} {name}")
        return 0 if (args.strip or not found) else 1
    root = Path(args.root)
    if not (root / "nbgrader_config.py").is_file():
        print(f"bpcourse: no nbgrader_config.py in {root.resolve()}", file=sys.stderr)
        return 2
    if args.command in ("grade", "export-grades"):
        return _grading_command(args, root)
    if args.command == "report":
        from bpcourse.autograde.report import write_report

        try:
            path = write_report(root, args.assignment, args.output)
        except ValueError as exc:
            print(f"bpcourse report: {exc}", file=sys.stderr)
            return 2
        print(f"class report written to {path}")
        return 0
    if args.command == "release-all":
        ids = generate_release(root, root / "lessons")
        print(f"regenerated lessons/ for {len(ids)} assignment(s): {', '.join(ids)}")
        return 0
    diffs = release_differences(root)
    if diffs:
        print("lessons/ differs from solutions/ (run `make lessons`):", *diffs, sep="\n  ")
        return 1
    print("lessons/ is up to date")
    return 0


def _grading_command(args: argparse.Namespace, root: Path) -> int:
    """``bpcourse grade`` and ``bpcourse export-grades`` (:mod:`bpcourse.autograde.classroom`)."""
    from bpcourse.autograde import classroom

    if args.command == "export-grades":
        try:
            rows = classroom.export_grades(root, args.file, args.assignment)
        except ValueError as exc:
            print(f"bpcourse export-grades: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {rows} row(s) to {args.file}")
        return 0
    overrides = None
    if args.jobs < 1:
        print(f"bpcourse grade: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    if args.timeout is not None:
        if args.timeout <= 0:
            print(
                f"bpcourse grade: --timeout must be positive, got {args.timeout}", file=sys.stderr
            )
            return 2
        from traitlets.config import Config

        overrides = Config()
        overrides.Execute.timeout = args.timeout

    def progress(result: Any) -> None:
        score = "-" if result.score is None else f"{result.score:g}/{result.max_score:g}"
        print(f"  {result.student}: {result.status} {score} ({result.seconds:.1f} s)", flush=True)

    print(f"grading {args.assignment} in {root.resolve()}", flush=True)
    if args.unsandboxed:
        print(classroom.UNSANDBOXED_WARNING, flush=True)
    try:
        results = classroom.grade_assignment(
            root,
            args.assignment,
            args.student,
            jobs=args.jobs,
            overrides=overrides,
            progress=progress,
            sandboxed=not args.unsandboxed,
        )
    except classroom.SandboxUnavailableError as exc:
        print(f"bpcourse grade: not grading: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # an unknown assignment or student, said plainly
        print(f"bpcourse grade: {exc}", file=sys.stderr)
        return 2
    print(classroom.format_table(results))
    csv_path = Path(args.csv) if args.csv else root / "grades" / f"{args.assignment}.csv"
    classroom.write_results_csv(results, csv_path)
    print(f"results written to {csv_path}")
    return 0 if all(r.status == classroom.GRADED for r in results) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
