"""`make hub`'s demo class starts: ``deploy/jupyterhub_config.py`` itself, BPCOURSE_HUB_DEMO=1.

JupyterHub runs from this environment on free local ports, with scratch folders in a temporary
directory; a student logs in through the hub's login form (the demo's dummy authenticator and
shared password), the hub spawns their server (the simple local spawner) and it answers through
the proxy; the student is refused the formgrader service, which the instructor opens. The hub
is stopped at the end (SIGTERM, then its whole process group). Needs configurable-http-proxy
from npm: ``BPCOURSE_CHP``, ``make hub``'s copy in the venv, or one on the PATH.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

requests = pytest.importorskip("requests")

ROOT = Path(__file__).resolve().parents[2]
HUB_CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"
PASSWORD = "demo-test-password"
STUDENT, INSTRUCTOR = "student1", "instructor"


def _find_chp() -> str | None:
    candidates = [
        os.environ.get("BPCOURSE_CHP", ""),
        str(Path(sys.prefix) / "share/bpcourse-chp/node_modules/.bin/configurable-http-proxy"),
        shutil.which("configurable-http-proxy") or "",
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


CHP = _find_chp()
SKIP = None
if CHP is None:
    SKIP = "configurable-http-proxy not found (`make hub` gets it from npm, or set BPCOURSE_CHP)"
elif not JUPYTERHUB.is_file():
    SKIP = f"{JUPYTERHUB} not found (pip install '.[class]')"
if SKIP:
    print(f"tests/hub/test_hub_demo.py skipped: {SKIP}", file=sys.stderr)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(SKIP is not None, reason=SKIP or "")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def demo_hub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    url = f"http://127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "BPCOURSE_HUB_DEMO": "1",
        "BPCOURSE_HUB_DEMO_PASSWORD": PASSWORD,
        "BPCOURSE_ENV": sys.prefix,
        "BPCOURSE_CHP": str(CHP),
        "BPCOURSE_HUB_URL": url,
        "BPCOURSE_HUB_STATE": str(tmp_path / "state"),
        "BPCOURSE_HUB_PORTS": f"{_free_port()},{_free_port()},{_free_port()}",
    }
    for name in ("BPCOURSE_COURSE_ROOT", "BPCOURSE_EXCHANGE", "JUPYTER_CONFIG_PATH"):
        env.pop(name, None)
    log = tmp_path / "hub.log"
    with log.open("w") as out:
        hub = subprocess.Popen(
            [str(JUPYTERHUB), "-f", str(HUB_CONFIG)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield url, log
    finally:
        hub.send_signal(signal.SIGTERM)  # the hub stops the users' servers and its proxy
        with contextlib.suppress(subprocess.TimeoutExpired):
            hub.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(hub.pid, signal.SIGKILL)
        hub.wait(timeout=10)
        # A server whose spawn was still pending when the hub stopped escapes the hub's
        # clean-up (it runs in a session of its own): stop whatever still works in our folder.
        _kill_processes_under(tmp_path)


def _kill_processes_under(folder: Path) -> None:
    """SIGKILL every process whose working directory lies in ``folder`` (Linux /proc)."""
    root = str(folder.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone, or not ours to see
            continue
        if cwd == root or cwd.startswith(root + "/"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


def _until(what: str, check, log: Path, timeout: float = 45.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except requests.ConnectionError:
            result = None
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s; hub log:\n{log.read_text()[-4000:]}")


def test_demo_hub_logs_in_a_student_and_starts_their_server(demo_hub: tuple[str, Path]) -> None:
    url, log = demo_hub
    start = time.monotonic()
    session = requests.Session()
    _until("the hub's login page", lambda: session.get(f"{url}/hub/login").ok, log)
    banner = log.read_text()
    assert "DEMO" in banner and "NOT FOR A REAL CLASS" in banner
    assert f"students:   {STUDENT}, student2" in banner and PASSWORD in banner

    wrong = session.post(
        f"{url}/hub/login",
        data={"username": STUDENT, "password": "wrong", "_xsrf": session.cookies["_xsrf"]},
    )
    assert "jupyterhub-session-id" not in session.cookies or wrong.url.endswith("/hub/login")
    stranger = session.post(
        f"{url}/hub/login",
        data={"username": "mallory", "password": PASSWORD, "_xsrf": session.cookies["_xsrf"]},
    )
    assert "/hub/login" in stranger.url  # not in the class: refused

    session.post(
        f"{url}/hub/login",
        data={"username": STUDENT, "password": PASSWORD, "_xsrf": session.cookies["_xsrf"]},
    )

    def server_status() -> dict | None:  # type: ignore[type-arg]
        # JupyterLab's page, reached through the hub's OAuth hand-shake once the server is up;
        # then the server's API, with the server's own XSRF cookie as a browser would send it.
        lab = session.get(f"{url}/user/{STUDENT}/lab", timeout=10)
        if not (lab.ok and lab.url.endswith(f"/user/{STUDENT}/lab")):
            return None
        xsrf = session.cookies.get("_xsrf", path=f"/user/{STUDENT}/")
        r = session.get(
            f"{url}/user/{STUDENT}/api/status", headers={"X-XSRFToken": xsrf or ""}, timeout=10
        )
        return r.json() if r.ok else None  # type: ignore[no-any-return]

    status = _until(f"{STUDENT}'s server answering through the proxy", server_status, log)
    assert "started" in status
    # Their home is the demo's scratch folder and the course's nbgrader settings reach it.
    homes = log.parent / "state" / "home"
    assert (homes / STUDENT).is_dir()
    assert (homes / INSTRUCTOR / "bpcourse" / "nbgrader_config.py").is_file()
    # A student may not open the instructor's formgrader service.
    fg = session.get(f"{url}/services/bpcourse/formgrader", timeout=10)
    assert fg.status_code == 403 and "/hub/api/oauth2/authorize" in fg.url, (fg.status_code, fg.url)
    print(f"demo hub: log-in to a running server in {time.monotonic() - start:.1f} s")

    # The instructor logs in and opens formgrader, the hub service running in the course directory.
    teacher = requests.Session()
    teacher.get(f"{url}/hub/login")
    teacher.post(
        f"{url}/hub/login",
        data={"username": INSTRUCTOR, "password": PASSWORD, "_xsrf": teacher.cookies["_xsrf"]},
    )

    def formgrader() -> bool:
        r = teacher.get(f"{url}/services/bpcourse/formgrader", timeout=10)
        return r.ok and r.url.endswith("/services/bpcourse/formgrader/manage_assignments")

    _until("formgrader for the instructor", formgrader, log)
