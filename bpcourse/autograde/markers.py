"""Error names the grading steps write into a graded notebook, read back by the report.

:mod:`bpcourse.autograde.preprocessors` writes an error output with one of these names into
a cell it could not run normally; :mod:`bpcourse.autograde.classroom` reads them from the
autograded notebook to tell the instructor what happened. Standard library only.
"""

from __future__ import annotations

__all__ = ["KERNEL_DIED", "MARKER_ENAMES", "TAMPER", "TIMEOUT", "UNRESPONSIVE"]

KERNEL_DIED = "KernelDiedError"
UNRESPONSIVE = "UnresponsiveCellError"
TAMPER = "GradingTamperError"
TIMEOUT = "CellTimeoutError"  # nbgrader's own name for a cell interrupted at the timeout
MARKER_ENAMES = (KERNEL_DIED, UNRESPONSIVE, TAMPER, TIMEOUT)
