"""JupyterHub configuration for a bpcourse class on one machine.

Run ``jupyterhub -f deploy/jupyterhub_config.py`` as root (it starts each user's server as that
Unix user). With ``deploy/nbgrader_config.py`` installed as ``/etc/jupyter/nbgrader_config.py``
this is the whole class set-up; the end-to-end test (``tests/hub/test_hub.py``) runs these
files unchanged, with the environment variables below pointing at its scratch folders.

Who is who: the machine's own accounts log in with their passwords (PAM). Two Unix groups,
nbgrader's naming for a course, decide the rest:

- ``formgrade-bpcourse``: instructors and graders. They may open formgrader, which runs as a
  hub service (``/services/bpcourse/``) as the first instructor, in the course directory.
- ``nbgrader-bpcourse``: students. They fetch, validate and submit from JupyterLab's
  *Assignments* tab and cannot open the formgrader service.

Environment (defaults in brackets):

- ``BPCOURSE_ENV`` [/opt/bpcourse-class-env]: the course environment every user runs
  (``python3 -m venv`` from the system Python, then ``pip install '<repo>[class]'``). It must be
  readable and executable by every user: a pyenv or conda under a 0700 home is not.
- ``BPCOURSE_HUB_URL`` [http://:8000]: where students connect (put TLS in front of it,
  e.g. ``c.JupyterHub.ssl_cert`` / ``ssl_key`` or a reverse proxy).
- ``BPCOURSE_HUB_STATE`` [/srv/jupyterhub]: the hub's database, cookie secret and proxy pid.
- ``BPCOURSE_CHP`` [configurable-http-proxy]: the proxy from npm
  (``npm install -g configurable-http-proxy@5.3.0``).
- ``BPCOURSE_HUB_PORTS`` [8081,8001,9999]: the hub's API, the proxy's API and the formgrader
  service's local ports.
- ``BPCOURSE_COURSE_ROOT``, ``BPCOURSE_EXCHANGE``, ``BPCOURSE_DB_URL``: passed on to every
  server for ``deploy/nbgrader_config.py`` (and ``JUPYTER_CONFIG_PATH``, if set, to find it
  elsewhere than ``/etc/jupyter``).
- ``BPCOURSE_KERNEL_THREADS`` [1]: threads of the numeric libraries (OpenBLAS, OpenMP, MKL) in
  every user's kernels. Many users share the machine's cores: a kernel that starts as many
  BLAS threads as there are cores makes every threaded product wait for cores that other
  users' kernels hold (``benchmarks/bench_threads.py`` measures it). Raise it only for a class
  with a machine, or a CPU limit, of several cores per user.
- ``BPCOURSE_HUB_DEMO`` [unset]: ``1`` turns this file into a DEMO on one machine (``make hub``),
  see the section "DEMO ONLY" below. Never set it for a real class.
"""

import grp
import os
import shutil
import sys

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

COURSE = "bpcourse"
INSTRUCTORS = f"formgrade-{COURSE}"
STUDENTS = f"nbgrader-{COURSE}"
ENV = os.environ.get("BPCOURSE_ENV", "/opt/bpcourse-class-env")
STATE = os.environ.get("BPCOURSE_HUB_STATE", "/srv/jupyterhub")
HUB_PORT, PROXY_PORT, FORMGRADER_PORT = (
    int(p) for p in os.environ.get("BPCOURSE_HUB_PORTS", "8081,8001,9999").split(",")
)


def _members(group: str) -> list[str]:
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


instructors, students = _members(INSTRUCTORS), _members(STUDENTS)


def _kernel_threads() -> str:
    text = os.environ.get("BPCOURSE_KERNEL_THREADS", "1")
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(
            f"BPCOURSE_KERNEL_THREADS: expected a positive whole number of threads, got {text!r}"
        )
    return str(threads)


KERNEL_THREADS = _kernel_threads()

