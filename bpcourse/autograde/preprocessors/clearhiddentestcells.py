"""nbgrader's ``ClearHiddenTests`` feedback step, applied to test cells only.

nbgrader's own step looks for the hidden-test markers (``### BEGIN HIDDEN TESTS`` ...) in every
cell and fails the whole feedback when it finds one outside a test cell, or a begin without an
end: a student who typed the marker's text into an answer (out of curiosity, or to break the
feedback) got no feedback at all. Hidden tests live only in the instructor's test cells, which
grading restores from the gradebook, so :class:`ClearHiddenTestCells` removes hidden regions
there and leaves the student's own cells exactly as they were written.
"""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbg_utils
from nbgrader.preprocessors import ClearHiddenTests

__all__ = ["ClearHiddenTestCells"]


class ClearHiddenTestCells(ClearHiddenTests):
    """Remove hidden test regions from test cells (graded, not answers); keep other cells."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> Any:
        if nbg_utils.is_grade(cell) and not nbg_utils.is_solution(cell):
            return super().preprocess_cell(cell, resources, cell_index)
        return cell, resources
