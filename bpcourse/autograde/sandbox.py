"""The grading sandbox: a kernel sees its own notebook folder and the software, nothing else.

A grading kernel runs student code. Started by
:class:`bpcourse.autograde.kernelmanager.LimitedKernelManager`, it runs in a sandbox built by a
kept tool, bubblewrap (``bwrap``, what Flatpak uses) or, where that is missing, util-linux
``unshare`` with ``mount``, ``chroot`` and ``setpriv``:

- its own mount namespace, whose file system holds only the operating system's programs and
  libraries (``/usr`` and a few files of ``/etc``), the Python environment of the course and
  the ``bpcourse`` package (all read-only), a private ``/tmp`` (also ``HOME``), and the
  notebook's working folder: a size-capped, writable, in-memory copy of the submission's files
  at the same path. The course directory (``solutions/``, ``source/``, the gradebook,
  ``nbgrader_config.py``, other students' ``submitted/``, ``autograded/`` and ``feedback/``)
  and every home directory are simply not there;
- its own network namespace with no interface up: no network at all, not even loopback to the
  grading machine's services. The kernel talks to the grader over Unix sockets (ZeroMQ's
  ``ipc`` transport) in a private runtime folder that is the one other thing bound in;
- its own PID namespace: it sees only its own processes, and when the kernel ends every process
  it started ends too, double-forked daemons included;
- an unprivileged user (``nobody``) with no capabilities and ``no_new_privs``, in a new
  session (no access to the grader's terminal).

This module only builds command lines and checks the tools; it imports the standard library
only (the launcher inside the sandbox imports nothing heavy either).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BACKENDS",
    "NOBODY",
    "SandboxSpec",
    "SandboxUnavailableError",
    "available_backend",
    "python_paths",
    "sandbox_command",
]

BACKENDS = ("bwrap", "unshare")
NOBODY = 65534  # the conventional uid and gid of "nobody" / "nogroup"
STAGING = "/run/bpcourse/submission"  # the submission's files, read-only, before the copy
SEED = "/run/bpcourse/seed"  # read-only files copied into the sandbox's HOME (font cache)
HOME = "/tmp"

# Files of /etc a Python kernel reads (user names, time zone, dynamic linker); the rest of
# /etc (credentials of services, host keys...) stays out.
ETC_FILES = (
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/fonts",
    "/etc/mime.types",
)
# Top-level folders that hold the system's programs and libraries (symbolic links to /usr on a
# merged-/usr system, recreated as links).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


class SandboxUnavailableError(RuntimeError):
    """No sandbox can be built on this machine; the message says why and what to do."""


@dataclass
class SandboxSpec:
    """What one sandboxed kernel sees.

    Attributes:
        command: the command run inside (the launcher and the kernel).
        workdir: the notebook's folder on the host. Inside, the same path is a writable
            in-memory folder of ``workdir_mb`` MiB; the host folder is bound read-only at
            :data:`STAGING` for the launcher to copy from.
        runtime_dir: the folder of the connection file and the kernel's sockets, bound
            read-write at the same path (and nothing else of the host is writable).
        read_only: host paths bound read-only at their own path (Python, the package).
        env: the whole environment of the command.
        seed_dir: a host folder bound read-only at :data:`SEED` (copied into ``HOME``).
        workdir_mb, tmp_mb: sizes of the working folder and of ``/tmp`` (``HOME``).
        drop_to: the uid and gid the command runs as when the grader is root; ignored
            otherwise (an unprivileged grader's sandbox runs as the grader, in a user namespace).
    """

    command: Sequence[str]
    workdir: str
    runtime_dir: str
    read_only: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    seed_dir: str | None = None
    workdir_mb: int = 64
    tmp_mb: int = 64
    drop_to: int = NOBODY


def python_paths(executable: str = sys.executable) -> list[str]:
    """The host folders a kernel of ``executable`` needs: its prefixes and its ``sys.path``.

    Asked of the interpreter itself with an empty environment (as the sandbox runs it), so
    ``.pth`` files and editable installs are followed. Paths under ``/usr`` are left out
    (bound anyway), as are the current directory and zip files that do not exist.
    """
    code = (
        "import sys, json\n"
        "print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))\n"
    )
    import json

    out = subprocess.run(
        [executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"},
        cwd="/",
        check=True,
        timeout=60,
    )
    found = []
    real_exe = os.path.realpath(executable)
    for path in [*json.loads(out.stdout), os.path.dirname(executable), os.path.dirname(real_exe)]:
        if not path or not os.path.isabs(path) or not os.path.exists(path):
            continue
        if path == "/" or path.startswith("/usr/"):
            continue
        found.append(os.path.normpath(path))
    return _outermost(found)


def _outermost(paths: Iterable[str]) -> list[str]:
    """Drop every path that lies inside another of ``paths``; keep the order."""
    unique = list(dict.fromkeys(os.path.normpath(p) for p in paths))
    return [
        p for p in unique if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in unique)
    ]


def _is_root() -> bool:
    return os.geteuid() == 0


def _setpriv(uid: int) -> list[str]:
    tool = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [
        tool,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def _bwrap(spec: SandboxSpec, tool: str) -> list[str]:
    cmd = [tool, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--size", str(spec.tmp_mb * 2**20), "--tmpfs", HOME, "--chmod", "1777", HOME]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    for path in ETC_FILES:
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    made: set[str] = {"/"}
    for path in [*spec.read_only, spec.workdir, spec.runtime_dir, STAGING, SEED]:
        # parent folders world-traversable (bwrap would copy a 0700 home's mode)
        for parent in reversed(Path(path).parents):
            if str(parent) not in made:
                made.add(str(parent))
                cmd += ["--perms", "0755", "--dir", str(parent)]
    for path in spec.read_only:
        cmd += ["--ro-bind", path, path]
    cmd += ["--ro-bind", spec.workdir, STAGING]
    cmd += ["--size", str(spec.workdir_mb * 2**20), "--tmpfs", spec.workdir]
    cmd += ["--chmod", "1777", spec.workdir]
    if spec.seed_dir:
        cmd += ["--ro-bind", spec.seed_dir, SEED]
    cmd += ["--bind", spec.runtime_dir, spec.runtime_dir]
    for key, value in sorted(spec.env.items()):
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", spec.workdir]
    if _is_root():
        # bwrap run by root mounts as root (so it can bind a Python installed under /root) and
        # then keeps only what setpriv needs to become nobody for good.
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
        return [*cmd, *_setpriv(spec.drop_to), *spec.command]
    return [*cmd, "--", *spec.command]


def _unshare(spec: SandboxSpec, tool: str) -> list[str]:
    """util-linux ``unshare`` (new mount, PID, network, IPC and UTS namespaces), then a new
    root assembled with ``mount`` in a private folder, ``chroot`` into it, ``setpriv``."""
    q = shlex.quote
    root = os.path.join(spec.runtime_dir, "root")
    lines = [
        "set -e",
        "umask 022",
        f"R={q(root)}",
        'mkdir -p "$R"',
        'mount -t tmpfs -o size=16m,mode=755 sandbox "$R"',
    ]

    def bind(src: str, dest: str, writable: bool = False) -> None:
        if os.path.isdir(src):
            lines.append(f'mkdir -p "$R"{q(dest)}')
        else:
            lines.append(f'mkdir -p "$R"{q(os.path.dirname(dest))} && touch "$R"{q(dest)}')
        # not recursive: the runtime folder holds the new root itself
        lines.append(f'mount --bind {q(src)} "$R"{q(dest)}')
        if not writable:
            lines.append(f'mount -o remount,bind,ro "$R"{q(dest)}')

    uid = spec.drop_to if _is_root() else os.geteuid()
    lines.append('mkdir -p "$R/proc" && mount -t proc proc "$R/proc"')
    lines.append(f'mkdir -p "$R"{q(HOME)}')
    lines.append(f'mount -t tmpfs -o size={spec.tmp_mb}m,mode=1777 tmp "$R"{q(HOME)}')
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            lines.append(f'ln -s {q(os.readlink(path))} "$R"{q(path)}')
        elif os.path.isdir(path):
            bind(path, path)
    for path in ETC_FILES:
        if os.path.exists(path):
            bind(path, path)
    for path in spec.read_only:
        bind(path, path)
    for dev in DEVICES:
        bind(dev, dev, writable=True)
    lines.append(f'mkdir -p "$R"{q(spec.workdir)}')
    lines.append(f'mount -t tmpfs -o size={spec.workdir_mb}m,mode=1777 work "$R"{q(spec.workdir)}')
    bind(spec.workdir, STAGING)
    if spec.seed_dir:
        bind(spec.seed_dir, SEED)
    bind(spec.runtime_dir, spec.runtime_dir, writable=True)
    env = [f"{k}={v}" for k, v in sorted(spec.env.items())]
    inner = ["/usr/bin/env", "-i", f"--chdir={spec.workdir}", *env, *spec.command]
    drop = _setpriv(uid) if _is_root() else []
    lines.append(f'exec chroot "$R" {shlex.join([*drop, *inner])}')
    script = "\n".join(lines)
    cmd = [tool, "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"]
    cmd += ["--propagation", "private"]
    if not _is_root():
        cmd += ["--user", "--map-root-user"]
    return [*cmd, "/bin/sh", "-c", script]


def sandbox_command(backend: str, spec: SandboxSpec) -> list[str]:
    """The command line that runs ``spec.command`` in a sandbox built by ``backend``."""
    if backend == "bwrap":
        return _bwrap(spec, shutil.which("bwrap") or "bwrap")
    if backend == "unshare":
        return _unshare(spec, shutil.which("unshare") or "unshare")
    raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")


def _try(backend: str) -> str | None:
    """Build a real sandbox around ``true``; None if it works, else what went wrong."""
    import tempfile

    tools = {"bwrap": ["bwrap", "setpriv"], "unshare": ["unshare", "setpriv", "chroot", "mount"]}
    missing = [
        t for t in tools[backend] if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}")
    ]
    if backend == "bwrap" and not _is_root():
        missing = [t for t in missing if t != "setpriv"]
    if missing:
        return f"{', '.join(missing)} not found"
    with tempfile.TemporaryDirectory(prefix="bpcourse-probe-") as tmp:
        work, run = Path(tmp, "work"), Path(tmp, "run")
        work.mkdir()
        run.mkdir()
        os.chmod(tmp, 0o755)
        spec = SandboxSpec(command=["/usr/bin/true"], workdir=str(work), runtime_dir=str(run))
        try:
            out = subprocess.run(
                sandbox_command(backend, spec), capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{backend} could not run ({exc})"
    if out.returncode != 0:
        return f"{backend} failed: {(out.stderr or out.stdout).strip()[:300] or out.returncode}"
    return None


@functools.cache
def available_backend(preferred: str = "any") -> str:
    """The sandbox tool that works here: ``"bwrap"``, else ``"unshare"``.

    Each candidate is tried for real (a sandbox around ``true``), once per process.

    Args:
        preferred: ``"any"`` (bubblewrap first), ``"bwrap"`` or ``"unshare"``.

    Raises:
        SandboxUnavailableError: neither works; the message says why and how to fix it.
        ValueError: ``preferred`` is not one of them.
    """
    if preferred not in ("any", *BACKENDS):
        raise ValueError(f"preferred: expected 'any', 'bwrap' or 'unshare', got {preferred!r}")
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailableError(
            f"the grading sandbox needs Linux namespaces, and this is {sys.platform}: grade on "
            "a Linux machine (or a Linux virtual machine or container), or pass --unsandboxed "
            "for a class you trust"
        )
    problems = []
    for backend in BACKENDS if preferred == "any" else (preferred,):
        problem = _try(backend)
        if problem is None:
            return backend
        problems.append(problem)
    who = "root" if _is_root() else f"uid {os.geteuid()}"
    raise SandboxUnavailableError(
        "no grading sandbox can be built on this machine (" + "; ".join(problems) + f"; running "
        f"as {who}). Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: "
        "`dnf install bubblewrap`) and make sure namespaces are allowed: as root they always "
        "are on Linux; otherwise unprivileged user namespaces must be enabled "
        "(`sysctl kernel.unprivileged_userns_clone=1` on Debian, "
        "`kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu 24.04), and inside a "
        "container it must be started with them allowed. Or pass --unsandboxed to grade "
        "without it (student code then runs as you, with your files and network)"
    )
