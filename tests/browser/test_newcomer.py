"""The newcomer's path, end to end: a clean clone of the committed course, the README's setup
command building a fresh ``.venv``, then the course command serving ``lessons/`` in JupyterLab
with a kernel that imports ``bpcourse`` from that ``.venv``.

Only committed files are in the clone, so this checks what a learner gets, not the working
tree. The setup installs every dependency into a new virtual environment (a minute or two);
pip's own download cache is shared with the developer's so that repeated runs do not fetch the
same wheels again, exactly as a learner's second install would not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import browser_utils as bu
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bpcourse-newcomer-test"
# run in the course's kernel: where Python lives and where bpcourse is imported from
KERNEL_CHECK = "import sys, bpcourse, bpcourse.widgets\nprint(sys.prefix)\nprint(bpcourse.__file__)"

pytestmark = [pytest.mark.slow]


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(argv)} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def _pip_cache_dir() -> str:
    """The developer's pip cache (where pip would look without this test's temporary HOME)."""
    if os.environ.get("PIP_CACHE_DIR"):
        return os.environ["PIP_CACHE_DIR"]
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(xdg) / "pip")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.load(reply)


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.load(reply)


def _execute(base_url: str, kernel_id: str, code: str, timeout: float = 60.0) -> str:
    """Run ``code`` in a kernel of the server through its websocket; return what it printed."""
    import websocket  # websocket-client, a dependency of jupyter_server

    ws_url = base_url.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
    conn = websocket.create_connection(f"{ws_url}?token={TOKEN}", timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        conn.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "newcomer",
                        "session": uuid.uuid4().hex,
                        "date": "",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        out: list[str] = []
        reply: dict[str, Any] | None = None
        idle = False
        while reply is None or not idle:
            msg = json.loads(conn.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            elif kind == "execute_reply":
                reply = msg["content"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        assert reply["status"] == "ok", "".join(out)
        return "".join(out)
    finally:
        conn.close()


def test_clean_clone_setup_and_course(tmp_path: Path) -> None:
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed: the README's commands need it")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        pytest.skip("the course is not a git checkout: nothing to clone")

    home = tmp_path / "home"
    env = bu.isolated_env(home)
    env["PIP_CACHE_DIR"] = _pip_cache_dir()
    env.pop("VIRTUAL_ENV", None)  # a newcomer's shell has no virtual environment active
    env.pop("PYTHONPATH", None)
    # `make` finds python3 on PATH as a learner's shell would; never this test's own venv.
    here = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != here)

    clone = tmp_path / "bpcourse"
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)], tmp_path, env, 120)
    _run(["git", "checkout", "--quiet", "--detach", head.stdout.strip()], clone, env, 60)
    lessons = sorted(
        p.name for p in (clone / "lessons").iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
    )
    assert lessons, "the clone has no lessons/ folder with notebooks"

    try:
        _run(["make", "setup"], clone, env, 1200)
        venv_python = clone / ".venv" / "bin" / "python"
        assert venv_python.is_file(), "make setup did not create .venv"

        port = bu.free_port()
        lab_args = (
            f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--ServerApp.port_retries=0 --IdentityProvider.token={TOKEN}"
        )
        course = bu.ServerProcess(
            ["make", "course", f"LAB_ARGS={lab_args}"],
            f"http://127.0.0.1:{port}/",
            home / "course.log",
            env,
            clone,
            ready_path=f"api/status?token={TOKEN}",
            group=True,  # make starts JupyterLab as its child: signal the whole group
        )
        with bu.running(course, timeout=120) as server:
            listing = _get(f"{server.url}api/contents?token={TOKEN}")
            folders = sorted(
                item["name"] for item in listing["content"] if item["type"] == "directory"
            )
            assert folders == lessons, f"JupyterLab serves {folders}, the clone has {lessons}"
            first = f"{lessons[0]}/{lessons[0]}.ipynb"
            notebook = _get(f"{server.url}api/contents/{first}?content=0&token={TOKEN}")
            assert notebook["type"] == "notebook"

            kernel = _post(f"{server.url}api/kernels?token={TOKEN}", {"name": "python3"})
            server.remember_children()
            printed = _execute(server.url, kernel["id"], KERNEL_CHECK)
            prefix, module = printed.strip().splitlines()
            assert Path(prefix).resolve() == (clone / ".venv").resolve(), printed
            assert Path(module).resolve().is_relative_to(clone.resolve()), printed
            server.remember_children()
    finally:
        # the environment is ~600 MB: do not keep it in pytest's retained temporary folders
        shutil.rmtree(clone / ".venv", ignore_errors=True)
