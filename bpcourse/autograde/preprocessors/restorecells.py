"""nbgrader's ``OverwriteCells`` step, also restoring read-only cells and edited cell flags.

Deleted test cells *and* deleted read-only cells are put back where they belong (nbgrader's own
version puts back only test cells and fails the submission when the cell before a deleted test
is a read-only one), and a test cell whose nbgrader flags were edited gets them back instead of
failing the submission with "Inconsistent checksums".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbg_utils
from nbgrader.preprocessors import OverwriteCells
from traitlets import Bool, Unicode

__all__ = ["RestoreCells"]


class RestoreCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, also restoring read-only cells and edited cell flags.

    Cells are placed after the nearest cell that precedes them in the source notebook and is
    still present in the submission; the order comes from ``source_directory`` (falling back
    to the gradebook's order).
    """

    restore_read_only_cells = Bool(
        True, help="Also put back deleted read-only (locked, ungraded) cells."
    ).tag(config=True)
    read_only_cell_notification = Unicode(
        "This read-only cell (id:{cell_id}) was missing from the submission; it was put back "
        "for grading.",
        help="First line (a comment in code cells) of a restored read-only cell.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        self._source_order = self._order_from_source(resources)
        return super().preprocess(nb, resources)

    def _order_from_source(self, resources: Any) -> list[str]:
        """grade_ids in the order of the instructor's notebook, or [] if it cannot be read."""
        owner = self.parent  # the exporter, whose parent is the Autograde converter
        while owner is not None and not hasattr(owner, "coursedir"):
            owner = getattr(owner, "parent", None)
        try:
            coursedir = owner.coursedir
            path = Path(
                coursedir.format_path(
                    coursedir.source_directory, ".", resources["nbgrader"]["assignment"]
                )
            ) / (resources["nbgrader"]["notebook"] + ".ipynb")
            source = nbformat.read(str(path), as_version=4)
        except Exception:
            return []
        return [
            c.metadata["nbgrader"]["grade_id"]
            for c in source.cells
            if "grade_id" in c.get("metadata", {}).get("nbgrader", {})
        ]

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> Any:
        from nbgrader.api import MissingEntry

        meta = cell.get("metadata", {})
        if "nbgrader" in meta and not meta["nbgrader"].get("grade_id"):
            # emptied by DeduplicateIds (an extra copy of a cell) or hand-made: a plain cell
            del meta["nbgrader"]
            return cell, resources
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        if grade_id:
            try:
                self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                self.log.warning("Cell '%s' does not exist in the database", grade_id)
                del meta["nbgrader"]
                return cell, resources
            if nbg_utils.is_grade(cell) or nbg_utils.is_solution(cell) or nbg_utils.is_locked(cell):
                self._restore_flags(cell, grade_id)
        return super().preprocess_cell(cell, resources, cell_index)

    def _restore_flags(self, cell: NotebookNode, grade_id: str) -> None:
        """Give a known locked cell its original nbgrader flags (grade, solution, points)."""
        from nbgrader.api import MissingEntry

        try:
            source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            return
        if not source.locked:
            return
        meta = cell.metadata.nbgrader
        try:
            graded = self.gradebook.find_graded_cell(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            graded = None
        want: dict[str, Any] = {
            "grade": graded is not None,
            "solution": False,
            "locked": True,
            "task": False,
        }
        if graded is not None:
            want["points"] = float(graded.max_score)
        changed = {
            k: v for k, v in want.items() if meta.get(k, False if k != "points" else None) != v
        }
        if changed:
            self.log.warning(
                "Cell %s: nbgrader flags %s were edited; restored", grade_id, sorted(changed)
            )
            meta.update(want)
            if graded is None:
                meta.pop("points", None)

    def add_missing_grade_cells(self, nb: NotebookNode, resources: Any) -> Any:
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = {c.name: c for c in source_nb.source_cells}
        order = [n for n in self._source_order if n in source_cells]
        order += [n for n in source_cells if n not in order]
        grade_cells = {c.name: c for c in source_nb.grade_cells}
        solution_ids = {c.name for c in source_nb.solution_cells}

        def present() -> dict[str, int]:
            out = {}
            for i, c in enumerate(nb.cells):
                gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if gid and gid not in out:
                    out[gid] = i
            return out

        for position, name in enumerate(order):
            where = present()
            if name in where:
                continue
            source = source_cells[name]
            if name in grade_cells:
                self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
                new = self.missing_cell_transform(
                    source, grade_cells[name].max_score, is_solution=name in solution_ids
                )
            elif self.restore_read_only_cells and source.locked and name not in solution_ids:
                self.log.warning("Missing read-only cell %s encountered, adding to notebook", name)
                new = self._read_only_cell(source)
            else:
                continue
            at = 0
            for previous in reversed(order[:position]):
                if previous in where:
                    at = where[previous] + 1
                    break
            nb.cells.insert(at, new)
        return nb, resources

    def add_missing_task_cells(self, nb: NotebookNode, resources: Any) -> Any:
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = {c.name: c for c in source_nb.source_cells}
        submitted = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells}
        for task in source_nb.task_cells:
            if task.name not in submitted and task.name in source_cells:
                nb.cells.append(
                    self.missing_cell_transform(
                        source_cells[task.name], task.max_score, is_task=True
                    )
                )
        return nb, resources

    def _read_only_cell(self, source: Any) -> NotebookNode:
        note = self.read_only_cell_notification.format(cell_id=source.name)
        if source.cell_type == "code":
            text = f"# {note}\n{source.source}"
            cell = nbformat.v4.new_code_cell(text)
        else:
            cell = nbformat.v4.new_markdown_cell(f"*{note}*\n\n{source.source}")
        cell.metadata = NotebookNode(
            {
                "deletable": False,
                "editable": False,
                "nbgrader": {
                    "grade": False,
                    "solution": False,
                    "locked": True,
                    "task": False,
                    "grade_id": source.name,
                    "checksum": source.checksum,
                    "cell_type": source.cell_type,
                    "schema_version": 3,
                },
            }
        )
        cell.pop("id", None)
        return cell
