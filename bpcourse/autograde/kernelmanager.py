"""The kernel manager of grading kernels: resource limits applied before the kernel starts.

Configure with ``c.Execute.kernel_manager_class =
"bpcourse.autograde.kernelmanager.LimitedKernelManager"``.
"""

from __future__ import annotations

import sys

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

__all__ = ["LimitedKernelManager"]


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run under :mod:`bpcourse.autograde.kernel_launcher` limits.

    Configure with ``c.Execute.kernel_manager_class`` (see the module docstring) and
    ``c.LimitedKernelManager.memory_limit_mb = ...`` (0 switches a limit off).
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
        2, help="Threads of OpenBLAS/OpenMP/MKL in the kernel unless set; 0 leaves them."
    ).tag(config=True)

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
        return [
            sys.executable,
            "-m",
            "bpcourse.autograde.kernel_launcher",
            *self.launcher_arguments(),
            "--",
            *cmd,
        ]
