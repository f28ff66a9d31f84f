"""The instructor's grading workflow on one machine: autograde a class, report, export.

``nbgrader autograde`` grades submissions but leaves an instructor with questions it does not
answer in one place: which students were *not* graded and why, whether a submission's files
survived the run, and what went wrong inside a notebook that did get a grade. This module
wraps nbgrader's own API (same course directory, same gradebook) to answer them:

- every submission is checked before a kernel starts (empty folder, no notebook, a renamed
  notebook, a file that is not a notebook, an unreadable timestamp, a symbolic link), so
  those students are listed as failed with a reason instead of ending up in nbgrader's log;
- each student is autograded on their own, so one failure never stops the batch;
- the submitted files are hashed and copied before grading and compared after each student;
  anything a submission's code changed in ``submitted/`` is put back byte for byte;
- a student whose grading fails keeps no earlier automatic score (it is reset to zero; manual
  grades are kept), so a stale full mark cannot survive a broken resubmission;
- the result is a table of student, score, status and reason, also written as CSV;
- ``autograded/<student>`` and ``feedback/<student>`` are written into real folders: a
  symbolic link there is removed first (never written through) and reported;
- once the gradebook has a roster (its students), a folder of ``submitted/`` belonging to no
  one on it is not graded but reported (a typo, or a folder that appeared in an earlier run);
- every kernel runs in the grading sandbox (:mod:`bpcourse.autograde.sandbox`): a machine
  where it cannot be built is refused with the reason, unless the instructor explicitly grades
  without it (``sandboxed=False``, ``bpcourse grade --unsandboxed``), which every result and
  the report then say.

Entry points: :func:`grade_assignment`, :func:`export_grades`, and the ``bpcourse grade`` and
``bpcourse export-grades`` commands (see :mod:`bpcourse.autograde.cli`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcourse.autograde.markers import KERNEL_DIED, TAMPER, TIMEOUT, UNRESPONSIVE
from bpcourse.autograde.sandbox import SandboxUnavailableError, available_backend

__all__ = [
    "FAILED",
    "GRADED",
    "MISSING",
    "SandboxUnavailableError",
    "SubmissionResult",
    "course_api",
    "export_grades",
    "format_table",
    "grade_assignment",
    "precheck_submission",
    "write_results_csv",
]

GRADED = "graded"
FAILED = "failed"
MISSING = "missing"

RESULT_FIELDS = (
    "student",
    "assignment",
    "status",
    "score",
    "max_score",
    "needs_manual_grade",
    "seconds_late",
    "late_penalty",
    "reason",
    "notes",
    "seconds",
    "sandbox",
)

UNSANDBOXED = "off"
UNSANDBOXED_WARNING = (
    "WARNING: graded WITHOUT the sandbox (--unsandboxed): student code ran as the grading user, "
    "with its files (solutions, gradebook, other students' work) and network"
)


@dataclass
class SubmissionResult:
    """What happened to one student's submission of one assignment.

    ``status`` is ``"graded"``, ``"failed"`` (a submission exists but could not be graded;
    ``reason`` says why) or ``"missing"`` (a student of the gradebook without a submission).
    ``score`` and ``max_score`` come from the gradebook (``score`` includes manual grades and
    is before any late penalty). ``notes`` lists what the grading noticed in a graded notebook
    (a timed-out cell, a restarted kernel, a restored test cell, tampering...). ``sandbox`` is
    the tool that isolated its kernels (``"bwrap"``, ``"unshare"``) or ``"off"``.
    """

    student: str
    assignment: str
    status: str
    score: float | None = None
    max_score: float | None = None
    needs_manual_grade: bool = False
    seconds_late: float = 0.0
    late_penalty: float = 0.0
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sandbox: str = ""

    def row(self) -> dict[str, Any]:
        """The result as a flat dict with the keys of :data:`RESULT_FIELDS`."""
        return {
            "student": self.student,
            "assignment": self.assignment,
            "status": self.status,
            "score": "" if self.score is None else f"{self.score:g}",
            "max_score": "" if self.max_score is None else f"{self.max_score:g}",
            "needs_manual_grade": "yes" if self.needs_manual_grade else "no",
            "seconds_late": f"{self.seconds_late:g}",
            "late_penalty": f"{self.late_penalty:g}",
            "reason": self.reason,
            "notes": "; ".join(self.notes),
            "seconds": f"{self.seconds:.1f}",
            "sandbox": self.sandbox,
        }


# ---------------------------------------------------------------------------------------------
# The course and its gradebook
# ---------------------------------------------------------------------------------------------


def _load_config(root: Path, overrides: Any = None) -> Any:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    if overrides is not None:
        config.merge(overrides)
    return config


def course_api(root: str | Path, overrides: Any = None) -> Any:
    """nbgrader's ``NbGraderAPI`` for the course directory ``root``.

    ``root`` must hold ``nbgrader_config.py``; the gradebook is the one that config names
    (``CourseDirectory.db_url``), by default ``root/gradebook.db``. ``overrides`` is a traitlets
    ``Config`` merged on top (e.g. a shorter timeout).
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"no nbgrader_config.py in {root}")
    bindir = os.path.dirname(sys.executable)  # alembic lives here
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    config = _load_config(root, overrides)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _gradebook(api: Any) -> Any:
    from nbgrader.api import Gradebook

    return Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id)


