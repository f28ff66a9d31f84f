"""The grading workflow's pieces without a kernel: launcher limits, checks before grading,
snapshots of submissions, reports, the nbgrader extensions' helpers and the course's config.
(The whole pipeline on faulty submissions is in test_faulty_submissions.py.)"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bpcourse.autograde import cellnames, classroom, kernel_launcher
from bpcourse.autograde.cli import load_config, main
from bpcourse.autograde.kernelmanager import LimitedKernelManager
from bpcourse.autograde.preprocessors import ShortenHiddenTracebacks

from course_utils import ROOT

# ---------------------------------------------------------------------------------------------
# kernel_launcher
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"memory_mb": 0}, "memory_mb"),
        ({"memory_mb": -5}, "memory_mb"),
        ({"memory_mb": 1.5}, "memory_mb"),
        ({"memory_mb": True}, "memory_mb"),
        ({"file_mb": "10"}, "file_mb"),
        ({"cpu_seconds": 0}, "cpu_seconds"),
    ],
)
def test_apply_limits_rejects_bad_values(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        kernel_launcher.apply_limits(**kwargs)


@pytest.mark.parametrize("bad", [0, -1, 2.0, False])
def test_cap_threads_rejects_bad_values(bad: object) -> None:
    with pytest.raises(ValueError, match="threads"):
        kernel_launcher.cap_threads(bad)  # type: ignore[arg-type]


def test_launcher_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert kernel_launcher.main(["--memory-mb", "100", "--"]) == 2
    assert "no kernel command" in capsys.readouterr().err
    assert kernel_launcher.main(["--memory-mb", "0", "--", "true"]) == 2


def _launch(*limits: str, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bpcourse.autograde.kernel_launcher",
            *limits,
            "--",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_launcher_sets_limits_and_closes_stdin() -> None:
    code = (
        "import os, resource, sys\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20,"
        " resource.getrlimit(resource.RLIMIT_FSIZE)[0] // 2**20,"
        " resource.getrlimit(resource.RLIMIT_CORE)[0],"
        " os.environ['OPENBLAS_NUM_THREADS'], repr(sys.stdin.read()))\n"
    )
    out = _launch("--memory-mb", "900", "--file-mb", "3", "--threads", "1", code=code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["900", "3", "0", "1", "''"]


def test_launcher_lets_the_kernel_reuse_freed_memory_unless_told_otherwise() -> None:
    code = "import os; print(*(os.environ[f'MALLOC_{k}_THRESHOLD_'] for k in ('MMAP', 'TRIM')))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-m", "bpcourse.autograde.kernel_launcher", "--", sys.executable, "-c",
         code],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(32 * 2**20), str(64 * 2**20)]
    env["MALLOC_TRIM_THRESHOLD_"] = "0"  # the grader's own setting wins
    out = subprocess.run(
        [sys.executable, "-m", "bpcourse.autograde.kernel_launcher", "--", sys.executable, "-c",
         code],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.stdout.split() == [str(32 * 2**20), "0"]


def test_memory_and_file_caps_raise_instead_of_taking_the_machine() -> None:
    code = (
        "try:\n    bytearray(2**31)\nexcept MemoryError:\n    print('memory capped')\n"
        "try:\n    open('big.bin', 'wb').write(b'x' * 2**21)\n"
        "except OSError as e:\n    print('file capped', e.errno)\n"
        "import os\nos.remove('big.bin')\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "bpcourse.autograde.kernel_launcher", "--memory-mb=600",
         "--file-mb=1", "--", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=60, cwd=ROOT / "tests",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "memory capped" in out.stdout and "file capped 27" in out.stdout


def test_limited_kernel_manager_wraps_the_kernel_command() -> None:
    km = LimitedKernelManager(kernel_name="python3")
    km.memory_limit_mb, km.file_size_limit_mb, km.library_threads = 1000, 0, 2
    assert km.launcher_arguments() == ["--memory-mb=1000", "--threads=2"]
    km.connection_file = str(ROOT / "kernel-test.json")
    km._launch_args = {}
    cmd = km.format_kernel_cmd()
    assert cmd[:3] == [sys.executable, "-m", "bpcourse.autograde.kernel_launcher"]
    assert "--" in cmd and "ipykernel_launcher" in cmd[cmd.index("--") :]
    km.memory_limit_mb = -1
    with pytest.raises(ValueError, match="memory-mb"):
        km.launcher_arguments()


# ---------------------------------------------------------------------------------------------
# nbgrader preprocessors: helpers
# ---------------------------------------------------------------------------------------------


def test_imported_and_loaded_names() -> None:
    setup = "%matplotlib inline\nimport numpy as np\nimport bpcourse.grading as G\nimport os.path\n"
    setup += "from math import tanh, exp as e\nfrom x import *\n"
    assert cellnames.imported_names(setup) == {"np", "G", "os", "tanh", "e"}
    assert cellnames.imported_names("def f(:\n") == set()
    used = cellnames.loaded_names("G.check_array(f(np.ones(3)), y)\nz = 1\n")
    assert used == {"G", "f", "np", "y"}
    assert "get_ipython" in cellnames.loaded_names("%%timeit\nx")  # magics become calls


def test_hidden_test_tracebacks_are_shortened() -> None:
    test = nbformat.v4.new_code_cell(
        "G.check_true(True, 'x')\n### BEGIN HIDDEN TESTS\nassert f(2) == 5\n"
    )
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False,
                                 "locked": True, "schema_version": 3}  # fmt: skip
    frames = ["frame 1", "assert f(2) == 5", "end"]
    test.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="assert f(2) == 5\n"),
        nbformat.v4.new_output(
            "error", ename="AssertionError", evalue="f(2) is 4", traceback=frames
        ),
    ]
    plain = nbformat.v4.new_code_cell("1/0")
    plain.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="",
                                            traceback=["frame", "1/0"])]  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[test, plain])
    out, _ = ShortenHiddenTracebacks().preprocess(nb, {})
    assert len(out.cells[0].outputs) == 1  # what the submission printed there is dropped
    assert out.cells[0].outputs[0].traceback == ["AssertionError: f(2) is 4"]
    assert out.cells[1].outputs[0].traceback == ["frame", "1/0"]


# ---------------------------------------------------------------------------------------------
# Checks before grading
# ---------------------------------------------------------------------------------------------


def _notebook() -> bytes:
    return nbformat.writes(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    ).encode()


@pytest.mark.parametrize(
    "files, fragment",
    [
        (None, "no submission folder"),
        ({}, "empty"),
        ({"lesson_v2.ipynb": _notebook()}, "renamed: found lesson_v2.ipynb"),
        ({"notes.txt": b"hello"}, "no notebook submitted"),
        ({"lesson.ipynb": b'{"cells": [1, 2'}, "broken json"),
        ({"lesson.ipynb": b"\xff\xfe\x00garbage"}, "not utf-8"),
        ({"lesson.ipynb": b"[1, 2, 3]"}, "not a notebook"),
        (
            {"lesson.ipynb": b'{"cells": [{"cell_type": "bogus"}], "metadata": {}}'},
            "cannot be read",
        ),
        ({"lesson.ipynb": _notebook(), "timestamp.txt": b"next tuesday"}, "not a time"),
    ],
)
def test_precheck_reasons(tmp_path: Path, files: dict | None, fragment: str) -> None:
    folder = tmp_path / "alice" / "lesson"
    if files is not None:
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    reason, _ = classroom.precheck_submission(folder, ["lesson"])
    assert reason is not None and fragment in reason.lower(), reason


def test_precheck_refuses_symbolic_links(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.ipynb").write_bytes(_notebook())
    (folder / "data.csv").symlink_to(tmp_path / "secret.txt")
    reason, _ = classroom.precheck_submission(folder, ["a"])
    assert reason is not None and "symbolic links (data.csv)" in reason


def test_precheck_accepts_a_good_submission(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.ipynb").write_bytes(_notebook())
    (folder / "timestamp.txt").write_text("2026-01-10 12:00:00.000000 UTC")
    assert classroom.precheck_submission(folder, ["a"]) == (None, [])
    reason, notes = classroom.precheck_submission(folder, ["a", "b"])
    assert reason is None and notes == ["b.ipynb missing (scored 0)"]


def test_snapshot_restores_changed_deleted_and_added_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "x", tmp_path / "b" / "x"
    for folder in (a, b):
        (folder / "sub").mkdir(parents=True)
        (folder / "n.ipynb").write_bytes(b"original " + folder.parent.name.encode())
        (folder / "sub" / "data.csv").write_text("1,2\n")
    snap = classroom._Snapshot({"a": a, "b": b})
    try:
        assert snap.restore_changes() == {}
        (a / "n.ipynb").write_text("vandalised")
        (b / "sub" / "data.csv").unlink()
        (b / "intruder.py").write_text("x = 1")
        changed = snap.restore_changes()
        assert changed == {"a": ["n.ipynb"], "b": ["sub/data.csv", "intruder.py"]}
        assert (a / "n.ipynb").read_bytes() == b"original a"
        assert (b / "sub" / "data.csv").read_text() == "1,2\n"
        assert not (b / "intruder.py").exists()
    finally:
        snap.close()
    assert not snap.backup.exists()


# ---------------------------------------------------------------------------------------------
# Reports and the command line
# ---------------------------------------------------------------------------------------------


def _results() -> list[classroom.SubmissionResult]:
    return [
        classroom.SubmissionResult("ana", "l1", "graded", 10.0, 12.0, notes=["t1: timed out"]),
        classroom.SubmissionResult(
            "bö_学", "l1", "failed", 0.0, 12.0, reason="the folder is empty"
        ),
        classroom.SubmissionResult(
            "cy", "l1", "graded", 12.0, 12.0, seconds_late=7200, late_penalty=12.0
        ),
        classroom.SubmissionResult("dee", "l1", "missing", reason="no submission folder"),
    ]


def test_table_lists_every_student_with_status_and_reason() -> None:
    table = classroom.format_table(_results())
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["student", "score", "status"]
    assert "10/12" in lines[1] and "t1: timed out" in lines[1]
    assert "failed" in lines[2] and "the folder is empty" in lines[2]
    assert "late 2.0 h, penalty 12" in lines[3]
    assert lines[4].split()[:3] == ["dee", "-", "missing"]
    assert lines[-1] == "2 graded, 2 not graded, of 4"


def test_results_csv_round_trip(tmp_path: Path) -> None:
    path = classroom.write_results_csv(_results(), tmp_path / "out" / "l1.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["student"] for r in rows] == ["ana", "bö_学", "cy", "dee"]
    assert list(rows[0]) == list(classroom.RESULT_FIELDS)
    assert rows[0]["score"] == "10" and rows[0]["notes"] == "t1: timed out"
    assert rows[1]["reason"] == "the folder is empty" and rows[3]["score"] == ""


def test_grade_assignment_rejects_bad_jobs(tmp_path: Path) -> None:
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="jobs"):
            classroom.grade_assignment(tmp_path, "x", jobs=bad)  # type: ignore[arg-type]


def test_cli_grade_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "grade", "x"]) == 2
    assert "no nbgrader_config.py" in capsys.readouterr().err
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert main(["--root", str(tmp_path), "grade", "x", "--jobs", "0"]) == 2
    assert main(["--root", str(tmp_path), "grade", "x", "--timeout", "-3"]) == 2
    with pytest.raises(FileNotFoundError):
        classroom.course_api(tmp_path / "nowhere")


def test_hidden_tests_are_cleared_from_test_cells_only() -> None:
    from nbgrader.preprocessors import ClearHiddenTests

    from bpcourse.autograde.preprocessors import ClearHiddenTestCells

    test = nbformat.v4.new_code_cell(
        "check(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 5\n### END HIDDEN TESTS\n"
    )
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False,
                                 "locked": True, "schema_version": 3}  # fmt: skip
    answer = nbformat.v4.new_code_cell("def f(x):\n    return 5  # ### BEGIN HIDDEN TESTS?\n")
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": "a", "solution": True,
                                   "locked": False, "schema_version": 3}  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[test, answer])
    with pytest.raises(RuntimeError):  # nbgrader's own step: no feedback for this student
        ClearHiddenTests().preprocess(nbformat.from_dict(nb), {})
    out, _ = ClearHiddenTestCells().preprocess(nb, {})
    assert "assert f(2) == 5" not in out.cells[0].source and "check(f)" in out.cells[0].source
    assert out.cells[1].source == answer.source


# ---------------------------------------------------------------------------------------------
# The course's configuration
# ---------------------------------------------------------------------------------------------


def test_production_grading_config() -> None:
    from traitlets.utils.importstring import import_item

    c = load_config(ROOT)
    assert 10 <= c.Execute.timeout <= 120 and c.Execute.interrupt_on_timeout
    assert c.Execute.shutdown_kernel == "immediate"  # nothing to save; its exit cost 0.3-0.5 s
    assert c.Execute.kernel_manager_class == "bpcourse.autograde.kernelmanager.LimitedKernelManager"
    assert 1024 <= c.LimitedKernelManager.memory_limit_mb <= 8192
    assert c.OverwriteCells.add_missing_cells is True
    assert "--InteractiveShell.xmode=Plain" in c.Execute.extra_arguments
    assert c.LimitOutput.max_lines > 0 and c.LimitOutput.max_traceback > 0
    sanitize, autograde = c.Autograde.sanitize_preprocessors, c.Autograde.autograde_preprocessors
    assert "bpcourse.autograde.preprocessors.RestoreCells" in sanitize
    assert not any(p.endswith(".OverwriteCells") for p in sanitize)
    assert autograde[0] == "bpcourse.autograde.preprocessors.ResilientExecute"
    assert "nbgrader.preprocessors.SaveAutoGrades" in autograde
    feedback = c.GenerateFeedback.preprocessors
    shorten = feedback.index("bpcourse.autograde.preprocessors.ShortenHiddenTracebacks")
    clear = feedback.index("bpcourse.autograde.preprocessors.ClearHiddenTestCells")
    assert shorten < clear and "nbgrader.preprocessors.ClearHiddenTests" not in feedback
    for name in [c.Execute.kernel_manager_class, *sanitize, *autograde, *feedback]:
        assert import_item(name)


def test_jupyterhub_example_config_loads() -> None:
    from traitlets.config.loader import PyFileConfigLoader

    path = ROOT / "deploy" / "nbgrader_config.py"
    c = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    assert c.CourseDirectory.course_id
    assert c.Exchange.root.startswith("/")
    assert c.CourseDirectory.db_url.startswith(("sqlite:///", "postgresql"))
    json.dumps(dict(c))  # only plain values: safe to copy into a hub's config


def test_cli_names_an_unknown_assignment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped assignment id gets one line naming the known ones, not a traceback."""
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.source_directory = "solutions"\n'
    )
    (tmp_path / "solutions" / "01_chain_rule").mkdir(parents=True)
    assert main(["--root", str(tmp_path), "grade", "01_chain_rul", "--unsandboxed"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpcourse grade: assignment: expected one of ['01_chain_rule']")
    assert "Traceback" not in err and "01_chain_rul'" in err


def test_export_names_an_unknown_assignment_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    out = tmp_path / "grades" / "all.csv"
    args = ["--root", str(tmp_path), "export-grades", str(out), "--assignment", "01_chain_rul"]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(
        "bpcourse export-grades: assignments: expected names from the gradebook [], got "
        "['01_chain_rul']"
    )
    assert not out.exists()
