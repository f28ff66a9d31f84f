"""The deployment files of ``deploy/`` load, and say what a class on a hub needs (no hub is
started here: ``test_hub.py`` does that as root)."""

from __future__ import annotations

import grp
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _load(name: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader(name, path=str(DEPLOY)).load_config()


def test_hub_wide_nbgrader_config(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _load("nbgrader_config.py", monkeypatch)
    assert c.CourseDirectory.course_id == "bpcourse"
    assert c.Exchange.root == "/srv/nbgrader/exchange" and c.Exchange.path_includes_course
    assert c.CourseDirectory.db_url == "sqlite:////home/instructor/bpcourse/gradebook.db"
    c = _load(
        "nbgrader_config.py", monkeypatch, BPCOURSE_EXCHANGE="/x/ex",
        BPCOURSE_COURSE_ROOT="/x/course", BPCOURSE_DB_URL="postgresql+psycopg2://u@/b",
    )  # fmt: skip
    assert (c.Exchange.root, c.CourseDirectory.root) == ("/x/ex", "/x/course")
    assert c.CourseDirectory.db_url == "postgresql+psycopg2://u@/b"


def test_jupyterhub_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        grp, "getgrnam",
        lambda g: {"formgrade-bpcourse": grp.struct_group(("f", "x", 1, ["teach"])),
                   "nbgrader-bpcourse": grp.struct_group(("n", "x", 2, ["s1", "s2"]))}[g],
    )  # fmt: skip
    c = _load("jupyterhub_config.py", monkeypatch, BPCOURSE_ENV="/opt/env")
    assert c.Spawner.cmd == ["/opt/env/bin/jupyterhub-singleuser"]
    assert c.PAMAuthenticator.allowed_groups == {"formgrade-bpcourse", "nbgrader-bpcourse"}
    assert c.JupyterHub.load_groups["nbgrader-bpcourse"]["users"] == ["s1", "s2"]
    (service,) = c.JupyterHub.services
    assert service["name"] == "bpcourse" and service["user"] == "teach"
    assert service["cwd"] == "/home/teach/bpcourse"
    (role,) = c.JupyterHub.load_roles
    assert role["groups"] == ["formgrade-bpcourse"]
    assert role["scopes"] == ["access:services!service=bpcourse"]


_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.mark.parametrize(("given", "threads"), [(None, "1"), ("4", "4"), (" 2 ", "2")])
def test_every_users_kernels_get_the_class_thread_count(
    monkeypatch: pytest.MonkeyPatch, given: str | None, threads: str
) -> None:
    """Users share the cores: their servers, hence their kernels, run the numeric libraries
    with BPCOURSE_KERNEL_THREADS threads (1 unless set), the formgrader service too."""
    monkeypatch.setattr(grp, "getgrnam", lambda g: grp.struct_group(("g", "x", 1, ["u"])))
    monkeypatch.delenv("BPCOURSE_KERNEL_THREADS", raising=False)
    env = {} if given is None else {"BPCOURSE_KERNEL_THREADS": given}
    c = _load("jupyterhub_config.py", monkeypatch, **env)
    for name in _THREAD_VARIABLES:
        assert c.Spawner.environment[name] == threads, name
        assert c.JupyterHub.services[0]["environment"][name] == threads, name


@pytest.mark.parametrize("given", ["0", "-2", "two", "1.5", ""])
def test_a_bad_thread_count_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setattr(grp, "getgrnam", lambda g: grp.struct_group(("g", "x", 1, ["u"])))
    with pytest.raises(ValueError, match=r"BPCOURSE_KERNEL_THREADS: expected a positive whole"):
        _load("jupyterhub_config.py", monkeypatch, BPCOURSE_KERNEL_THREADS=given)
