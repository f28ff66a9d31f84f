"""nbgrader preprocessors that let autograding survive faulty and hostile submissions.

One class per module, as nbgrader organises its own; ``nbgrader_config.py`` plugs them in by
their names here (``bpcourse.autograde.preprocessors.ResilientExecute`` ...):

- :class:`RestoreCells` (sanitizing) replaces nbgrader's ``OverwriteCells``: deleted test and
  read-only cells are put back, edited flags restored;
- :class:`ResilientExecute` (autograding) replaces nbgrader's ``Execute``: a cell that kills or
  hangs the kernel fails alone, and tests whose names or error reporting were tampered with
  are not run;
- :class:`ShortenHiddenTracebacks` (feedback): no hidden test line quoted in a traceback;
- :class:`ClearHiddenTestCells` (feedback) replaces nbgrader's ``ClearHiddenTests``: hidden
  tests are removed from test cells only, so an answer holding the markers' text still gets
  its feedback.
"""

from __future__ import annotations

from bpcourse.autograde.preprocessors.clearhiddentestcells import ClearHiddenTestCells
from bpcourse.autograde.preprocessors.resilientexecute import ResilientExecute
from bpcourse.autograde.preprocessors.restorecells import RestoreCells
from bpcourse.autograde.preprocessors.shortenhiddentracebacks import ShortenHiddenTracebacks

__all__ = ["ClearHiddenTestCells", "ResilientExecute", "RestoreCells", "ShortenHiddenTracebacks"]