# --- DEMO ONLY (BPCOURSE_HUB_DEMO=1, `make hub`) -----------------------------------------------
# A class to try out on one machine without Unix accounts: JupyterHub's DummyAuthenticator
# (one shared password, printed) and SimpleLocalProcessSpawner (every server runs as the hub's
# own account, so users are NOT isolated from each other), the environment running the hub,
# and scratch folders under BPCOURSE_HUB_STATE. Everything else below is the real class's set-up.
DEMO = os.environ.get("BPCOURSE_HUB_DEMO") == "1"
if DEMO:
    REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ENV = os.environ.get("BPCOURSE_ENV", sys.prefix)
    STATE = os.path.abspath(os.environ.get("BPCOURSE_HUB_STATE", os.path.join(ENV, "hub-demo")))
    DEMO_PASSWORD = os.environ.get("BPCOURSE_HUB_DEMO_PASSWORD", "bpcourse-demo")
    instructors, students = ["instructor"], ["student1", "student2"]
    _course_root = os.path.join(STATE, "home", instructors[0], COURSE)
    os.environ.setdefault("BPCOURSE_HUB_URL", "http://127.0.0.1:8000")
    os.environ.setdefault("BPCOURSE_COURSE_ROOT", _course_root)
    os.environ.setdefault("BPCOURSE_EXCHANGE", os.path.join(STATE, "exchange"))
    os.environ.setdefault("JUPYTER_CONFIG_PATH", os.path.join(REPO, "deploy"))
    os.makedirs(STATE, mode=0o700, exist_ok=True)
    os.makedirs(os.environ["BPCOURSE_EXCHANGE"], exist_ok=True)
    # The instructor's course directory: a copy of this checkout's course files (once).
    os.makedirs(os.environ["BPCOURSE_COURSE_ROOT"], exist_ok=True)
    for _name in ("solutions", "lessons", "nbgrader_config.py"):
        _src = os.path.join(REPO, _name)
        _dst = os.path.join(os.environ["BPCOURSE_COURSE_ROOT"], _name)
        if not os.path.exists(_dst):
            (shutil.copytree if os.path.isdir(_src) else shutil.copy2)(_src, _dst)
    _banner = "!" * 78
    print(
        f"\n{_banner}\n  DEMO of the bpcourse class hub: NOT FOR A REAL CLASS.\n"
        "  Any of the users below logs in with the shared password; every server runs as\n"
        f"  this machine's account {os.getuid()} (no isolation between users).\n"
        f"  URL:        {os.environ['BPCOURSE_HUB_URL']}\n"
        f"  instructor: {instructors[0]}  (formgrader: /services/{COURSE}/)\n"
        f"  students:   {', '.join(students)}\n"
        f"  password:   {DEMO_PASSWORD}\n"
        f"  scratch:    {STATE}\n{_banner}\n",
        file=sys.stderr,
        flush=True,
    )

# --- The hub and its proxy -------------------------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("BPCOURSE_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_PORT}"
c.ConfigurableHTTPProxy.command = [os.environ.get("BPCOURSE_CHP", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "jupyterhub-proxy.pid")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.db_url = f"sqlite:///{os.path.join(STATE, 'jupyterhub.sqlite')}"

# --- Who may log in --------------------------------------------------------------------------
# The machine's accounts (PAM, JupyterHub's default), limited to the course's two groups.
c.PAMAuthenticator.allowed_groups = {INSTRUCTORS, STUDENTS}
c.Authenticator.admin_users = set(instructors[:1])
# The same groups inside the hub: the formgrader role below is given to the instructors' group.
c.JupyterHub.load_groups = {
    INSTRUCTORS: {"users": instructors},
    STUDENTS: {"users": students},
}

# --- Every user's server: the course environment ---------------------------------------------
c.Spawner.cmd = [os.path.join(ENV, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# JUPYTER_CONFIG_PATH: where nbgrader_config.py is when it is not in /etc/jupyter (the tests).
_passed = ["BPCOURSE_COURSE_ROOT", "BPCOURSE_EXCHANGE", "BPCOURSE_DB_URL", "JUPYTER_CONFIG_PATH"]
# The numeric libraries' threads: every kernel a server starts inherits them (see
# BPCOURSE_KERNEL_THREADS above; graded kernels get their own setting, LimitedKernelManager's
# library_threads, 1 by default).
c.Spawner.environment = {
    "PATH": f"{os.path.join(ENV, 'bin')}:/usr/local/bin:/usr/bin:/bin",
    **{
        name: KERNEL_THREADS
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    },
    **{name: os.environ[name] for name in _passed if name in os.environ},
}

# --- formgrader, as a hub service for the instructors ----------------------------------------
if instructors:
    course_root = os.environ.get("BPCOURSE_COURSE_ROOT", f"/home/{instructors[0]}/{COURSE}")
    c.JupyterHub.services = [
        {
            "name": COURSE,
            "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
            "command": [
                os.path.join(ENV, "bin", "jupyterhub-singleuser"),
                f"--ServerApp.root_dir={course_root}",
            ],
            "user": instructors[0],
            "cwd": course_root,
            "environment": {
                "JUPYTERHUB_DEFAULT_URL": "/formgrader",
                **c.Spawner.environment,
            },
            "oauth_no_confirm": True,
        }
    ]
    if DEMO:  # no Unix account "instructor": formgrader runs as the hub's own account
        del c.JupyterHub.services[0]["user"]
    c.JupyterHub.load_roles = [
        {
            "name": f"formgrade-{COURSE}",
            "groups": [INSTRUCTORS],
            "scopes": [f"access:services!service={COURSE}"],
        }
    ]

# --- DEMO ONLY (continued): who logs in and how servers start ---------------------------------
if DEMO:
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = DEMO_PASSWORD
    c.Authenticator.allowed_users = set(instructors + students)
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(STATE, "home", "{username}")
    if os.getuid() == 0:  # Jupyter servers refuse to run as root unless told it is deliberate
        c.Spawner.args = ["--allow-root"]
        if instructors:
            c.JupyterHub.services[0]["command"].append("--allow-root")
