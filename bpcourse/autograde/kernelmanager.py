"""The kernel manager of grading kernels: a sandbox and resource limits around every kernel.

Configure with ``c.Execute.kernel_manager_class =
"bpcourse.autograde.kernelmanager.LimitedKernelManager"``. Each kernel it starts runs

- in the grading sandbox of :mod:`bpcourse.autograde.sandbox` (``LimitedKernelManager.sandbox``:
  ``"auto"`` uses it wherever it can be built, ``"require"`` refuses to start a kernel
  without it, ``"off"`` never uses it). A sandboxed kernel has no network, so it talks to the
  grader over ZeroMQ's ``ipc`` transport (Unix sockets) in a private runtime folder, and it is
  interrupted by a message on its control channel rather than a signal;
- through :mod:`bpcourse.autograde.kernel_launcher`, under caps on memory, file size, CPU time
  and library threads, with standard input closed (and an allocator that reuses freed memory).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Enum, Integer, Unicode

from bpcourse.autograde import sandbox as sandboxing

__all__ = ["LimitedKernelManager"]

_MAX_SOCKET_PATH = 107  # bytes in a Unix socket's path (sun_path, less its final NUL)

# Variables a kernel may keep from the grader's environment (everything else is dropped in
# the sandbox: the grader's environment can hold tokens and passwords).
KEPT_VARIABLES = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "PYTHONHASHSEED",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MPLBACKEND",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "JPY_SESSION_NAME",
)


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run sandboxed and under resource limits.

    See the module docstring; every limit is a config trait (0 switches a limit off).
    """

    memory_limit_mb = Integer(
        3072, help="Address-space cap of the kernel in MiB (RLIMIT_AS); 0 for none."
    ).tag(config=True)
    file_size_limit_mb = Integer(
        256, help="Largest file the kernel may write, in MiB (RLIMIT_FSIZE); 0 for none."
    ).tag(config=True)
    cpu_limit_seconds = Integer(
        0, help="CPU seconds for the whole kernel (RLIMIT_CPU); 0 for none."
    ).tag(config=True)
    library_threads = Integer(
        1,
        help="Threads of OpenBLAS/OpenMP/MKL in the kernel unless set; 0 leaves them. One "
        "per kernel: parallel grading jobs fill the cores already.",
    ).tag(config=True)
    sandbox = Enum(
        ["auto", "require", "off"],
        "auto",
        help="Run kernels in the grading sandbox: 'auto' where it can be built (a warning "
        "otherwise), 'require' or refuse to start the kernel, 'off' never.",
    ).tag(config=True)
    sandbox_backend = Enum(
        ["any", *sandboxing.BACKENDS],
        "any",
        help="The tool that builds the sandbox: 'any' (bubblewrap, else unshare), 'bwrap' or "
        "'unshare'.",
    ).tag(config=True)
    workdir_size_mb = Integer(
        64, help="Size of the sandboxed notebook's writable working folder, in MiB."
    ).tag(config=True)
    tmp_size_mb = Integer(64, help="Size of the sandbox's /tmp (also HOME), in MiB.").tag(
        config=True
    )
    runtime_root = Unicode(
        "",
        help="Where the private runtime folders of sandboxed kernels are made (connection "
        "file and sockets); default: the system's temporary folder.",
    ).tag(config=True)

    _backend: str | None = None
    _runtime: str | None = None
    _warned_unsandboxed = False

    # -- the sandbox --------------------------------------------------------------------------

    @property
    def sandboxed_by(self) -> str | None:
        """The sandbox tool of the running kernel (``"bwrap"``, ``"unshare"``) or None."""
        return self._backend

    def _choose_backend(self) -> str | None:
        if self.sandbox == "off":
            return None
        try:
            return sandboxing.available_backend(self.sandbox_backend)
        except sandboxing.SandboxUnavailableError as exc:
            if self.sandbox == "require":
                raise
            if not LimitedKernelManager._warned_unsandboxed:
                LimitedKernelManager._warned_unsandboxed = True
                self.log.warning("Grading kernels run WITHOUT a sandbox: %s", exc)
            return None

    def _make_runtime_dir(self) -> str:
        root = self.runtime_root or None
        path = tempfile.mkdtemp(prefix="bpcourse-kernel-", dir=root)
        # the kernel's sockets are <folder>/kernel-1 ... kernel-5: a Unix socket's path holds
        # at most 107 bytes, and ZeroMQ's own error would name neither the cause nor the fix
        parent = os.path.dirname(path)
        parent_bytes = len(os.fsencode(parent))
        longest = len(os.fsencode(os.path.join(path, "kernel-999")))
        if longest > _MAX_SOCKET_PATH:
            os.rmdir(path)
            room = _MAX_SOCKET_PATH - (longest - parent_bytes)
            raise ValueError(
                f"LimitedKernelManager.runtime_root: got {parent!r} ({parent_bytes} "
                f"bytes), whose kernel sockets' paths would be {longest} bytes long; expected a "
                f"folder whose path is at most {room} bytes long (a Unix socket's path holds at "
                f"most {_MAX_SOCKET_PATH} bytes)"
            )
        if os.geteuid() == 0:
            # owned by root; the kernel's group may enter it, and add its sockets while it is
            # unsealed: a kernel free to write here could fill the grader's disk
            os.chown(path, 0, sandboxing.NOBODY)
        return path

    def _set_runtime_mode(self, sealed: bool) -> None:
        if self._runtime is not None and os.geteuid() == 0:
            os.chmod(self._runtime, 0o710 if sealed else 0o730)

    def seal_runtime(self) -> None:
        """Forbid the running kernel to create files in its runtime folder.

        Called once the kernel answers (it has made its sockets by then): the folder is bound
        writable into the sandbox and lies on the grader's disk, so a submission must not be
        able to fill it. Only when grading as root (otherwise the kernel owns the folder).
        """
        self._set_runtime_mode(sealed=True)

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self._runtime is None:  # a first start (a restart keeps the runtime folder)
            self._backend = self._choose_backend()
            if self._backend is not None:
                self._runtime = self._make_runtime_dir()
                self.transport = "ipc"
                self.ip = os.path.join(self._runtime, "kernel")
                self.connection_file = os.path.join(self._runtime, "kernel.json")
        self._set_runtime_mode(sealed=False)  # a new kernel makes new sockets
        return await super()._async_pre_start_kernel(**kw)

    @property
    def kernel_spec(self) -> Any:
        spec = super().kernel_spec
        if spec is not None and self._backend is not None:
            # a signal to the sandbox's outer process would not reach the kernel inside
            spec.interrupt_mode = "message"
        return spec

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart and self._runtime is not None:
                shutil.rmtree(self._runtime, ignore_errors=True)
                self._runtime = None

    # AsyncKernelManager binds the public name to the base class's function, so nbclient's own
    # call (after a kernel that died while starting) would skip the runtime folder's removal.
    cleanup_resources = _async_cleanup_resources

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """Wait for the kernel process to end, checking every 10 ms.

        jupyter_client checks every ``pollinterval`` (0.1 s) after it has stopped a kernel: a
        killed kernel is gone within milliseconds, so most of that wait was the interval,
        paid once per graded notebook. (A caller's timeout still bounds the wait.)
        """
        while await self._async_is_alive():
            await asyncio.sleep(min(pollinterval, 0.01))

    # -- the command ---------------------------------------------------------------------------

    def launcher_arguments(self) -> list[str]:
        """The options passed to :mod:`bpcourse.autograde.kernel_launcher`."""
        args = []
        for flag, value in (
            ("--memory-mb", self.memory_limit_mb),
            ("--file-mb", self.file_size_limit_mb),
            ("--cpu-seconds", self.cpu_limit_seconds),
            ("--threads", self.library_threads),
        ):
            if value < 0:
                raise ValueError(f"LimitedKernelManager{flag}: expected >= 0, got {value}")
            if value:
                args.append(f"{flag}={value}")
        return args

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        launcher = [sys.executable, "-m", "bpcourse.autograde.kernel_launcher"]
        launcher += self.launcher_arguments()
        if self._backend is None or self._runtime is None:
            return [*launcher, "--", *cmd]
        if os.geteuid() == 0:  # readable by the kernel's group, writable by root only
            os.chown(self.connection_file, 0, sandboxing.NOBODY)
            os.chmod(self.connection_file, 0o640)
        launch = dict(self._launch_args or {})
        workdir = os.path.abspath(str(launch.get("cwd") or os.getcwd()))
        env = launch.get("env") or os.environ
        seed = _font_cache_dir()
        inner = [*launcher, f"--copy-from={sandboxing.STAGING}", "--quiet"]
        if seed:
            inner.append(f"--seed-home={sandboxing.SEED}")
        spec = sandboxing.SandboxSpec(
            command=[*inner, "--", *cmd],
            workdir=workdir,
            runtime_dir=self._runtime,
            read_only=_read_only_paths(workdir, self.log),
            env=_kernel_env(env),
            seed_dir=seed,
            workdir_mb=self.workdir_size_mb,
            tmp_mb=self.tmp_size_mb,
        )
        return sandboxing.sandbox_command(self._backend, spec)


