"""The grading sandbox against hostile submissions, through the real ``bpcourse grade``.

A scratch course (the course's own ``nbgrader_config.py``, a shorter timeout) is graded twice
with the command line: first a control student (the instructor's answers) and a blank student
(the release, unanswered) alone, then again with every attack of ``hostile_cases`` beside them
in the same run, the control and the blank graded after the attackers. Each attack must give
its author no more than the blank student gets; the control's and the blank's scores and
outputs must not move; every file outside the attackers' own graded copies (the course's
sources, configuration, submissions, the installed package, site-packages, the grader's
IPython folder) must stay byte-identical; no process may survive the run; the listener on
127.0.0.1 must see no connection. The suite runs once per sandbox tool (bubblewrap, util-linux
unshare), and the attacks that only read are also run with ``--unsandboxed`` to show that they
do work without the sandbox (so the suite is not vacuous).

The sandbox needs Linux namespaces; where the machine has none, these tests are skipped with
the reason the grader gives.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import io
import json
import os
import shutil
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hostile_cases as hc
import pytest

from course_utils import grade_id, is_test, make_course, nbgrader_api, read, solution_path

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

LESSON = "02_computational_graphs"
CONTROL = "zz_control"  # graded after every attacker (students are graded in name order)
BLANK = "zz_blank"
SCRATCH_CONFIG = """
c.Execute.timeout = 10
c.LimitedKernelManager.memory_limit_mb = 1536
"""
PACKAGE = Path(__import__("bpcourse").__file__).resolve().parent


@contextlib.contextmanager
def _short_runtime_root() -> Any:
    """A fresh folder straight under the system's temporary folder, for kernels' runtime
    folders: their Unix sockets' paths must stay under 108 bytes, and pytest's own temporary
    paths (user, run number, xdist worker, test name) can pass that."""
    root = Path(tempfile.mkdtemp(prefix="bpk-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _sandbox_or_skip(backend: str) -> str:
    from bpcourse.autograde.sandbox import SandboxUnavailableError, available_backend

    try:
        return available_backend(backend)
    except SandboxUnavailableError as exc:
        pytest.skip(f"THE GRADING SANDBOX CANNOT BE BUILT ON THIS MACHINE: {exc}")


# ---------------------------------------------------------------------------------------------
# What the attacks could touch
# ---------------------------------------------------------------------------------------------


def _hash_tree(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    if not folder.exists():
        return out
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip) or "__pycache__" in p.parts:
            continue
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def _ipython_dir() -> Path:
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir())


def _outside_state(course: Path) -> dict[str, Any]:
    """Everything an attack could change that grading itself never changes."""
    sites = [Path(s) for s in [*site.getsitepackages(), site.getusersitepackages()]]
    return {
        "course": _hash_tree(course, ("autograded", "feedback", "grades", "gradebook.db")),
        "package": _hash_tree(PACKAGE),
        "site-packages": {str(s): sorted(os.listdir(s)) if s.is_dir() else None for s in sites},
        "environment etc": _hash_tree(Path(sys.prefix) / "etc"),
        "ipython": _hash_tree(_ipython_dir() / "profile_default" / "startup"),
        "planted tmp": os.path.exists(hc.PLANTED_TMP),
    }


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (uid, command line)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = entry.stat().st_uid
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out[int(entry.name)] = (uid, cmd)
    return out


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(1024))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------------------------


def _cell_scores(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bpcourse") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(LESSON, student.id)
            except MissingEntry:
                continue
            row = {"code_score": float(sub.code_score), "score": float(sub.score)}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    row[grade.name] = float(grade.score)
            out[student.id] = row
    return out


def _outputs(course: Path, student: str) -> list[Any]:
    """Per cell of a graded notebook: its source, printed text, errors and plain results.

    Printed text is joined per stream (the kernel may send one line as one message or two).
    """
    path = course / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        streams: dict[str, str] = {}
        other = []
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                streams[out["name"]] = streams.get(out["name"], "") + "".join(out["text"])
            elif out["output_type"] == "error":
                other.append((out["ename"], out["evalue"]))
            else:
                other.append("".join(out.get("data", {}).get("text/plain", "")))
        cells.append(("".join(cell["source"]), streams, other))
    return cells


def _grade(course: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``bpcourse grade`` on the scratch course, as a separate process like an instructor's."""
    cmd = [sys.executable, "-m", "bpcourse.autograde.cli", "--root", str(course), "grade"]
    out = subprocess.run(
        [*cmd, LESSON, *args], capture_output=True, text=True, timeout=900, env=env
    )
    return out.returncode, out.stdout + out.stderr


def _submit(course: Path, student: str, data: bytes) -> None:
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_bytes(data)


