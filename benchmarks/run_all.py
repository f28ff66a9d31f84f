"""Run every speed benchmark of the course, one after the other (`make benchmarks`).

Each ``bench_*.py`` script measures against a reference in the same run and prints its own
table of medians and ratios. Benchmarks are not tests: they never fail on a slow machine.
Pass names to run a subset: ``python benchmarks/run_all.py mlp widgets``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} " + "=" * max(0, 70 - len(script.name)), flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.name}: {time.perf_counter() - start:.1f} s, exit code {code}")
        if code:
            failed.append(script.name)
    if failed:
        print("benchmarks that did not finish:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
