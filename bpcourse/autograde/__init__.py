"""Autograding the course's exercises for a class, safely: the instructor's side of nbgrader.

- :mod:`bpcourse.autograde.classroom`: grade every submission of an assignment, report every
  student (graded, failed with a reason, missing), export the gradebook;
- :mod:`bpcourse.autograde.preprocessors`: nbgrader steps that survive faulty and hostile
  submissions (one class per module, plugged in by ``nbgrader_config.py``);
- :mod:`bpcourse.autograde.kernelmanager` and :mod:`bpcourse.autograde.kernel_launcher`: how a
  grading kernel is started (resource limits);
- :mod:`bpcourse.autograde.cli`: the ``bpcourse`` command.

Nothing is imported here: nbgrader is heavy, and ``bpcourse.autograde.kernel_launcher`` must
start fast.
"""

from __future__ import annotations

__all__: list[str] = []