@dataclass
class Run:
    backend: str
    course: Path
    attacks: list[hc.Attack]
    baseline: dict[str, dict[str, float]]
    baseline_outputs: dict[str, Any]
    scores: dict[str, dict[str, float]]
    rows: dict[str, dict[str, str]]
    exit_code: int
    output: str
    before: dict[str, Any]
    after: dict[str, Any]
    after_wait: dict[str, Any]
    stray: list[str]
    connections: list[bytes]
    seconds: float
    secret: str
    runtime_left: list[str]


@pytest.fixture(scope="module")
def _module_runtime_root() -> Any:
    with _short_runtime_root() as root:
        yield root


# One graded class per sandbox backend, each built once by one worker (its own xdist group).
@pytest.fixture(
    scope="module",
    params=[
        pytest.param(b, marks=pytest.mark.xdist_group(f"hostile-{b}")) for b in ("bwrap", "unshare")
    ],
)
def run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _module_runtime_root: Path,
) -> Run:
    backend = _sandbox_or_skip(request.param)
    tmp = tmp_path_factory.mktemp(f"hostile-{backend}")
    # the kernels' runtime folders: their command lines name it (the check for strays uses it)
    runtime = _module_runtime_root
    config = SCRATCH_CONFIG + (
        f'c.LimitedKernelManager.sandbox_backend = "{backend}"\n'
        f"c.LimitedKernelManager.runtime_root = {str(runtime)!r}\n"
    )
    course = make_course(tmp, [LESSON], config)
    _submit(course, CONTROL, hc.notebook(LESSON, None, solved=True))
    _submit(course, BLANK, hc.notebook(LESSON, None))
    code, output = _grade(course)
    assert code == 0, output
    baseline = _cell_scores(course)
    baseline_outputs = {s: _outputs(course, s) for s in (CONTROL, BLANK)}

    listener = Listener()
    attacks = hc.attacks(listener.port, CONTROL)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="bpcourse") as gb:
        for attack in attacks:  # on the roster, like the control and the blank students
            gb.update_or_create_student(attack.student)
    for attack in attacks:
        _submit(course, attack.student, hc.notebook(LESSON, attack))
    secret = f"secret-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, hc.SECRET_VARIABLE: secret}
    # The profile folder any first IPython start creates (with startup/README), made now: on
    # a fresh machine a kernel of another test could create it during grading and pass for
    # an attack on the start-up folder.
    from IPython.core.profiledir import ProfileDir

    _ipython_dir().mkdir(parents=True, exist_ok=True)
    ProfileDir.create_profile_dir_by_name(str(_ipython_dir()), "default")
    before = _outside_state(course)
    processes = _processes()
    start = time.perf_counter()
    jobs = "2" if backend == "unshare" else "1"
    code, output = _grade(course, "--jobs", jobs, env=env)
    seconds = time.perf_counter() - start
    after = _outside_state(course)
    stray = [
        f"{pid} (uid {uid}): {cmd}"
        for pid, (uid, cmd) in _processes().items()
        if pid not in processes
        and any(mark in cmd for mark in (hc.DAEMON_MARKER, str(tmp), str(runtime)))
    ]
    time.sleep(3)  # a daemon that escaped would act now
    after_wait = _outside_state(course)
    listener.close()
    with (course / "grades" / f"{LESSON}.csv").open(encoding="utf-8") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    return Run(
        backend, course, attacks, baseline, baseline_outputs, _cell_scores(course), rows, code,
        output, before, after, after_wait, stray, listener.connections, seconds, secret,
        sorted(p.name for p in runtime.iterdir()),
    )  # fmt: skip


def _attack_lines(run: Run, student: str) -> list[str]:
    path = run.course / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    return [ln for ln in text.splitlines() if ln.startswith("ATTACK ")]


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------


def test_every_attacker_is_graded_and_gets_no_more_than_the_blank_student(run: Run) -> None:
    blank = run.baseline[BLANK]["code_score"]
    print(f"\n{run.backend}: {len(run.attacks)} attacks + 2 students in {run.seconds:.1f} s")
    for attack in run.attacks:
        row = run.rows[attack.student]
        assert row["status"] == "graded", (attack.student, row["reason"])
        assert row["sandbox"] == run.backend
        got = run.scores[attack.student]["code_score"]
        assert got <= blank, f"{attack.student} ({attack.what}) scored {got} > blank {blank}"
        lines = _attack_lines(run, attack.student)
        assert lines, f"{attack.student}: the attack did not run"
        print(f"  {attack.student:24s} {got:g}  " + " | ".join(lines)[:400])


def test_control_and_blank_students_are_untouched(run: Run) -> None:
    for student in (CONTROL, BLANK):
        assert run.scores[student] == run.baseline[student], student
        assert _outputs(run.course, student) == run.baseline_outputs[student], student
        assert run.rows[student]["status"] == "graded"
    assert run.scores[CONTROL]["code_score"] > run.scores[BLANK]["code_score"]