def _expected_notebooks(api: Any, assignment: str) -> list[str]:
    """Notebook names of ``assignment`` known to the gradebook; registers it if needed."""
    from nbgrader.api import MissingEntry

    with _gradebook(api) as gb:
        try:
            names = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        except MissingEntry:
            names = []
    if names:
        return sorted(names)
    source = Path(api.coursedir.root) / api.coursedir.source_directory
    if not (source / assignment).is_dir():
        known = sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
        raise ValueError(
            f"assignment: expected one of {known} (the folders of {source}), got {assignment!r}"
        )
    result = api.generate_assignment(assignment, force=True)
    if not result.get("success"):
        raise RuntimeError(
            f"{assignment} is not in the gradebook and generating it failed:\n"
            f"{result.get('error') or result.get('log')}"
        )
    with _gradebook(api) as gb:
        return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)


# ---------------------------------------------------------------------------------------------
# Checks before a kernel starts
# ---------------------------------------------------------------------------------------------


def precheck_submission(folder: Path, notebooks: Sequence[str]) -> tuple[str | None, list[str]]:
    """Check one submission folder before grading.

    Args:
        folder: ``submitted/<student>/<assignment>``.
        notebooks: the notebook names the assignment expects (without ``.ipynb``).

    Returns:
        ``(reason, notes)``: ``reason`` is why the submission cannot be graded (None if it
        can); ``notes`` are harmless oddities worth reporting.
    """
    notes: list[str] = []
    if not folder.is_dir():
        return "no submission folder", notes
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if (p.is_file() or p.is_symlink()) and ".ipynb_checkpoints" not in p.parts
    )
    if not files:
        return "the submission folder is empty", notes
    links = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_symlink())
    if links:
        # nbgrader would copy the file a link points to (anything the grader can read) into
        # the graded folder, where the submission's code could print it into its feedback.
        return f"the submission contains symbolic links ({', '.join(links)}); remove them", notes
    present = [n for n in notebooks if (folder / f"{n}.ipynb").is_file()]
    if not present:
        others = [f for f in files if f.endswith(".ipynb")]
        wanted = ", ".join(f"{n}.ipynb" for n in notebooks)
        if others:
            return (
                f"notebook renamed: found {', '.join(others)}, expected {wanted} (rename the "
                "file in the submission and grade again)",
                notes,
            )
        return f"no notebook submitted: expected {wanted}, found only {', '.join(files)}", notes
    for name in notebooks:
        if name not in present:
            notes.append(f"{name}.ipynb missing (scored 0)")
    for name in present:
        path = folder / f"{name}.ipynb"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            return f"{name}.ipynb is not UTF-8 text ({exc.reason})", notes
        except json.JSONDecodeError as exc:
            return (
                f"{name}.ipynb is not a valid notebook: broken JSON ({exc.msg}, line {exc.lineno})",
                notes,
            )
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            return f"{name}.ipynb is not a notebook (no list of cells)", notes
        import nbformat

        try:
            nbformat.reads(json.dumps(data), as_version=4)
        except Exception as exc:  # nbformat raises several kinds for unreadable notebooks
            return f"{name}.ipynb cannot be read as a notebook ({type(exc).__name__}: {exc})", notes
    stamp = folder / "timestamp.txt"
    if stamp.is_file():
        from nbgrader.utils import parse_utc

        text = stamp.read_text(encoding="utf-8", errors="replace").strip()
        try:
            parse_utc(text)
        except (ValueError, OverflowError):
            return f"timestamp.txt holds {text[:40]!r}, which is not a time", notes
    return None, notes


