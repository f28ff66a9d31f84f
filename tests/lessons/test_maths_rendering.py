"""Every formula in the lessons typesets without error in MathJax 3, the engine JupyterLab uses.

JupyterLab shows a formula MathJax cannot parse as raw red source text, and nothing else
complains: a ``\\text{n_in}`` (``_`` is only allowed in maths mode) once turned the central
equations of lesson 03 into red TeX. This test takes the markdown cells of every notebook in
``solutions/``, cuts out their maths the way JupyterLab does before it renders markdown, and
typesets each formula with MathJax 3 under node (``tests/lessons/mathjax/render_tex.js``), without
MathJax's "noerrors"/"noundefined" fallbacks, so a parse error or an unknown macro fails here.

MathJax is installed from npm (version pinned in ``tests/lessons/mathjax/package-lock.json``) into
``.venv/mathjax`` (or ``$BPCOURSE_MATHJAX_DIR``) on first use; ``make test`` does it beforehand.
Needs node and npm; the test is skipped, saying so, when they are missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "mathjax"
NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
NODE = shutil.which("node")
NPM = shutil.which("npm")

# The tokens JupyterLab's `removeMath` splits markdown on: $$ and $, \begin{..}/\end{..}, escaped
# braces and dollars, braces, runs of newlines (a blank line ends an unclosed formula), and
# \\( \\) \\[ \\] (written doubled in markdown).
_SPLIT = re.compile(
    r"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|\\\\(?:\(|\)|\[|\]))",
    re.IGNORECASE,
)
# Fenced code blocks and inline code spans hold no maths: like JupyterLab, hide their dollars
# (a code span inside a formula stays part of the formula).
_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[`~]*[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(^|[^\\])(`+)([^\n]*?[^`\n])\2(?!`)", re.MULTILINE)
_HIDDEN_DOLLAR = "\x00"


def extract_maths(markdown: str) -> list[tuple[str, bool]]:
    """The formulas of one markdown cell as (TeX, display?) pairs, found as JupyterLab finds them.

    Follows the delimiter matching of JupyterLab's `removeMath`: a formula opened by ``$``,
    ``$$``, ``\\\\(``, ``\\\\[`` or ``\\begin{env}`` ends at its matching closer outside braces;
    a blank line before the closer means it was not maths at all.
    """

    def hide(m: re.Match[str]) -> str:
        return m.group(0).replace("$", _HIDDEN_DOLLAR)

    text = _FENCE.sub(hide, markdown.replace("\r\n", "\n"))
    text = _CODE_SPAN.sub(hide, text)
    blocks = _SPLIT.split(text)
    found: list[tuple[str, bool]] = []
    start: int | None = None
    end = ""
    last: int | None = None
    braces = 0

    def take(i: int, j: int) -> None:
        formula = "".join(blocks[i : j + 1]).replace(_HIDDEN_DOLLAR, "$")
        found.append(_strip_delimiters(formula))

    i = 1
    while i < len(blocks):
        block = blocks[i]
        if start is not None:
            if block == end:
                if braces:
                    last = i
                else:
                    take(start, i)
                    start, last = None, None
            elif re.search(r"\n.*\n", block):
                if last is not None:
                    take(start, last)
                start, last, braces = None, None, 0
            elif block == "{":
                braces += 1
            elif block == "}" and braces:
                braces -= 1
        elif block in ("$", "$$"):
            start, end, braces = i, block, 0
        elif block in ("\\\\(", "\\\\["):
            start, end, braces = i, "\\\\)" if block.endswith("(") else "\\\\]", 0
        elif block[1:6] == "begin":
            start, end, braces = i, "\\end" + block[6:], 0
        i += 2
    if start is not None and last is not None:
        take(start, last)
    return found


def _strip_delimiters(formula: str) -> tuple[str, bool]:
    for opener, closer, display in (
        ("$$", "$$", True),
        ("\\\\[", "\\\\]", True),
        ("\\\\(", "\\\\)", False),
        ("$", "$", False),
    ):
        if (
            formula.startswith(opener)
            and formula.endswith(closer)
            and len(formula) >= 2 * len(opener)
        ):
            return formula[len(opener) : len(formula) - len(closer)], display
    return formula, True  # \begin{env} ... \end{env}: MathJax typesets the environment itself


def test_extract_maths_finds_what_jupyterlab_finds() -> None:
    md = (
        "Cost $a_1$ and $$\\frac{x}{y}$$ but `$not$` and\n```\n$no$\n```\n"
        "costs $5.\n\nThen \\begin{align}x&=1\\end{align} {$\\{b\\}$}"
    )
    assert extract_maths(md) == [
        ("a_1", False),
        ("\\frac{x}{y}", True),
        ("\\begin{align}x&=1\\end{align}", True),
        ("\\{b\\}", False),
    ]


@pytest.fixture(scope="module")
def mathjax_dir() -> Path:
    """A node_modules with the pinned MathJax, installed once with `npm ci`."""
    if NODE is None or NPM is None:
        pytest.skip("node and npm are needed to typeset the lessons' maths with MathJax")
    target = Path(os.environ.get("BPCOURSE_MATHJAX_DIR", ROOT / ".venv" / "mathjax"))
    lock = (HERE / "package-lock.json").read_text()
    installed = target / "package-lock.json"
    if (
        installed.is_file()
        and installed.read_text() == lock
        and (target / "node_modules" / "mathjax-full").is_dir()
    ):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, target / name)
    subprocess.run(
        [NPM, "ci", "--no-audit", "--no-fund", "--silent"], cwd=target, check=True, timeout=600
    )
    return target


def _typeset(mathjax_dir: Path, items: list[dict[str, object]]) -> list[dict[str, str]]:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(HERE / "render_tex.js")],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_PATH": str(mathjax_dir / "node_modules")},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    failures: list[dict[str, str]] = json.loads(proc.stdout)
    return failures


def test_the_checker_catches_what_jupyterlab_shows_in_red(mathjax_dir: Path) -> None:
    bad = [
        {"key": "underscore in text", "tex": "\\text{(n_in, N)}", "display": True},
        {"key": "unknown macro", "tex": "\\gradient f", "display": False},
        {"key": "open brace", "tex": "x^{2", "display": False},
    ]
    good = [{"key": "fine", "tex": "\\text{(n\\_in, N)} \\odot f'(Z)", "display": True}]
    failures = _typeset(mathjax_dir, bad + good)
    assert [f["key"] for f in failures] == [b["key"] for b in bad]
    assert "math mode" in failures[0]["error"]


def _formulas(path: Path) -> list[dict[str, object]]:
    nb = nbformat.read(path, as_version=4)
    items: list[dict[str, object]] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for tex, display in extract_maths(cell.source):
            key = f"{path.parent.name} cell {index}: {tex}"
            items.append({"key": key, "tex": tex, "display": display})
    return items


@pytest.fixture(scope="module")
def typeset_notebooks(mathjax_dir: Path) -> dict[str, tuple[int, list[dict[str, str]]]]:
    """Every formula of every notebook typeset in one node run: name -> (formulas, failures)."""
    items = {path.parent.name: _formulas(path) for path in NOTEBOOKS}
    failures = _typeset(mathjax_dir, [item for group in items.values() for item in group])
    return {
        name: (len(group), [f for f in failures if f["key"].startswith(f"{name} cell ")])
        for name, group in items.items()
    }


@pytest.mark.parametrize("name", [p.parent.name for p in NOTEBOOKS])
def test_every_formula_typesets(
    name: str, typeset_notebooks: dict[str, tuple[int, list[dict[str, str]]]]
) -> None:
    count, failures = typeset_notebooks[name]
    assert count > 20, f"{name}: only {count} formulas found, the extractor is broken"
    report = "\n".join(f"  {f['key']!r}\n    -> {f['error']}" for f in failures)
    assert not failures, f"{name}: {len(failures)} formula(s) MathJax cannot typeset:\n{report}"