def test_no_file_outside_the_attackers_output_changes(run: Run) -> None:
    for key in run.before:
        assert run.after[key] == run.before[key], f"{key} changed during grading"
        assert run.after_wait[key] == run.before[key], f"{key} changed after grading"


def test_no_process_survives_grading(run: Run) -> None:
    assert not run.stray, run.stray


def test_every_kernel_runtime_folder_is_removed(run: Run) -> None:
    """Each kernel's private folder (connection file, sockets) goes with its kernel, also for
    the attackers that kill, hang or flood theirs."""
    assert run.runtime_left == []


def test_no_network_connection_reaches_the_grading_machine(run: Run) -> None:
    assert run.connections == []


def test_what_attackers_leave_in_their_folder_is_only_the_graded_notebook(run: Run) -> None:
    folder = run.course / "autograded" / "attack_disk" / LESSON
    assert sorted(p.name for p in folder.iterdir()) == [f"{LESSON}.ipynb"]


def test_no_secret_reaches_a_graded_notebook(run: Run) -> None:
    hidden = _hidden_lines()
    for attack in run.attacks:
        path = run.course / "autograded" / attack.student / LESSON / f"{LESSON}.ipynb"
        text = path.read_text(encoding="utf-8")
        assert run.secret not in text, f"{attack.student} read the grader's environment"
        if attack.student == "attack_hook_tests":
            continue  # the kernel runs the hidden tests, so it can see them: feedback filters
        outputs = json.dumps([c.get("outputs") for c in json.loads(text)["cells"]])
        leaked = [ln for ln in hidden if json.dumps(ln)[1:-1] in outputs]
        assert not leaked, f"{attack.student} printed hidden tests: {leaked[:2]}"


def _hidden_lines() -> list[str]:
    lines = []
    for cell in read(solution_path(LESSON)).cells:
        if is_test(cell) and "### BEGIN HIDDEN TESTS" in cell.source:
            body = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            lines += [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 20]
    assert lines, "the lesson has no hidden tests to protect"
    return lines


def test_feedback_of_a_hooked_kernel_shows_no_hidden_test(run: Run) -> None:
    api = nbgrader_api(run.course)
    student = "attack_hook_tests"
    graded = _outputs(run.course, student)
    hidden = _hidden_lines()
    printed = json.dumps([streams for _, streams, _ in graded])
    assert any(json.dumps(ln)[1:-1] in printed for ln in hidden), "the hook printed nothing"
    result = api.generate_feedback(LESSON, student, force=True)
    assert result["success"], result.get("log")
    page = next((run.course / "feedback" / student / LESSON).glob("*.html")).read_text()
    text = html.unescape(page)
    leaked = [ln for ln in hidden if ln in text]
    assert not leaked, f"hidden test lines in the feedback: {leaked[:2]}"


@pytest.mark.skipif(os.geteuid() != 0, reason="the kernel owns its runtime folder unless root")
def test_a_kernel_cannot_add_files_beside_its_sockets(run: Run) -> None:
    lines = _attack_lines(run, "attack_disk")
    assert any("beside the kernel's sockets: blocked (PermissionError" in ln for ln in lines), lines


def test_report_names_the_sandbox(run: Run) -> None:
    assert all(row["sandbox"] == run.backend for row in run.rows.values())
    assert "WITHOUT the sandbox" not in run.output


# ---------------------------------------------------------------------------------------------
# Without the sandbox: refused, unless --unsandboxed (and then the reading attacks work)
# ---------------------------------------------------------------------------------------------


def _no_sandbox_tools_env() -> dict[str, str]:
    """An environment whose PATH holds no sandbox tool: only this interpreter's folder."""
    return {**os.environ, "PATH": os.path.dirname(sys.executable)}


