"""Start a Jupyter kernel under resource limits, for grading submissions safely.

Used as a command prefix by :class:`bpcourse.autograde.kernelmanager.LimitedKernelManager`::

    python -m bpcourse.autograde.kernel_launcher --memory-mb 3072 --file-mb 512 -- \\
        python -m ipykernel_launcher -f /path/to/connection.json

The launcher sets the limits on its own process and then replaces itself (``exec``) with the
kernel command, which inherits them. So a submission that allocates without bound gets a
``MemoryError`` (or, at worst, its kernel dies) instead of pushing the grading machine into
swap or the out-of-memory killer; a submission that writes an endless file gets ``OSError``;
and standard input is ``/dev/null``, so reading ``sys.stdin`` returns at once instead of
waiting for a keyboard nobody is at.

In the grading sandbox (:mod:`bpcourse.autograde.sandbox`) the launcher runs inside, as the
sandbox's user: ``--copy-from`` fills the empty in-memory working folder with the submission's
files and ``--seed-home`` puts ready-made caches (matplotlib's font list) into ``HOME``.

This module imports only the standard library: it runs once per graded notebook and must
start fast.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
from collections.abc import Sequence

__all__ = ["apply_limits", "cap_threads", "copy_into", "keep_freed_memory", "main"]

_MIB = 1024 * 1024


def apply_limits(
    memory_mb: int | None = None, file_mb: int | None = None, cpu_seconds: int | None = None
) -> None:
    """Set resource limits of the current process (inherited by what it ``exec``s).

    Args:
        memory_mb: cap on the address space (``RLIMIT_AS``), in MiB; ``None`` leaves it.
        file_mb: cap on the size of any file the process writes (``RLIMIT_FSIZE``), in MiB.
        cpu_seconds: cap on the CPU time of the whole kernel (``RLIMIT_CPU``), in seconds.

    Core dumps are always switched off: a crashing kernel must not leave a large file in the
    grading directory.

    Raises:
        ValueError: if a limit is not a positive integer.
    """
    for name, value in (
        ("memory_mb", memory_mb),
        ("file_mb", file_mb),
        ("cpu_seconds", cpu_seconds),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value <= 0
        ):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    limits = [(resource.RLIMIT_CORE, 0)]
    if memory_mb is not None:
        limits.append((resource.RLIMIT_AS, memory_mb * _MIB))
    if file_mb is not None:
        limits.append((resource.RLIMIT_FSIZE, file_mb * _MIB))
    if cpu_seconds is not None:
        limits.append((resource.RLIMIT_CPU, cpu_seconds))
    for kind, value in limits:
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


def cap_threads(threads: int) -> None:
    """Bound the threads of numeric libraries and the C allocator's arenas, unless set already.

    Each OpenBLAS or OpenMP thread and each malloc arena reserves address space up front; on a
    machine with many cores that reservation alone can exceed a modest ``RLIMIT_AS`` cap, so the
    cap would fail the kernel at ``import numpy``. Variables already in the environment win.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    os.environ.setdefault("MALLOC_ARENA_MAX", str(max(2, threads)))


#: glibc's allocator settings for a kernel, unless set already (see :func:`keep_freed_memory`).
MALLOC_SETTINGS = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * _MIB),
    "MALLOC_TRIM_THRESHOLD_": str(64 * _MIB),
}


def keep_freed_memory() -> None:
    """Let the kernel reuse the memory it frees instead of handing it back at once.

    By default glibc gives every array above a few hundred kB pages of its own (``mmap``) and
    returns freed memory at the top of its heap to the system, so a training loop whose
    temporaries are a few MB each asks the system for fresh pages at every step. Each page is
    zeroed on its first touch (a page fault); on virtual machines that costs several
    microseconds per 4 kB page. Served from the heap and kept there (up to 32 MiB per array,
    64 MiB of free heap), the same memory is reused from step to step: lesson 07 runs about a
    tenth faster. Memory caps are unchanged (``RLIMIT_AS`` counts heap and mappings alike).
    Takes effect in the command the launcher ``exec``s; variables already set win.
    """
    for name, value in MALLOC_SETTINGS.items():
        os.environ.setdefault(name, value)


def copy_into(source: str, dest: str) -> list[str]:
    """Copy the files and folders of ``source`` into ``dest`` (symbolic links as links).

    Used inside the grading sandbox, where the notebook's folder is an empty in-memory folder
    and the submission's files are bound read-only elsewhere. Returns what could not be copied
    (a full folder, an unreadable file) instead of raising: the kernel starts anyway.
    """
    problems: list[str] = []
    for root, dirs, files in os.walk(source):
        rel = os.path.relpath(root, source)
        target = os.path.normpath(os.path.join(dest, rel))
        try:
            os.makedirs(target, exist_ok=True)
        except OSError as exc:
            problems.append(f"{rel}: {exc.strerror}")
            dirs[:] = []
            continue
        for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(root, d)))]:
            src, dst = os.path.join(root, name), os.path.join(target, name)
            try:
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                else:
                    shutil.copyfile(src, dst)
            except OSError as exc:
                problems.append(f"{os.path.join(rel, name)}: {exc.strerror}")
    return problems


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bpcourse.autograde.kernel_launcher",
        description="Run a kernel command under memory, file-size and CPU limits.",
    )
    parser.add_argument("--memory-mb", type=int, default=None, help="address-space cap (MiB)")
    parser.add_argument("--file-mb", type=int, default=None, help="largest file written (MiB)")
    parser.add_argument("--cpu-seconds", type=int, default=None, help="CPU time of the kernel")
    parser.add_argument(
        "--threads", type=int, default=None, help="numeric library threads, when not set already"
    )
    parser.add_argument(
        "--copy-from", default=None, help="copy this folder's files into the working folder first"
    )
    parser.add_argument(
        "--seed-home", default=None, help="copy this folder's files into $HOME first"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="send the kernel's own standard output and error to /dev/null (not the terminal)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the kernel command")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the limits, apply them, and ``exec`` the kernel command (never returns on success)."""
    args = _parser().parse_args(argv)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("kernel_launcher: no kernel command given after --", file=sys.stderr)
        return 2
    try:
        apply_limits(args.memory_mb, args.file_mb, args.cpu_seconds)
        if args.threads is not None:
            cap_threads(args.threads)
        keep_freed_memory()
    except ValueError as exc:
        print(f"kernel_launcher: {exc}", file=sys.stderr)
        return 2
    for source, dest in ((args.seed_home, os.environ.get("HOME")), (args.copy_from, os.getcwd())):
        if source and dest:
            for problem in copy_into(source, dest):
                print(f"kernel_launcher: not copied: {problem}", file=sys.stderr)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    sys.stderr.flush()
    if args.quiet:  # what a sandboxed submission writes to fd 1 or 2 must not reach a terminal
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        os.close(sink)
    os.execvp(command[0], command)
    return 1  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())
