"""A feedback step that keeps hidden test lines out of the outputs of test cells.

In a test cell that contains hidden tests a traceback would quote the failing hidden line, so
:class:`ShortenHiddenTracebacks` keeps only the final ``AssertionError: message`` line of its
errors. It also drops every other output of such a cell (printed text, displays, results): the
course's tests print nothing, so any such output comes from the submission's own code, which
the kernel lets see the test code it runs (a hook on cell execution, a look at the caller's
frame) and could print it into the feedback.
"""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbg_utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

__all__ = ["ShortenHiddenTracebacks"]


class ShortenHiddenTracebacks(NbGraderPreprocessor):
    """In test cells that contain hidden tests, keep only errors, as ``ename: evalue``.

    Must run before ``ClearHiddenTests`` (which removes the hidden lines from the source but
    not from a traceback that quotes them).
    """

    begin_hidden_tests_delimiter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if (
            cell.cell_type == "code"
            and nbg_utils.is_grade(cell)
            and self.begin_hidden_tests_delimiter in cell.source
        ):
            kept = []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
                    kept.append(output)
            cell.outputs = kept
        return cell, resources
