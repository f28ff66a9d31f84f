"""Project-level invariants: dependency lists in step, import layering, no side effects."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "bpcourse"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    listed = {}
    in_pip = False
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = line.split("#")[0].rstrip()
        if re.match(r"^\s+- pip:\s*$", item):
            in_pip = True
            continue
        m = re.match(r"^\s+- (\S+)$", item)
        if m and not in_pip:
            listed[_name(m.group(1))] = m.group(1)
    listed.pop("python", None)
    listed.pop("pip", None)
    assert listed == wanted, "environment.yml and pyproject.toml list different packages"
    assert "-e .[dev]" in (ROOT / "environment.yml").read_text()


def test_python_requirement() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"


# Modules may import only from the layers below them (COURSE architecture).
ALLOWED = {
    "_validate": set(),
    "engine": {"_validate"},
    "nn": {"_validate"},
    "gradcheck": {"_validate", "nn"},
    "symbolic": {"_validate", "nn", "engine"},
    "optim": {"_validate"},
    "data": {"_validate"},
    "dynamics": {"_validate", "nn", "optim", "data", "gradcheck"},
    "plots": {"_validate", "engine", "nn", "gradcheck", "dynamics", "symbolic", "data"},
    "widgets": {"_validate", "dynamics", "plots", "data"},
    "grading": set(),
    "cli": {"autograde"},  # an alias of bpcourse.autograde.cli
}

# The autograding subpackage, module by module (names relative to bpcourse.autograde). It may
# use no other part of bpcourse: the grading kernel imports the course, never the reverse.
AUTOGRADE = PKG / "autograde"
AUTOGRADE_ALLOWED = {
    "markers": set(),
    "cellnames": set(),
    "kernel_launcher": set(),
    "sandbox": set(),
    "kernelmanager": {"sandbox"},
    "preprocessors": {
        "preprocessors.resilientexecute",
        "preprocessors.restorecells",
        "preprocessors.shortenhiddentracebacks",
    },
    "preprocessors.resilientexecute": {"cellnames", "markers"},
    "preprocessors.restorecells": set(),
    "preprocessors.shortenhiddentracebacks": set(),
    "classroom": {"markers", "sandbox", "kernelmanager"},
    "cli": {"classroom"},
}


def _bpcourse_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("bpcourse."):
                found.add(node.module.split(".")[1])
            elif node.module == "bpcourse":
                found.update(a.name for a in node.names)
            elif node.level == 1:
                found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("bpcourse."):
                    found.add(a.name.split(".")[1])
    return found


@pytest.mark.parametrize("module", sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__"))
def test_import_layering(module: str) -> None:
    assert module in ALLOWED, f"new module {module}: add it to the layering table"
    imported = _bpcourse_imports(PKG / f"{module}.py") - {module}
    upward = imported - ALLOWED[module]
    assert not upward, f"bpcourse.{module} imports {sorted(upward)} (upward or sideways)"


def _autograde_modules() -> list[str]:
    modules = []
    for path in sorted(AUTOGRADE.rglob("*.py")):
        parts = path.relative_to(AUTOGRADE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def _autograde_path(module: str) -> Path:
    path = AUTOGRADE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _bpcourse_modules_imported(path: Path) -> set[str]:
    """Every ``bpcourse.X.Y`` a module imports, as ``X.Y`` (``from bpcourse.X import Y`` too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bpcourse"):
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found.update(n.split(".", 1)[1] for n in names if n.startswith("bpcourse."))
    return found


@pytest.mark.parametrize("module", _autograde_modules())
def test_autograde_import_layering(module: str) -> None:
    assert module in AUTOGRADE_ALLOWED, f"new module autograde.{module}: add it to the table"
    imported = _bpcourse_modules_imported(_autograde_path(module))
    own = {n.removeprefix("autograde.") for n in imported if n.startswith("autograde.")}
    outside = {n for n in imported if not n.startswith("autograde")}
    assert not outside, f"bpcourse.autograde.{module} imports {sorted(outside)} from the course"
    known = set(AUTOGRADE_ALLOWED)
    modules = {n for n in own if n in known}  # drop class names of "from X import Class"
    upward = modules - AUTOGRADE_ALLOWED[module] - {module}
    assert not upward, f"bpcourse.autograde.{module} imports {sorted(upward)} (upward or sideways)"
    assert "__all__" in _autograde_path(module).read_text(), f"autograde.{module}: no __all__"


def test_import_has_no_side_effects() -> None:
    code = (
        "import matplotlib, numpy as np\n"
        "before = dict(matplotlib.rcParams); state = np.random.get_state()[1].copy()\n"
        "import bpcourse, bpcourse.engine, bpcourse.nn, bpcourse.gradcheck, bpcourse.symbolic\n"
        "import bpcourse.optim, bpcourse.data, bpcourse.dynamics, bpcourse.plots\n"
        "import bpcourse.widgets, bpcourse.grading\n"
        "assert dict(matplotlib.rcParams) == before, 'rcParams changed on import'\n"
        "assert (np.random.get_state()[1] == state).all(), 'global numpy seed changed'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("module", sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__"))
def test_public_modules_declare_all(module: str) -> None:
    tree = ast.parse((PKG / f"{module}.py").read_text())
    names = [
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    ]
    assert "__all__" in names, f"bpcourse.{module} has no __all__"


def test_makefile_targets_match_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"^\s*make (\w+)", readme, re.M):
        assert re.search(rf"^{target}:", makefile, re.M), f"README uses make {target}"
    assert "make course" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_project_does_not_reach_outside() -> None:
    """Nothing in the project reads design notes kept outside the repository."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ""} and path.is_file():
            text = path.read_text(errors="ignore")
            outside = ".." + "/shared"
            assert outside not in text, f"{name} refers to {outside}"
