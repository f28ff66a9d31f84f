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


# The layers of the package, bottom to top. A unit is a top-level module or a subpackage; each
# entry lists exactly the units it imports (a unit not listed is an upward or sideways import,
# a listed unit it no longer imports is a stale entry: both fail, so the table is the code).
ALLOWED: dict[str, set[str]] = {
    "_validate": set(),
    "engine": {"_validate"},
    "nn": {"_validate"},
    "gradcheck": {"_validate", "nn"},
    "symbolic": {"_validate", "nn", "gradcheck"},
    "optim": {"_validate"},
    "data": {"_validate"},
    "dynamics": {"_validate", "nn", "gradcheck", "optim", "data", "symbolic"},
    "plots": {"_validate", "engine", "dynamics"},
    "widgets": {"_validate", "nn", "optim", "data", "dynamics", "plots"},
    "grading": set(),
    "autograde": set(),  # module by module in AUTOGRADE_ALLOWED below
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
    "report": {"classroom"},
    "cli": {"classroom", "report"},
}

# Inside a subpackage: the sibling modules each module imports (its face, ``__init__``, may
# import them all). Private helpers (``_checks``, ``_common``) are the bottom of each.
SUBMODULES: dict[str, dict[str, set[str]]] = {
    "nn": {
        "_checks": set(),
        "activations": {"_checks"},
        "init": {"_checks"},
        "losses": {"_checks"},
        "mlp": {"_checks", "activations", "init", "losses"},
        "conv": {"_checks"},
        "rnn": {"_checks", "init", "losses"},
        "pool": set(),
        "embedding": set(),
    },
    "symbolic": {
        "_checks": set(),
        "functions": {"_checks"},
        "numeric": {"_checks"},
        "chain_rule": {"_checks", "functions", "numeric"},
        "reverse_mode": {"_checks", "functions", "numeric"},
        "mlp": {"_checks", "chain_rule", "functions", "numeric", "reverse_mode"},
    },
    "dynamics": {
        "_checks": set(),
        "learning_rate": set(),
        "training": {"_checks"},
        "gradient_flow": {"_checks", "training"},
        "rnn": {"_checks", "training"},
        "cost": {"_checks"},
        "symbolic_cost": set(),
        "digits": set(),
        "names": set(),
    },
    "plots": {
        "_common": set(),
        "derivatives": set(),
        "graph": set(),
        "training": {"_common"},
        "landscapes": {"_common"},
        "gradient_norms": {"_common"},
        "cost": set(),
        "vision": set(),
    },
}


def _units() -> list[str]:
    """The top-level modules and subpackages of bpcourse."""
    modules = [p.stem for p in PKG.glob("*.py") if p.stem != "__init__"]
    packages = [p.parent.name for p in PKG.glob("*/__init__.py")]
    return sorted(modules + packages)


def _unit_files(unit: str) -> list[Path]:
    if (PKG / unit).is_dir():
        return sorted((PKG / unit).rglob("*.py"))
    return [PKG / f"{unit}.py"]


def _bpcourse_imports(path: Path) -> set[tuple[str, ...]]:
    """(unit,) or (unit, module) for every import of bpcourse in a file, lazy ones included."""
    tree = ast.parse(path.read_text())
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: use absolute imports (bpcourse.…)"
            if node.module.startswith("bpcourse."):
                found.add(tuple(node.module.split(".")[1:3]))
            elif node.module == "bpcourse":
                found.update((a.name,) for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("bpcourse."):
                    found.add(tuple(a.name.split(".")[1:3]))
    return found


@pytest.mark.parametrize("unit", _units())
def test_import_layering(unit: str) -> None:
    assert unit in ALLOWED, f"new unit {unit}: add it to the layering table"
    imported = {found[0] for path in _unit_files(unit) for found in _bpcourse_imports(path)} - {
        unit
    }
    upward = imported - ALLOWED[unit]
    assert not upward, f"bpcourse.{unit} imports {sorted(upward)} (upward or sideways)"
    stale = ALLOWED[unit] - imported
    assert not stale, f"bpcourse.{unit} no longer imports {sorted(stale)}: remove them"


def test_layering_table_names_existing_units() -> None:
    assert set(ALLOWED) == set(_units())
    assert set(SUBMODULES) | {"autograde"} == {u for u in _units() if (PKG / u).is_dir()}


@pytest.mark.parametrize("unit", sorted(SUBMODULES))
def test_layering_inside_subpackages(unit: str) -> None:
    table = SUBMODULES[unit]
    modules = {p.stem for p in (PKG / unit).glob("*.py") if p.stem != "__init__"}
    assert modules == set(table), f"bpcourse.{unit}: the table lists {sorted(table)}"
    for module in sorted(modules):
        imported = {
            found[1]
            for found in _bpcourse_imports(PKG / unit / f"{module}.py")
            if found[0] == unit and len(found) == 2
        }
        assert imported == table[module], (
            f"bpcourse.{unit}.{module} imports {sorted(imported)}, "
            f"the table allows {sorted(table[module])}"
        )


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


@pytest.mark.parametrize("unit", _units())
def test_public_modules_declare_all(unit: str) -> None:
    path = PKG / unit / "__init__.py" if (PKG / unit).is_dir() else PKG / f"{unit}.py"
    tree = ast.parse(path.read_text())
    names = [
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    ]
    assert "__all__" in names, f"bpcourse.{unit} has no __all__"


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
