"""The README's examples print exactly what the README says they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _examples() -> list[tuple[str, str]]:
    text = README.read_text()
    taste = text.split("<!-- BEGIN TASTE -->")[1].split("<!-- END TASTE -->")[0]
    pairs = re.findall(r"```python\n(.*?)```\n```\n(.*?)```", taste, re.S)
    assert len(pairs) >= 3
    return pairs


def test_readme_examples_print_what_they_claim() -> None:
    namespace: dict = {}
    for code, expected in _examples():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(code, "README.md", "exec"), namespace)
            except Exception as exc:
                print(f"{type(exc).__name__}: {exc}")
        assert out.getvalue() == expected, f"README example:\n{code}"
