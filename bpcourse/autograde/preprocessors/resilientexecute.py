"""nbgrader's ``Execute`` step, continuing past cells that kill or hang the kernel.

When a cell kills its kernel (``os._exit``, a crash, the memory cap) or keeps running after the
timeout's interrupt (a loop that ignores Ctrl-C), nbgrader gives up on the whole submission.
:class:`ResilientExecute` instead marks that one cell as failed, restarts the kernel, re-runs
the earlier cells silently and carries on, so the student is graded on everything else. Before
each test cell it also checks, from outside the student's code, that the names the test relies
on (``G``, ``np``, ``Value``... bound by the read-only setup cell) still hold the same objects,
and that a failing assertion still reports a failure; if not, the test is not run and scores
zero. The error names it writes are those of :mod:`bpcourse.autograde.markers`.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterable
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbg_utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from bpcourse.autograde.cellnames import imported_names, loaded_names
from bpcourse.autograde.markers import KERNEL_DIED, TAMPER, TIMEOUT, UNRESPONSIVE

__all__ = ["ResilientExecute"]

_CANARY_MESSAGE = "bpcourse grading canary"


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

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self._seal_runtime()
        return kc

    # nbclient binds the synchronous name to its own coroutine: rebind it to this one
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _seal_runtime(self) -> None:
        """Once the kernel answers, it may create no more files where its sockets are."""
        seal = getattr(self.km, "seal_runtime", None)
        if callable(seal):
            seal()

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
        self._seal_runtime()
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
