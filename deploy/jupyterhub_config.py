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
"""

import grp
import os

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
c.Spawner.environment = {
    "PATH": f"{os.path.join(ENV, 'bin')}:/usr/local/bin:/usr/bin:/bin",
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
    c.JupyterHub.load_roles = [
        {
            "name": f"formgrade-{COURSE}",
            "groups": [INSTRUCTORS],
            "scopes": [f"access:services!service={COURSE}"],
        }
    ]
