"""A real class on a real JupyterHub, end to end, with real Unix users (root only).

JupyterHub (PyPI) with configurable-http-proxy (npm) runs ``deploy/jupyterhub_config.py``; every
server reads ``deploy/nbgrader_config.py`` (through ``JUPYTER_CONFIG_PATH``: no file is written
to ``/etc``). The test creates an instructor and three students as Unix users in the course's
groups, in homes under a scratch folder, and removes them at the end.

- The instructor releases lesson 01 to the exchange (nbgrader's CLI, as the instructor).
- Student A logs in through the hub's login form in headless Chromium, opens the Assignments
  tab (Nbgrader > Assignment List), fetches lesson 01 with its Fetch button, answers two
  exercises (the notebook saved through the server's contents API in the browser's session),
  validates (nbgrader's validate route, as the notebook's Validate button calls it) and
  submits with the tab's Submit button; student B fetches and submits the notebook blank
  through the same routes; student C never logs in.
- The instructor collects, grades with ``bpcourse grade`` (in the grading sandbox, as the
  unprivileged instructor), generates and releases feedback;
  student A fetches the feedback and finds their score in it; the export lists all three.
- Student A's kernels run the numeric libraries with one thread (the class's setting).
- Isolation: B cannot reach A's server or the formgrader service through the hub, nor read
  A's submission or the instructor's course directory as a Unix user; the instructor opens
  formgrader.

The course environment every user runs is a venv built from the system Python (the pyenv one
is under /root, 0700): ``BPCOURSE_CLASS_ENV`` (default /opt/bpcourse-class-env), built or
refreshed here when the course has changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import browser_utils as bu  # noqa: E402

from course_utils import grade_id, read, solution_path, strip_markers  # noqa: E402

AID = "01_chain_rule"
COURSE = "bpcourse"
GROUPS = (f"formgrade-{COURSE}", f"nbgrader-{COURSE}")
CLASS_ENV = Path(os.environ.get("BPCOURSE_CLASS_ENV", "/opt/bpcourse-class-env"))
CHP_VERSION = "5.3.0"
SYSTEM_PYTHON = "/usr/bin/python3"
HUB_CONFIG = ROOT / "deploy" / "jupyterhub_config.py"


def _skip_reason() -> str | None:
    if os.environ.get("BPCOURSE_HUB_E2E") != "1":
        return (
            "the hub end-to-end test runs as its own CI step (`make hub-test`, which sets "
            "BPCOURSE_HUB_E2E=1), after the README's test command"
        )
    if os.geteuid() != 0:
        return "needs root: it creates Unix users and starts JupyterHub"
    for tool in ("useradd", "userdel", "groupadd", "chpasswd", "runuser", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    if not Path(SYSTEM_PYTHON).is_file():
        return f"{SYSTEM_PYTHON} not found (the course environment is built from it)"
    if bu.find_chromium() is None:
        return "no Chromium found (install Debian's `chromium`)"
    import grp

    for group in GROUPS:
        try:
            grp.getgrnam(group)
            return f"group {group} already exists on this machine: not touching a real class"
        except KeyError:
            pass
    return None


SKIP = _skip_reason()
if SKIP:
    print(f"tests/hub/test_hub.py skipped: {SKIP}", file=sys.stderr)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.nbgrader,
    pytest.mark.browser,
    pytest.mark.skipif(SKIP is not None, reason=SKIP or ""),
]


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)
    if out.returncode != 0:
        raise AssertionError(f"{cmd} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def _course_digest() -> str:
    h = hashlib.sha256()
    for path in sorted([ROOT / "pyproject.toml", *(ROOT / "bpcourse").rglob("*.py")]):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def class_env() -> Path:
    """The course environment for every user, built or refreshed from this checkout."""
    stamp = CLASS_ENV / ".bpcourse-digest"
    digest = _course_digest()
    if stamp.is_file() and stamp.read_text() == digest:
        return CLASS_ENV
    pip = [str(CLASS_ENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    if not (CLASS_ENV / "bin" / "jupyterhub-singleuser").is_file():
        _run([SYSTEM_PYTHON, "-m", "venv", str(CLASS_ENV)])
        _run([*pip, f"{ROOT}[class]"], timeout=1200)
    else:
        _run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], timeout=600)
    subprocess.run([*pip[:4], "uninstall", "-q", "-y", "rfc3987-syntax"], capture_output=True)
    stamp.write_text(digest)
    return CLASS_ENV


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Class:
    """The scratch class: users, folders, the hub; ``as_user`` runs commands as one of them."""

    def __init__(self, base: Path, env: Path) -> None:
        tag = secrets.token_hex(2)
        self.base, self.env = base, env
        self.instructor = f"bpi{tag}"
        self.students = [f"bps{tag}{x}" for x in "abc"]
        self.password = secrets.token_urlsafe(12)
        self.exchange = base / "exchange"
        self.course = base / "home" / self.instructor / COURSE
        self.config_dir = base / "jupyter-config"
        self.state = base / "state"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.users: list[str] = []
        self.groups: list[str] = []
        self.hub: subprocess.Popen[str] | None = None

    # -- set-up -------------------------------------------------------------------------------
    def create(self) -> None:
        for group in GROUPS:
            _run(["groupadd", group])
            self.groups.append(group)
        homes = self.base / "home"
        homes.mkdir(mode=0o755)
        members = [(self.instructor, GROUPS[0])] + [(s, GROUPS[1]) for s in self.students]
        for user, group in members:
            _run(["useradd", "-m", "-d", str(homes / user), "-G", group, "-s", "/bin/bash", user])
            self.users.append(user)
            (homes / user).chmod(0o700)
        _run(["chpasswd"], input="".join(f"{u}:{self.password}\n" for u in self.users))
        self.exchange.mkdir()
        self.exchange.chmod(0o777)
        self.config_dir.mkdir()
        # A copy, as a deployment installs it (/etc/jupyter): the clone itself may sit in a
        # folder the class's users cannot enter (a mktemp folder, /root).
        shutil.copy2(ROOT / "deploy" / "nbgrader_config.py", self.config_dir / "nbgrader_config.py")
        (self.config_dir / "nbgrader_config.py").chmod(0o644)
        self.state.mkdir(mode=0o700)
        self.course.mkdir()
        shutil.copy2(ROOT / "nbgrader_config.py", self.course / "nbgrader_config.py")
        for folder in ("solutions", "lessons"):
            shutil.copytree(ROOT / folder / AID, self.course / folder / AID)
        _run(["chown", "-R", f"{self.instructor}:", str(self.course)])

    def environ(self) -> dict[str, str]:
        hub_port, proxy_port, fg_port = _free_port(), _free_port(), _free_port()
        return {
            "PATH": f"{self.env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "BPCOURSE_ENV": str(self.env),
            "BPCOURSE_HUB_URL": self.url,
            "BPCOURSE_HUB_STATE": str(self.state),
            "BPCOURSE_CHP": str(
                self.base / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"
            ),
            "BPCOURSE_HUB_PORTS": f"{hub_port},{proxy_port},{fg_port}",
            "BPCOURSE_COURSE_ROOT": str(self.course),
            "BPCOURSE_EXCHANGE": str(self.exchange),
            "JUPYTER_CONFIG_PATH": str(self.config_dir),
        }

    def start_hub(self) -> None:
        npm = self.base / "npm"
        _run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(npm),
              f"configurable-http-proxy@{CHP_VERSION}"], timeout=300)  # fmt: skip
        env = self.environ()
        self.hub_env = env
        log = (self.state / "hub.log").open("w")
        self.hub = subprocess.Popen(
            [str(self.env / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)],
            cwd=self.state, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
            if self.hub.poll() is not None:
                break
        raise AssertionError(f"the hub did not start:\n{self.hub_log()}")

    def hub_log(self) -> str:
        path = self.state / "hub.log"
        return path.read_text(errors="replace")[-6000:] if path.is_file() else ""

    def as_user(
        self, user: str, *cmd: str, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in self.hub_env.items()),
            f"HOME={self.base / 'home' / user}",
        ]
        return subprocess.run(
            ["runuser", "-u", user, "--", *env, *cmd], cwd=cwd or self.course,
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip

    def instructor_does(self, *cmd: str, codes: tuple[int, ...] = (0,)) -> str:
        out = self.as_user(self.instructor, str(self.env / "bin" / cmd[0]), *cmd[1:])
        assert out.returncode in codes, f"{cmd}:\n{out.stdout}\n{out.stderr}"
        return out.stdout + out.stderr

    # -- tear-down ----------------------------------------------------------------------------
    def remove(self) -> None:
        if self.hub is not None and self.hub.poll() is None:
            os.killpg(self.hub.pid, signal.SIGTERM)
            try:
                self.hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.hub.pid, signal.SIGKILL)
        for user in self.users:
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            subprocess.run(["userdel", "-r", user], capture_output=True)
        for group in self.groups:
            subprocess.run(["groupdel", group], capture_output=True)


@pytest.fixture(scope="module")
def klass() -> Iterator[Class]:
    env = class_env()
    base = Path(tempfile.mkdtemp(prefix="bpcourse-hub-"))
    base.chmod(0o755)
    k = Class(base, env)
    try:
        k.create()
        k.start_hub()
        yield k
    finally:
        k.remove()
        shutil.rmtree(base, ignore_errors=True)


def _login(browser: Any, klass: Class, user: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{klass.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", klass.password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
    page.locator(".jp-LabShell, #jp-main-dock-panel").first.wait_for(timeout=120_000)
    return page


def _xsrf(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")


def _api(page: Any, method: str, path: str, **kw: Any) -> Any:
    headers = {"X-XSRFToken": _xsrf(page)}
    response = page.request.fetch(path, method=method, headers=headers, **kw)
    return response


def _kernel_environment(user: str, timeout: float = 60.0) -> dict[str, str]:
    """The environment of ``user``'s one running kernel process, read from /proc (as root)."""
    deadline = time.monotonic() + timeout
    while True:
        found = subprocess.run(
            ["pgrep", "-u", user, "-f", "ipykernel"], capture_output=True, text=True
        ).stdout.split()
        if len(found) == 1:
            raw = Path(f"/proc/{found[0]}/environ").read_bytes()
            pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
            return {k.decode(): v.decode(errors="replace") for k, v in pairs}
        assert time.monotonic() < deadline, f"kernel processes of {user}: {found}"
        time.sleep(0.5)