def _kernel_env(env: Any) -> dict[str, str]:
    kept = {k: str(env[k]) for k in KEPT_VARIABLES if k in env}
    bindir = os.path.dirname(sys.executable)
    kept.update(
        PATH=f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        HOME=sandboxing.HOME,
        IPYTHONDIR=f"{sandboxing.HOME}/.ipython",
        MPLCONFIGDIR=f"{sandboxing.HOME}/.matplotlib",
        XDG_CACHE_HOME=f"{sandboxing.HOME}/.cache",
        JUPYTER_RUNTIME_DIR=f"{sandboxing.HOME}/.jupyter-runtime",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
    )
    kept.setdefault("LANG", "C.UTF-8")
    return kept


_PATHS: dict[str, list[str]] = {}


def _read_only_paths(workdir: str, log: Any) -> list[str]:
    """The Python environment and the bpcourse package, minus anything holding ``workdir``.

    A path that contains the notebook's folder (the course directory on ``sys.path``, say)
    would bring the whole course into the sandbox: it is left out, with a warning.
    """
    if sys.executable not in _PATHS:
        import bpcourse

        package = str(Path(bpcourse.__file__).resolve().parent)
        _PATHS[sys.executable] = sandboxing._outermost(
            [*sandboxing.python_paths(sys.executable), package]
        )
    keep = []
    for path in _PATHS[sys.executable]:
        if workdir == path or workdir.startswith(path.rstrip("/") + "/"):
            log.warning("Not shown to the sandboxed kernel (it holds the course): %s", path)
            continue
        keep.append(path)
    return keep


_FONT_CACHE: list[str | None] = []


def _font_cache_dir() -> str | None:
    """A folder holding matplotlib's font list, made once per process.

    A kernel with an empty matplotlib folder would spend about 1.5 s scanning fonts before
    its first plot; the sandbox copies this ready list into its ``HOME`` instead.
    """
    if not _FONT_CACHE:
        import subprocess

        folder = tempfile.mkdtemp(prefix="bpcourse-mplcache-")
        os.chmod(folder, 0o755)
        config = os.path.join(folder, os.path.basename(_kernel_env({})["MPLCONFIGDIR"]))
        env = {"MPLCONFIGDIR": config, "PATH": "/usr/bin:/bin", "HOME": folder}
        done = subprocess.run(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        for item in Path(folder).rglob("*"):
            item.chmod(0o755 if item.is_dir() else 0o644)
        _FONT_CACHE.append(folder if done.returncode == 0 else None)
        import atexit

        atexit.register(shutil.rmtree, folder, True)
    return _FONT_CACHE[0]