def test_grading_is_refused_without_a_sandbox_and_flagged_when_forced(
    tmp_path: Path,
) -> None:
    _sandbox_or_skip("any")  # the refusal is measured against a machine that has one
    env = _no_sandbox_tools_env()
    for tool in ("bwrap", "unshare", "setpriv"):
        found = subprocess.run(
            [sys.executable, "-c", f"import shutil; print(shutil.which({tool!r}))"],
            env=env, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        if found != "None":
            pytest.skip(f"{tool} is in {os.path.dirname(sys.executable)}: cannot hide it")
    course = make_course(tmp_path, [LESSON], SCRATCH_CONFIG)
    listener = Listener()
    try:
        readers = [a for a in hc.attacks(listener.port, CONTROL) if a.harmless_unsandboxed]
        _submit(course, CONTROL, hc.notebook(LESSON, None, solved=True))
        _submit(course, BLANK, hc.notebook(LESSON, None))
        for attack in readers:
            _submit(course, attack.student, hc.notebook(LESSON, attack))

        code, output = _grade(course, env=env)
        assert code == 2, output
        assert "not grading" in output and "bubblewrap" in output and "--unsandboxed" in output
        assert not (course / "autograded").exists(), "something was graded"

        code, output = _grade(course, "--unsandboxed", env=env)
    finally:
        listener.close()
    assert code == 0, output
    assert output.count("WITHOUT the sandbox") >= 2  # announced, and in the table
    with (course / "grades" / f"{LESSON}.csv").open(encoding="utf-8") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    assert all(r["sandbox"] == "off" and "WITHOUT the sandbox" in r["notes"] for r in rows.values())
    scores = _cell_scores(course)
    blank = scores[BLANK]["code_score"]
    # the suite is not vacuous: without the sandbox these attacks do what they say
    assert scores["attack_solutions"]["code_score"] > blank
    assert scores["attack_classmate"]["code_score"] > blank
    assert listener.connections and listener.connections[0] == b"answers please"


def test_a_learners_validate_runs_wherever_the_sandbox_is_missing(tmp_path: Path) -> None:
    """``nbgrader validate`` (the Validate button) works without the sandbox tools."""
    nb = tmp_path / f"{LESSON}.ipynb"
    nb.write_bytes(hc.notebook(LESSON, None, solved=True))
    root = Path(__file__).resolve().parents[2]
    code = (
        "import json, sys\n"
        "from nbgrader.validator import Validator\n"
        "from bpcourse.autograde.cli import load_config\n"
        f"c = load_config({str(root)!r})\n"
        f"print(json.dumps(Validator(config=c).validate({str(nb)!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_no_sandbox_tools_env(), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {}, out.stdout


def test_in_process_grading_reports_the_sandbox(tmp_path: Path) -> None:
    """:func:`grade_assignment` (the engine under the command) sandboxes by default."""
    backend = _sandbox_or_skip("any")
    from bpcourse.autograde import classroom

    course = make_course(tmp_path, [LESSON], SCRATCH_CONFIG)
    _submit(course, CONTROL, hc.notebook(LESSON, None, solved=True))
    with contextlib.redirect_stdout(io.StringIO()):
        (result,) = classroom.grade_assignment(course, LESSON)
    assert result.status == classroom.GRADED and result.sandbox == backend
    assert result.score == result.max_score
    assert grade_id  # the course helpers stay importable from this folder


def test_a_kernel_that_dies_while_starting_leaves_no_runtime_folder(tmp_path: Path) -> None:
    """A sandboxed kernel that exits before it answers (here its launcher refuses an option)
    fails its notebook with nbclient's error and leaves nothing under the runtime root: the
    clean-up after a failed start removes the kernel's runtime folder as a shutdown does."""
    import atexit

    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    from bpcourse.autograde.kernelmanager import LimitedKernelManager

    backend = _sandbox_or_skip("any")

    class DiesWhileStarting(LimitedKernelManager):
        def launcher_arguments(self) -> list[str]:
            return [*super().launcher_arguments(), "--no-such-option"]

    with _short_runtime_root() as runtime:
        config = Config()
        config.LimitedKernelManager.sandbox = "require"
        config.LimitedKernelManager.sandbox_backend = backend
        config.LimitedKernelManager.runtime_root = str(runtime)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        client = NotebookClient(
            nb, config=config, kernel_manager_class=DiesWhileStarting, kernel_name="python3",
            startup_timeout=60, resources={"metadata": {"path": str(tmp_path)}},
        )  # fmt: skip
        with pytest.raises(RuntimeError, match="died"):
            client.execute()
        atexit.unregister(client._cleanup_kernel)  # (nbclient leaves it registered on failure)
        assert list(runtime.iterdir()) == []


def test_a_runtime_root_too_long_for_a_socket_is_refused_by_name(tmp_path: Path) -> None:
    """A runtime root whose kernel sockets' paths would pass the 107 bytes a Unix socket's path
    may hold is refused before any kernel starts, with an error that names the setting, the
    folder and the longest path it may have; no folder is left in it."""
    import asyncio

    from bpcourse.autograde.kernelmanager import LimitedKernelManager

    backend = _sandbox_or_skip("any")
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    manager = LimitedKernelManager(
        sandbox="require", sandbox_backend=backend, runtime_root=str(deep), kernel_name="python3"
    )
    with pytest.raises(ValueError, match=r"LimitedKernelManager\.runtime_root") as info:
        asyncio.run(manager.start_kernel())
    message = str(info.value)
    assert repr(str(deep)) in message and "at most" in message and "107" in message
    assert list(deep.iterdir()) == []
    assert not manager.has_kernel