def _answered(nb: dict[str, Any], n: int) -> tuple[dict[str, Any], list[str]]:
    """The fetched notebook with the first ``n`` code answers replaced by the solution's."""
    solutions = {grade_id(c): c.source for c in read(solution_path(AID)).cells if grade_id(c)}
    done = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if (
            len(done) < n
            and meta.get("solution")
            and not meta.get("grade")
            and cell["cell_type"] == "code"
        ):
            cell["source"] = strip_markers(solutions[meta["grade_id"]])
            done.append(meta["grade_id"])
    return nb, done


def test_a_class_on_the_hub(klass: Class) -> None:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # The instructor releases lesson 01 and imports the roster.
    klass.instructor_does("nbgrader", "generate_assignment", AID, "--force")
    klass.instructor_does("nbgrader", "release_assignment", AID, "--force")
    for student in klass.students:
        klass.instructor_does("nbgrader", "db", "student", "add", student)
    released = klass.exchange / COURSE / "outbound" / AID / f"{AID}.ipynb"
    assert released.is_file()
    timings["release"] = time.perf_counter() - t0

    sync_api = pytest.importorskip("playwright.sync_api")
    a, b, c = klass.students
    with sync_api.sync_playwright() as pw:
        browser = bu.launch_chromium(pw, bu.find_chromium())
        try:
            t = time.perf_counter()
            page_a = _login(browser, klass, a)
            timings["login A"] = time.perf_counter() - t
            base_a = f"{klass.url}/user/{a}"
            listed = _api(page_a, "GET", f"{base_a}/assignments?course_id={COURSE}").json()
            assert [x["assignment_id"] for x in listed["value"]] == [AID], listed
            # The Assignments tab (Nbgrader > Assignment List): fetch with its button.
            page_a.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
            page_a.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
            released = page_a.locator("#released_assignments_list")
            released.get_by_text(AID).wait_for(timeout=60_000)
            released.get_by_role("button", name="Fetch").click()
            fetched_list = page_a.locator("#fetched_assignments_list")
            fetched_list.get_by_text(AID).first.wait_for(timeout=60_000)
            nb_path = f"{COURSE}/{AID}/{AID}.ipynb"
            nb = _api(page_a, "GET", f"{base_a}/api/contents/{nb_path}").json()["content"]
            nb, answered = _answered(nb, 2)
            assert len(answered) == 2
            body = json.dumps({"type": "notebook", "format": "json", "content": nb})
            saved = _api(page_a, "PUT", f"{base_a}/api/contents/{nb_path}", data=body)
            assert saved.ok, saved.text()
            validated = _api(page_a, "POST", f"{base_a}/assignments/validate",
                             form={"path": nb_path}).json()  # fmt: skip
            assert validated["success"], validated
            # A kernel of A's server runs the numeric libraries with the class's thread count
            # (deploy/jupyterhub_config.py, BPCOURSE_KERNEL_THREADS, 1 by default): users
            # share the cores.
            kernel = _api(page_a, "POST", f"{base_a}/api/kernels",
                          data=json.dumps({"name": "python3"})).json()  # fmt: skip
            try:
                kernel_env = _kernel_environment(a)
            finally:
                _api(page_a, "DELETE", f"{base_a}/api/kernels/{kernel['id']}")
            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                assert kernel_env.get(name) == "1", (name, kernel_env.get(name))
            # Submit with the Assignments tab's button.
            fetched_list.get_by_role("button", name="Submit").first.click()
            page_a.locator("#submitted_assignments_list").get_by_text(AID).first.wait_for(
                timeout=60_000
            )
            timings["student A"] = time.perf_counter() - t

            page_b = _login(browser, klass, b)
            base_b = f"{klass.url}/user/{b}"
            for action in ("fetch", "submit"):
                out = _api(page_b, "POST", f"{base_b}/assignments/{action}",
                           form={"course_id": COURSE, "assignment_id": AID}).json()  # fmt: skip
                assert out["success"], out
            # B cannot reach A's server, A's files, or the formgrader service through the hub.
            for path in (f"{base_a}/api/contents/{nb_path}", f"{base_a}/lab"):
                r = page_b.request.get(path, max_redirects=0)
                assert r.status in (302, 403, 404), (path, r.status)
                if r.status == 302:
                    assert f"/user/{a}" not in r.headers.get("location", "").split("?")[0].replace(
                        "/hub/user", ""), r.headers  # fmt: skip
            r = page_b.request.get(f"{klass.url}/services/{COURSE}/formgrader")
            assert r.status == 403 or "formgrader" not in r.url or not r.ok, (r.status, r.url)
            inbound = klass.exchange / COURSE / "inbound"
            sub_a = next(p for p in inbound.iterdir() if p.name.startswith(f"{a}+"))
            # nbgrader's exchange model: inbound is write-and-enter only for students, and a
            # submission's folder ends in a random part, so B cannot find A's submission.
            assert oct(inbound.stat().st_mode & 0o777) == "0o733", oct(inbound.stat().st_mode)
            assert len(sub_a.name.rsplit("+", 1)[1]) >= 8
            out = klass.as_user(b, "ls", str(inbound), cwd=klass.base)
            assert out.returncode != 0 and "Permission denied" in out.stderr, out
            for target in (klass.course / "nbgrader_config.py", klass.course / "gradebook.db"):
                out = klass.as_user(b, "cat", str(target), cwd=klass.base)
                assert out.returncode != 0 and "Permission denied" in out.stderr, target

            # The instructor collects, grades, releases feedback.
            t = time.perf_counter()
            klass.instructor_does("nbgrader", "collect", AID)
            # Exit status 1: a student of the roster (C) has no submission.
            graded = klass.instructor_does("bpcourse", "grade", AID, codes=(1,))
            klass.instructor_does("nbgrader", "generate_feedback", AID)
            klass.instructor_does("nbgrader", "release_feedback", AID)
            klass.instructor_does("bpcourse", "export-grades", "grades/all.csv")
            timings["collect, grade, feedback"] = time.perf_counter() - t
            assert "2 graded, 1 not graded, of 3" in graded, graded
            assert f"{c}  -      missing" in graded or "missing  no submission folder" in graded
            # Grading ran in the sandbox, as the (unprivileged) instructor.
            results = list(csv.DictReader(io.StringIO(
                (klass.course / "grades" / f"{AID}.csv").read_text())))  # fmt: skip
            tools = {r["student"]: r["sandbox"] for r in results if r["status"] == "graded"}
            assert set(tools) == {a, b} and set(tools.values()) <= {"bwrap", "unshare"}, tools
            rows = {r["student"]: r for r in csv.DictReader(io.StringIO(
                (klass.course / "grades" / "all.csv").read_text()))}  # fmt: skip
            assert set(rows) == {a, b, c}
            assert rows[c]["raw_score"] == ""  # never submitted: listed, no score
            assert float(rows[b]["raw_score"]) == 0.0
            score_a = float(rows[a]["raw_score"])
            assert 0 < score_a < float(rows[a]["max_score"])

            # The instructor opens formgrader, the hub service.
            page_i = _login(browser, klass, klass.instructor)
            r = page_i.goto(f"{klass.url}/services/{COURSE}/formgrader")
            page_i.wait_for_load_state("networkidle", timeout=60_000)
            assert r is not None and "/services/" in page_i.url, page_i.url
            assert "formgrader" in page_i.url or "Manage Assignments" in page_i.content()

            # A fetches the feedback and finds the score.
            out = _api(page_a, "POST", f"{base_a}/assignments/fetch_feedback",
                       form={"course_id": COURSE, "assignment_id": AID}).json()  # fmt: skip
            assert out["success"], out
            feedback = list((klass.base / "home" / a / COURSE / AID / "feedback").rglob("*.html"))
            assert feedback, "no feedback fetched"
            html = feedback[0].read_text()
            assert f"{score_a:g}" in html
        except BaseException:
            print(klass.hub_log())
            raise
        finally:
            browser.close()
    print("hub end-to-end timings (s):", {k: round(v, 1) for k, v in timings.items()})
