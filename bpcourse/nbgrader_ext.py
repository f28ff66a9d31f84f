"""nbgrader extensions that let autograding survive faulty and hostile submissions.

``nbgrader_config.py`` plugs these classes into nbgrader by name:

- :class:`LimitedKernelManager` starts every grading kernel through
  :mod:`bpcourse.kernel_launcher`, under a cap on memory (``RLIMIT_AS``), file size and
  library threads, with standard input closed. A memory bomb then costs one ``MemoryError``
  (or one kernel) instead of the machine.
- :class:`ResilientExecute` replaces nbgrader's ``Execute`` step. When a cell kills its kernel
  (``os._exit``, a crash, the memory cap) or keeps running after the timeout's interrupt (a
  loop that ignores Ctrl-C), nbgrader gives up on the whole submission. This class instead
  marks that one cell as failed, restarts the kernel, re-runs the earlier cells silently and
  carries on, so the student is graded on everything else. Before each test cell it also
  checks, from outside the student's code, that the names the test relies on (``G``, ``np``,
  ``Value``... bound by the read-only setup cell) still hold the same objects, and that a
  failing assertion still reports a failure; if not, the test is not run and scores zero.
- :class:`RestoreCells` replaces nbgrader's ``OverwriteCells`` step: deleted test cells *and*
  deleted read-only cells are put back where they belong (nbgrader's own version puts back only
  test cells and fails the submission when the cell before a deleted test is a read-only one),
  and a test cell whose nbgrader flags were edited gets them back instead of failing the
  submission with "Inconsistent checksums".
- :class:`ShortenHiddenTracebacks` is a feedback step: in a test cell that contains hidden
  tests a traceback would quote the failing hidden line, so only the final
  ``AssertionError: message`` line is kept.

The error names written into a graded notebook by these classes (``KernelDiedError``,
``UnresponsiveCellError``, ``GradingTamperError``) are listed in :data:`MARKER_ENAMES`; the
grading workflow in :mod:`bpcourse.classroom` reads them to report what happened.
"""

from __future__ import annotations

import ast
import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbg_utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer, Unicode

__all__ = [
    "MARKER_ENAMES",
    "LimitedKernelManager",
    "ResilientExecute",
    "RestoreCells",
    "ShortenHiddenTracebacks",
    "imported_names",
    "loaded_names",
]

KERNEL_DIED = "KernelDiedError"
UNRESPONSIVE = "UnresponsiveCellError"
TAMPER = "GradingTamperError"
TIMEOUT = "CellTimeoutError"  # nbgrader's own name for a cell interrupted at the timeout
MARKER_ENAMES = (KERNEL_DIED, UNRESPONSIVE, TAMPER, TIMEOUT)

_CANARY_MESSAGE = "bpcourse grading canary"


# ---------------------------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------------------------


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run under :mod:`bpcourse.kernel_launcher` limits.

    Configure with ``c.Execute.kernel_manager_class = "bpcourse.nbgrader_ext.LimitedKernelManager"``
    and ``c.LimitedKernelManager.memory_limit_mb = ...`` (0 switches a limit off).
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
        """The options passed to :mod:`bpcourse.kernel_launcher`."""
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
            "bpcourse.kernel_launcher",
            *self.launcher_arguments(),
            "--",
            *cmd,
        ]


# ---------------------------------------------------------------------------------------------
# Names bound and used by cells
# ---------------------------------------------------------------------------------------------