def _kernel_note(path: Path, release: Path) -> str | None:
    """A note when the submitted notebook asks for a kernel other than the release's."""
    try:
        got = json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
    except (KeyError, TypeError, ValueError, OSError):
        return None
    try:
        want = json.loads(release.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
    except (KeyError, TypeError, ValueError, OSError):
        want = "the course's kernel"
    if got != want:
        return f"kernel {got!r} replaced by {want!r}"
    return None


# ---------------------------------------------------------------------------------------------
# Keeping the submissions intact
# ---------------------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Snapshot:
    """Hashes and a private copy of every file under ``submitted/`` for one assignment."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders
        self.backup = Path(tempfile.mkdtemp(prefix="bpcourse-submissions-"))
        self.hashes: dict[tuple[str, str], str] = {}
        for student, folder in folders.items():
            if folder.is_dir():
                shutil.copytree(folder, self.backup / _safe(student), symlinks=True)
            for path in _files(folder):
                self.hashes[(student, path.relative_to(folder).as_posix())] = _digest(path)

    def restore_changes(self) -> dict[str, list[str]]:
        """Put back every changed, deleted or added file; return them per student."""
        changed: dict[str, list[str]] = {}
        for student, folder in self.folders.items():
            now = {p.relative_to(folder).as_posix(): p for p in _files(folder)}
            for rel, digest in ((r, d) for (s, r), d in self.hashes.items() if s == student):
                path = folder / rel
                if rel not in now or _digest(path) != digest:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if path.is_symlink() or path.is_dir():
                        _remove(path)
                    shutil.copy2(self.backup / _safe(student) / rel, path)
                    changed.setdefault(student, []).append(rel)
            for rel, path in now.items():
                if (student, rel) not in self.hashes:
                    _remove(path)
                    changed.setdefault(student, []).append(rel)
        return changed

    def close(self) -> None:
        shutil.rmtree(self.backup, ignore_errors=True)


def _safe(student: str) -> str:
    return hashlib.sha256(student.encode("utf-8")).hexdigest()[:16]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Reading what happened
# ---------------------------------------------------------------------------------------------

_FAILURE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"DeadKernelError", "the kernel died again after being restarted (too many crashes)"),
    (
        r"CellTimeoutError|UnresponsiveKernelError",
        "a cell kept running after the timeout and the kernel could not be recovered",
    ),
    (r"Inconsistent checksums", "an edited read-only cell could not be restored"),
    (
        r"SchemaTooOldError|SchemaTooNewError",
        "the notebook's nbgrader metadata is from another nbgrader version",
    ),
    (
        r"No notebooks were matched|No notebooks found",
        "no notebook of the assignment in the submission",
    ),
    (r"NotJSONError|JSONDecodeError", "the notebook is not valid JSON"),
    (
        r"Kernel didn't respond|RuntimeError: Kernel died before replying",
        "the kernel did not start",
    ),
)

_LOG_NOTES: tuple[tuple[str, str], ...] = (
    (r"Missing grade cell (\S+) encountered", "test cell {0} was missing; restored"),
    (r"Missing read-only cell (\S+) encountered", "read-only cell {0} was missing; restored"),
    (
        r"Cell with id '([^']+)' exists multiple times",
        "cell {0} appeared more than once; extra copies not graded",
    ),
    (
        r"Cell '([^']+)' does not exist in the database",
        "cell {0} claims to be graded but is unknown; ignored",
    ),
    (
        r"Attribute 'cell_type' for cell (\S+) has changed",
        "cell {0} had its type changed; restored",
    ),
    (r"Attribute 'points' for cell (\S+) has changed", "points of cell {0} were edited; restored"),
    (
        r"Cell (\S+): nbgrader flags .* were edited",
        "nbgrader flags of cell {0} were edited; restored",
    ),
)


def _failure_reason(result: dict[str, Any]) -> str:
    text = f"{result.get('error') or ''}\n{result.get('log') or ''}"
    for pattern, reason in _FAILURE_PATTERNS:
        if re.search(pattern, text):
            return reason
    lines = [ln.strip() for ln in (result.get("error") or "").splitlines() if ln.strip()]
    return f"nbgrader failed: {lines[-1] if lines else 'see the log'}"[:300]


def _log_notes(log: str) -> list[str]:
    notes: list[str] = []
    for pattern, template in _LOG_NOTES:
        for match in re.finditer(pattern, log):
            note = template.format(*match.groups())
            if note not in notes:
                notes.append(note)
    return notes


def _notebook_notes(path: Path) -> list[str]:
    """Notes from the error outputs the grading itself wrote into the autograded notebook."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    labels = {
        TIMEOUT: "timed out (interrupted)",
        KERNEL_DIED: "killed the kernel (restarted, the cell counted as failed)",
        UNRESPONSIVE: "ignored the interrupt at the timeout (kernel restarted)",
        TAMPER: "tampering detected: {evalue}",
    }
    notes = []
    for cell in nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        where = gid or f"cell {cell.get('id', '?')}"
        for out in cell.get("outputs", []):
            ename = out.get("ename")
            if out.get("output_type") == "error" and ename in labels:
                notes.append(f"{where}: {labels[ename].format(evalue=out.get('evalue', ''))}")
            elif ename == "MemoryError":
                notes.append(f"{where}: ran out of memory (MemoryError under the kernel's cap)")
    return notes


