"""Shared pytest configuration: Hypothesis profiles, headless matplotlib, shared helpers.

The tests live in folders by product (maths/, experiments/, lessons/, browser/, and the
autograding ones); the helpers they share (strategies, printout, course_utils, ...) stay here,
beside this file, which puts this folder on ``sys.path`` so that every folder imports them the
same way, whatever pytest's import mode.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One thread per numeric library, in this process and in every kernel, server and subprocess
# the tests start: the suite runs on as many workers as there are cores, so more threads
# would only wait on each other (set before numpy is first imported, just below). A variable
# already set wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# The allocator settings graded kernels get, for every kernel and subprocess of the tests too:
# the lessons' training loops then reuse their memory instead of page-faulting fresh memory at
# every step. (The launcher imports only the standard library.)
from bpcourse.autograde.kernel_launcher import keep_freed_memory  # noqa: E402

keep_freed_memory()

import matplotlib  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

matplotlib.use("Agg")

HELPERS = str(Path(__file__).resolve().parent)
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)

# "ci" is deterministic (a fixed seed through derandomize) and is the default, so every run of
# the suite tries the same examples; "dev" explores more and at random.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run when ``--dist loadgroup`` would silently ignore the ``xdist_group`` marks.

    The tests that share an expensive module fixture (a graded class, a JupyterLab server)
    carry an ``xdist_group`` mark so that one worker builds it once. pytest-xdist 3.8 and
    older tag such a test by rewriting its node id, which pytest 9.2 no longer allows
    (pytest-xdist issue #1386): every worker would then build every shared fixture.
    """
    if config.getoption("dist", None) != "loadgroup" or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from importlib.metadata import version

    def release(name: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version(name).split(".")[:2] if part.isdigit())

    if release("pytest") >= (9, 2) and release("pytest-xdist") <= (3, 8):
        raise pytest.UsageError(
            f"--dist loadgroup with pytest {version('pytest')} and pytest-xdist "
            f"{version('pytest-xdist')}: the xdist_group marks would be ignored and every "
            "worker would build every shared fixture; install what pyproject.toml asks for "
            "(`pip install -e '.[dev]'`, pytest<9.2)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the modules that grade notebooks first, the cheap ones after them.

    Under pytest-xdist each worker takes the next test (or group) as it becomes free, in
    collection order. A long graded batch picked up last leaves the other core idle until it
    ends; started first, its time overlaps the many short tests, which then fill the gaps
    (longest jobs first). The order inside a module is kept: some modules' tests build on
    one another's state. Nothing else depends on the order between modules.
    """
    grading = {item.path for item in items if item.get_closest_marker("nbgrader")}
    items.sort(key=lambda item: item.path not in grading)  # stable: False (grading) first