def _python_source(source: str) -> ast.Module | None:
    """Parse a cell (IPython magics turned into Python first); None if it does not parse."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # IPython cannot transform it: fall back to the raw source
        code = source
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def imported_names(source: str) -> set[str]:
    """Names that ``import`` statements at the top level of a cell bind (``import a.b`` binds a)."""
    tree = _python_source(source)
    names: set[str] = set()
    if tree is None:
        return names
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names if a.name != "*")
    return names


def loaded_names(source: str) -> set[str]:
    """Every name a cell reads (``ast.Name`` in load context, anywhere in the cell)."""
    tree = _python_source(source)
    if tree is None:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _is_read_only_code(cell: NotebookNode) -> bool:
    return (
        cell.cell_type == "code"
        and nbg_utils.is_locked(cell)
        and not nbg_utils.is_grade(cell)
        and not nbg_utils.is_solution(cell)
    )


# ---------------------------------------------------------------------------------------------
# Execution that survives a dead or unresponsive kernel
# ---------------------------------------------------------------------------------------------


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` step, continuing past cells that kill or hang the kernel.

    See the module docstring. A submission still fails as a whole (as with nbgrader) when the
    kernel dies again while the earlier cells are re-run, or after ``max_kernel_restarts``.
    """

    max_kernel_restarts = Integer(
        3, help="Kernel restarts allowed per notebook before the submission is given up."
    ).tag(config=True)
    guard_names = Bool(
        True, help="Check before each test cell that names bound by read-only cells are intact."
    ).tag(config=True)
    canary = Bool(
        True, help="Check before each test cell that a failing assert is still reported."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._skip: set[int] = set()
        self._restarts = 0
        self._guarded: dict[str, int] = {}  # name -> id() in the kernel after its read-only cell
        self._guard_from: dict[int, set[str]] = {}  # read-only cell index -> names it imports
        self._tamper_reason: str | None = None
        for index, cell in enumerate(nb.cells):
            if self.guard_names and _is_read_only_code(cell):
                names = imported_names(cell.source)
                if names:
                    self._guard_from[index] = names
        return super().preprocess(nb, resources, km)

    # -- per cell ------------------------------------------------------------------------------

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        if nbg_utils.is_grade(cell):
            reason = self._tamper_reason or run_sync(self._async_pre_test_checks)(cell)
            if reason:
                self.log.warning("Test cell %s not run: %s", index, reason)
                cell.outputs = [_error_output(TAMPER, reason)]
                self._skip.add(index)
                return cell, self.resources
        try:
            super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            run_sync(self._async_cancel_pollers)()
            if self._restarts >= self.max_kernel_restarts:
                raise
            self._restarts += 1
            died = isinstance(exc, DeadKernelError)
            ename = KERNEL_DIED if died else UNRESPONSIVE
            evalue = (
                "the kernel died while running this cell (os._exit, a crash, or the memory "
                "cap); it was restarted and the cells above were run again without it"
                if died
                else "this cell was still running after the timeout and ignored the interrupt; "
                "the kernel was restarted and the cells above were run again without it"
            )
            self.log.warning("Cell %s: %s", index, evalue)
            cell.outputs.append(_error_output(ename, evalue))
            self._skip.add(index)
            run_sync(self._async_restart_and_replay)(index, exc)
            return cell, self.resources
        if any(o.get("ename") == TIMEOUT for o in cell.get("outputs", [])):
            self._skip.add(index)  # interrupted at the timeout: never re-run it
        if index in self._guard_from:
            run_sync(self._async_record_ids)(self._guard_from[index])
        return cell, self.resources

    # -- kernel requests outside the notebook --------------------------------------------------

    async def _async_cancel_pollers(self) -> None:
        """Stop the output pollers nbclient leaves running after a timeout or a dead kernel.

        Left alone they would keep reading (and dropping) messages meant for later cells.
        """
        for task in asyncio.all_tasks():
            name = getattr(task.get_coro(), "__qualname__", "")
            if task is not asyncio.current_task() and name.endswith(
                ("_async_poll_output_msg", "_async_poll_kernel_alive", "_async_poll_for_reply")
            ):
                task.cancel()
        await asyncio.sleep(0)

    async def _async_request(
        self, code: str, *, silent: bool, user_expressions: dict[str, str] | None = None
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """Run ``code`` outside the notebook; return the reply and the iopub message types."""
        assert self.kc is not None
        msg_id = self.kc.execute(
            code,
            silent=silent,
            store_history=False,
            user_expressions=user_expressions or {},
            allow_stdin=False,
            stop_on_error=False,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(self.timeout or 60)
        reply: dict[str, Any] | None = None
        while reply is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None, []
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(1.0, remaining)))
            except Exception:  # queue.Empty: check the kernel is alive and wait again
                if not await ensure_async(self.kc.is_alive()):
                    return None, []
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                reply = msg
        kinds: list[str] = []
        while loop.time() < deadline:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=2.0))
            except Exception:
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            kinds.append(kind)
        return reply, kinds

    async def _async_ids(self, names: Iterable[str]) -> dict[str, int] | None:
        wanted = sorted(names)
        expression = f"{{n: id(globals()[n]) for n in {wanted!r} if n in globals()}}"
        reply, _ = await self._async_request("", silent=True, user_expressions={"ids": expression})
        if reply is None:
            return None
        result = reply["content"].get("user_expressions", {}).get("ids", {})
        if result.get("status") != "ok":
            return None
        try:
            value = ast.literal_eval(result["data"]["text/plain"])
        except (KeyError, ValueError, SyntaxError):
            return None
        return value if isinstance(value, dict) else None

    async def _async_record_ids(self, names: set[str]) -> None:
        ids = await self._async_ids(names)
        if ids is not None:
            self._guarded.update(ids)

    async def _async_pre_test_checks(self, cell: NotebookNode) -> str | None:
        """Why this test cell cannot be trusted to run, or None."""
        used = loaded_names(cell.source) & set(self._guarded)
        if used:
            now = await self._async_ids(used)
            if now is None:
                return "the notebook's names could not be inspected before this test"
            changed = sorted(n for n in used if now.get(n) != self._guarded[n])
            if changed:
                return (
                    f"{', '.join(changed)} (set up by a read-only cell and used by this test) "
                    "was replaced or deleted by the code above, so this test was not run"
                )
        if self.canary:
            code = f"raise AssertionError({_CANARY_MESSAGE!r})"
            reply, kinds = await self._async_request(code, silent=False)
            content = (reply or {}).get("content", {})
            if content.get("status") != "error" or content.get("ename") != "AssertionError":
                self._tamper_reason = (
                    "a failing assertion is no longer reported as a failure in this notebook "
                    "(error reporting was changed by the code above), so no test can be trusted"
                )
            elif "execute_result" in kinds:
                self._tamper_reason = (
                    "every cell now reports a result of its own (the code above hooks cell "
                    "execution), so no test can be trusted"
                )
            return self._tamper_reason
        return None

    async def _async_restart_and_replay(self, index: int, original: Exception) -> None:
        assert self.km is not None and self.kc is not None
        await ensure_async(self.km.restart_kernel(now=True))
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        self._guarded.clear()
        for j in range(index):
            cell = self.nb.cells[j]
            if cell.cell_type != "code" or j in self._skip:
                continue
            reply, _ = await self._async_request(cell.source, silent=False)
            if reply is None:
                self.log.error("Re-running cell %s after a kernel restart failed", j)
                raise original
            if j in self._guard_from:
                await self._async_record_ids(self._guard_from[j])


# ---------------------------------------------------------------------------------------------
# Putting back what a submission deleted or edited
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------------------------


class ShortenHiddenTracebacks(NbGraderPreprocessor):
    """Keep only ``ename: evalue`` of errors in test cells that contain hidden tests.

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
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return cell, resources