def _edited_read_only_notes(submitted: Path, release: Path) -> list[str]:
    """Read-only cells whose source differs from the release (their original was graded)."""
    try:
        sub = json.loads(submitted.read_text(encoding="utf-8"))
        rel = json.loads(release.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []

    tests = {
        c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for c in rel.get("cells", [])
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    }

    def locked_sources(nb: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for cell in nb.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("locked") and not meta.get("solution") and meta.get("grade_id"):
                src = cell.get("source", "")
                out.setdefault(meta["grade_id"], "".join(src) if isinstance(src, list) else src)
        return out

    mine, original = locked_sources(sub), locked_sources(rel)
    return [
        f"{'test' if gid in tests else 'read-only'} cell {gid} was edited; the original was used"
        for gid, src in mine.items()
        if gid in original and src != original[gid]
    ]


def _gradebook_result(api: Any, assignment: str, student: str) -> dict[str, Any]:
    from nbgrader.api import MissingEntry

    with _gradebook(api) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {
            "score": float(sub.score),
            "max_score": float(sub.max_score),
            "needs_manual_grade": bool(sub.needs_manual_grade),
            "seconds_late": float(sub.total_seconds_late or 0.0),
            "late_penalty": float(sub.late_submission_penalty or 0.0),
        }


def _reset_auto_scores(api: Any, assignment: str, student: str) -> None:
    """Zero the automatic scores of a submission that could not be graded (manual ones stay)."""
    from nbgrader.api import MissingEntry

    with _gradebook(api) as gb:
        try:
            gb.update_or_create_student(student)
            sub = gb.update_or_create_submission(assignment, student)
        except MissingEntry:
            return
        for notebook in sub.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
            notebook.late_submission_penalty = None
        gb.db.commit()


# ---------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------


def _students(api: Any, assignment: str) -> tuple[dict[str, Path], list[str], list[str]]:
    """Submission folders by student, gradebook students without a folder, the roster."""
    submitted = Path(api.coursedir.format_path(api.coursedir.submitted_directory, ".", "."))
    folders = {}
    if submitted.is_dir():
        for student_dir in sorted(submitted.iterdir()):
            folder = student_dir / assignment
            if student_dir.is_dir() and folder.exists():
                folders[student_dir.name] = folder
    with _gradebook(api) as gb:
        roster = [s.id for s in gb.students]
    return folders, sorted(s for s in roster if s not in folders), sorted(roster)


def grade_assignment(
    root: str | Path,
    assignment: str,
    students: Iterable[str] | None = None,
    *,
    jobs: int = 1,
    overrides: Any = None,
    progress: Any = None,
    sandboxed: bool = True,
) -> list[SubmissionResult]:
    """Autograde every submission of ``assignment`` in the course directory ``root``.

    Args:
        root: the course directory (with ``nbgrader_config.py`` and ``submitted/``).
        assignment: the assignment id, e.g. ``"02_computational_graphs"``.
        students: only these students (default: every folder ``submitted/*/<assignment>``).
        jobs: submissions graded at the same time (each in its own process and kernel). With
            more than one, a student whose submitted files were changed by another student's
            code while grading ran is graded again, alone, once the files are restored.
        overrides: a traitlets ``Config`` merged over ``nbgrader_config.py``.
        progress: called with each :class:`SubmissionResult` as soon as it is known.
        sandboxed: run every kernel in the grading sandbox (the default). ``False`` grades
            without it and says so in every result (its ``sandbox`` is ``"off"``, its notes
            carry :data:`UNSANDBOXED_WARNING`).

    Returns:
        One result per student (graded, failed with a reason, or missing), sorted by student.
        Submitted files are left byte-identical; grades go to the course's gradebook.

    Raises:
        ValueError: if ``jobs`` is not a positive integer.
        SandboxUnavailableError: ``sandboxed`` and the sandbox cannot be built here (nothing is
            graded); the message says why and how to fix it.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    overrides, sandbox = _sandbox_overrides(root, overrides, sandboxed)
    api = course_api(root, overrides)
    notebooks = _expected_notebooks(api, assignment)
    folders, absent, roster = _students(api, assignment)
    if students is not None:
        wanted = list(dict.fromkeys(students))
        absent = [s for s in wanted if s not in folders]
        folders = {s: f for s, f in folders.items() if s in wanted}
    batch = _Batch(api, assignment, notebooks, folders, roster)
    results: dict[str, SubmissionResult] = {}

    def done(result: SubmissionResult) -> None:
        result.sandbox = sandbox
        if sandbox == UNSANDBOXED and result.status != MISSING:
            result.notes.insert(0, UNSANDBOXED_WARNING)
        results[result.student] = result
        if progress is not None:
            progress(result)

    for student in absent:
        done(SubmissionResult(student, assignment, MISSING, reason="no submission folder"))
    try:
        ready = []
        for student in folders:
            result = batch.precheck(student)
            if result.status == FAILED:
                done(batch.finish(result, None))
            else:
                ready.append(result)
        if jobs == 1 or len(ready) < 2:
            for result in ready:
                outcome = _autograde(api, assignment, result.student)
                done(batch.finish(result, outcome))
        else:
            for result in batch.parallel(ready, jobs, Path(root), overrides):
                done(result)
    finally:  # also on Ctrl-C: no submission is left as a student's code changed it
        batch.snapshot.restore_changes()
        batch.snapshot.close()
    return [results[s] for s in sorted(results)]


def _sandbox_overrides(root: str | Path, overrides: Any, sandboxed: bool) -> tuple[Any, str]:
    """The config overrides that switch the sandbox on (required) or off, and its tool."""
    from traitlets.config import Config
    from traitlets.utils.importstring import import_item

    from bpcourse.autograde.kernelmanager import LimitedKernelManager

    merged = Config()
    if overrides is not None:
        merged.merge(overrides)
    if not sandboxed:
        merged.LimitedKernelManager.sandbox = "off"
        return merged, UNSANDBOXED
    config = _load_config(Path(root).resolve(), overrides)
    manager = config.Execute.get("kernel_manager_class", "")
    try:
        manager_class = import_item(manager) if manager else None
    except ImportError:
        manager_class = None
    if not (isinstance(manager_class, type) and issubclass(manager_class, LimitedKernelManager)):
        raise SandboxUnavailableError(
            f"nbgrader_config.py starts grading kernels with {manager or 'jupyter_client'}'s "
            "kernel manager, which has no sandbox: set c.Execute.kernel_manager_class = "
            '"bpcourse.autograde.kernelmanager.LimitedKernelManager", or pass --unsandboxed'
        )
    preferred = config.LimitedKernelManager.get("sandbox_backend", "any")
    backend = available_backend(preferred)
    merged.LimitedKernelManager.sandbox = "require"
    return merged, backend


def _autograde(api: Any, assignment: str, student: str) -> dict[str, Any]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy chatter from nbgrader's gradebook
        outcome = api.autograde(assignment, student, force=True, create=True)
    return {
        "success": bool(outcome.get("success")),
        "log": outcome.get("log") or "",
        "error": outcome.get("error") or "",
        "seconds": time.perf_counter() - start,
    }


_WORKER_API: dict[tuple[str, str], Any] = {}


def _autograde_worker(root: str, overrides: Any, assignment: str, student: str) -> dict[str, Any]:
    """Run in a worker process: autograde one student with a cached ``NbGraderAPI``."""
    key = (root, repr(overrides))
    if key not in _WORKER_API:
        _WORKER_API[key] = course_api(root, overrides)
    return _autograde(_WORKER_API[key], assignment, student)


class _Batch:
    """The state of one grading run: expected notebooks, snapshot, and per-student steps."""

    def __init__(
        self,
        api: Any,
        assignment: str,
        notebooks: Sequence[str],
        folders: dict[str, Path],
        roster: Sequence[str] = (),
    ) -> None:
        self.api = api
        self.roster = set(roster)
        self.assignment = assignment
        self.notebooks = list(notebooks)
        self.folders = folders
        self.release_dir = Path(
            api.coursedir.format_path(api.coursedir.release_directory, ".", assignment)
        )
        self.snapshot = _Snapshot(folders)

    def precheck(self, student: str) -> SubmissionResult:
        """The result so far: FAILED with a reason, or GRADED-to-be with notes."""
        folder = self.folders[student]
        start = time.perf_counter()
        if self.roster and student not in self.roster:
            stranger = (
                f"not on the roster: no student {student!r} in the gradebook (a typo, or a "
                "folder that appeared during an earlier run?); if it is a student's, add them "
                f"(nbgrader db student add {student}) and grade again"
            )
            return SubmissionResult(student, self.assignment, FAILED, reason=stranger)
        reason, notes = precheck_submission(folder, self.notebooks)
        result = SubmissionResult(student, self.assignment, GRADED, notes=notes)
        result.seconds = time.perf_counter() - start
        if reason is not None:
            result.status, result.reason = FAILED, reason
            return result
        result.notes.extend(self._remove_links(student))
        for name in self.notebooks:
            path, release = folder / f"{name}.ipynb", self.release_dir / f"{name}.ipynb"
            if path.is_file():
                note = _kernel_note(path, release)
                if note:
                    result.notes.append(note)
                result.notes.extend(_edited_read_only_notes(path, release))
        return result

    def _remove_links(self, student: str) -> list[str]:
        """Remove symbolic links where this student's graded copy and feedback will be written.

        nbgrader would write (and, with ``force``, first delete) through them: a link
        ``autograded/<student>`` to ``solutions/`` would cost the instructor that folder.
        """
        coursedir, notes = self.api.coursedir, []
        for step in (coursedir.autograded_directory, coursedir.feedback_directory):
            inner = Path(coursedir.format_path(step, student, self.assignment))
            for path in (inner.parent, inner):
                if path.is_symlink():
                    target = os.readlink(path)
                    path.unlink()
                    rel = path.relative_to(coursedir.root).as_posix()
                    notes.append(f"{rel} was a symbolic link (to {target}); removed")
                    break
        return notes

    def finish(
        self, result: SubmissionResult, outcome: dict[str, Any] | None, restore: bool = True
    ) -> SubmissionResult:
        """Record nbgrader's outcome (None: not run), restore files, read the gradebook."""
        api, student = self.api, result.student
        start = time.perf_counter()
        if outcome is not None:
            if outcome["success"]:
                result.status = GRADED
                result.notes.extend(_log_notes(outcome["log"]))
                autograded = Path(
                    api.coursedir.format_path(
                        api.coursedir.autograded_directory, student, self.assignment
                    )
                )
                for name in self.notebooks:
                    result.notes.extend(_notebook_notes(autograded / f"{name}.ipynb"))
            else:
                result.status, result.reason = FAILED, _failure_reason(outcome)
        if result.status == FAILED and (not self.roster or student in self.roster):
            _reset_auto_scores(api, self.assignment, student)
        if restore:
            for owner, files in self.snapshot.restore_changes().items():
                whose = "its own" if owner == student else f"{owner}'s"
                result.notes.append(f"changed {whose} submitted files {', '.join(files)}; restored")
        for key, value in _gradebook_result(api, self.assignment, student).items():
            setattr(result, key, value)
        result.seconds = (
            result.seconds + (outcome or {}).get("seconds", 0.0) + time.perf_counter() - start
        )
        return result

    def parallel(
        self, ready: list[SubmissionResult], jobs: int, root: Path, overrides: Any
    ) -> list[SubmissionResult]:
        """Grade ``ready`` in ``jobs`` processes, then regrade alone any whose files changed."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        by_student = {r.student: r for r in ready}
        disturbed: set[str] = set()
        finished: dict[str, SubmissionResult] = {}
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {
                pool.submit(
                    _autograde_worker, str(root.resolve()), overrides, self.assignment, r.student
                ): r.student
                for r in ready
            }
            for future in as_completed(futures):
                student = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # a worker process died: report, carry on
                    outcome = {"success": False, "log": "", "error": f"{type(exc).__name__}: {exc}"}
                disturbed.update(self.snapshot.restore_changes())
                finished[student] = self.finish(by_student[student], outcome, restore=False)
        for student in sorted(disturbed & set(by_student)):
            result = self.precheck(student)
            result.notes.append(
                "its submitted files were changed while the batch ran; restored and graded again"
            )
            finished[student] = self.finish(result, _autograde(self.api, self.assignment, student))
        return [finished[s] for s in sorted(finished)]


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


def format_table(results: Sequence[SubmissionResult]) -> str:
    """A plain-text table: student, score, status, and the reason or notes."""
    rows = [("student", "score", "status", "reason / notes")]
    for r in results:
        score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
        if r.seconds_late:
            score += f" (late {r.seconds_late / 3600:.1f} h, penalty {r.late_penalty:g})"
        notes = [n for n in r.notes if n != UNSANDBOXED_WARNING]
        detail = r.reason if r.status != GRADED else "; ".join(notes)
        rows.append((r.student, score, r.status, detail))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
        for row in rows
    ]
    graded = sum(r.status == GRADED for r in results)
    lines.append(f"{graded} graded, {len(results) - graded} not graded, of {len(results)}")
    if any(r.sandbox == UNSANDBOXED for r in results):
        lines.insert(0, UNSANDBOXED_WARNING)
        lines.append(UNSANDBOXED_WARNING)
    return "\n".join(line.rstrip() for line in lines)


def write_results_csv(results: Sequence[SubmissionResult], path: str | Path) -> Path:
    """Write the results of :func:`grade_assignment` as CSV (UTF-8); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(RESULT_FIELDS))
        writer.writeheader()
        for r in results:
            writer.writerow(r.row())
    return path


EXPORT_FIELDS = (
    "student",
    "assignment",
    "timestamp",
    "seconds_late",
    "raw_score",
    "late_penalty",
    "score",
    "max_score",
    "code_score",
    "written_score",
    "needs_manual_grade",
)


def export_grades(
    root: str | Path, path: str | Path, assignments: Sequence[str] | None = None
) -> int:
    """Write every grade of the gradebook as CSV: one row per student and assignment.

    ``score`` is ``raw_score`` minus the late penalty; a student without a submission gets an
    empty row with ``max_score`` only. Returns the number of rows written.

    Raises:
        ValueError: for an assignment of ``assignments`` that the gradebook does not know
            (nothing is written then).
    """
    from nbgrader.api import MissingEntry

    api = course_api(root)
    if assignments is not None:
        with _gradebook(api) as gb:
            known = sorted(a.name for a in gb.assignments)
        unknown = [a for a in assignments if a not in known]
        if unknown:  # before the file is touched
            raise ValueError(
                f"assignments: expected names from the gradebook {known}, got {unknown}"
            )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with _gradebook(api) as gb, path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
        writer.writeheader()
        chosen = [a for a in gb.assignments if assignments is None or a.name in assignments]
        for assignment in sorted(chosen, key=lambda a: a.name):
            for student in sorted(gb.students, key=lambda s: s.id):
                row: dict[str, Any] = {
                    "student": student.id,
                    "assignment": assignment.name,
                    "max_score": f"{assignment.max_score:g}",
                }
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    writer.writerow(row)
                    count += 1
                    continue
                penalty = float(sub.late_submission_penalty or 0.0)
                row.update(
                    timestamp=sub.timestamp.isoformat() if sub.timestamp else "",
                    seconds_late=f"{float(sub.total_seconds_late or 0):g}",
                    raw_score=f"{float(sub.score):g}",
                    late_penalty=f"{penalty:g}",
                    score=f"{max(0.0, float(sub.score) - penalty):g}",
                    code_score=f"{float(sub.code_score):g}",
                    written_score=f"{float(sub.written_score):g}",
                    needs_manual_grade="yes" if sub.needs_manual_grade else "no",
                )
                writer.writerow(row)
                count += 1
    return count
