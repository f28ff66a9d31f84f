"""A throw-away PostgreSQL server for tests: ``initdb`` and ``pg_ctl`` in a temporary folder,
run as an unprivileged user, reachable only through a Unix socket in that folder.

As root the server runs as ``nobody`` (PostgreSQL refuses to run as root); otherwise as the
current user. :func:`server_or_skip_reason` says why no server can be started here.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "nobody"


def pg_bin(name: str) -> str | None:
    """The path of a PostgreSQL program: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    return None


def server_or_skip_reason() -> str | None:
    """None when a server can be started here, else the reason it cannot."""
    for name in ("initdb", "pg_ctl", "createdb"):
        if pg_bin(name) is None:
            return f"PostgreSQL's {name} not found (Debian: apt-get install postgresql)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 not installed (pip install -e '.[class]')"
    return None


@dataclass
class Server:
    """A running server: its socket folder, the role that owns it and a database per name."""

    folder: Path
    socket_dir: Path
    user: str

    def url(self, database: str) -> str:
        """The SQLAlchemy URL nbgrader's ``CourseDirectory.db_url`` takes for ``database``."""
        return f"postgresql+psycopg2://{self.user}@/{database}?host={self.socket_dir}"

    def createdb(self, database: str) -> str:
        """Create ``database`` and return its URL."""
        subprocess.run(
            [pg_bin("createdb"), "-h", str(self.socket_dir), "-U", self.user, database],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return self.url(database)


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    entry = pwd.getpwnam(user)
    return [
        "setpriv",
        f"--reuid={entry.pw_uid}",
        f"--regid={entry.pw_gid}",
        "--clear-groups",
        *cmd,
    ]


@contextmanager
def postgres() -> Iterator[Server]:
    """Start a server for the duration of the ``with`` block; stop it and remove its files."""
    as_root = os.geteuid() == 0
    run_as = SERVER_USER if as_root else None
    user = SERVER_USER if as_root else pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="bpcourse-pg-"))
    try:
        os.chmod(folder, 0o755)  # the socket must be reachable by the graders
        data, sock, log = folder / "data", folder / "sock", folder / "server.log"
        sock.mkdir()
        log.touch()
        if as_root:
            entry = pwd.getpwnam(SERVER_USER)
            for path in (folder, sock, log):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        subprocess.run(
            _as_user([pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8"],
                     run_as),
            check=True, capture_output=True, text=True, timeout=120, env=env, cwd=folder,
        )  # fmt: skip
        options = f"-k {sock} -c listen_addresses='' -c fsync=off"
        subprocess.run(
            _as_user(
                [pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"],
                run_as,
            ),
            check=True, capture_output=True, text=True, timeout=120, env=env, cwd=folder,
        )  # fmt: skip
        try:
            yield Server(folder, sock, user)
        finally:
            subprocess.run(
                _as_user([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], run_as),
                capture_output=True, timeout=120, env=env, cwd=folder,
            )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
