"""nbgrader's hub-wide configuration for teaching bpcourse to a class on a JupyterHub.

Install it as ``/etc/jupyter/nbgrader_config.py``: every user's server (students' and the
instructor's) and the formgrader service read it. It complements the ``nbgrader_config.py``
at the root of the course repository, which holds the grading settings (timeouts, the
memory-capped and sandboxed kernel, restored cells, hidden tests kept out of feedback) and is
read when the instructor runs nbgrader or ``bpcourse grade`` in the course directory.

``deploy/jupyterhub_config.py`` is its companion; the end-to-end test
(``tests/hub/test_hub.py``) runs exactly these two files. Values an installation changes are
read from the environment (the hub passes them to every server), with the defaults below:

- ``BPCOURSE_EXCHANGE`` (``/srv/nbgrader/exchange``): nbgrader's exchange directory.
  Instructors release into it and collect from it; students fetch from it and submit into it.
  Create it once as root: ``mkdir -p /srv/nbgrader/exchange && chmod 777
  /srv/nbgrader/exchange`` (as nbgrader documents). The instructor's first release creates the
  course's ``outbound`` (readable by all) and ``inbound`` (others may write and enter, not
  list) folders; a submission's folder name carries a random part, so a student cannot find
  another's submission.
- ``BPCOURSE_COURSE_ROOT`` (``/home/instructor/bpcourse``): the instructor's clone of the
  course repository (``solutions/``, ``lessons/``, ``nbgrader_config.py``); ``submitted/``,
  ``autograded/`` and ``feedback/`` appear there as the term goes on. Keep the instructor's
  home folder closed to students (``chmod 700 /home/instructor``).
- ``BPCOURSE_DB_URL`` (SQLite in the course directory): the gradebook. For several graders,
  or graders on several machines, a PostgreSQL URL (see the README's "Several graders").
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader/Jupyter when the file is loaded)

COURSE_ROOT = os.environ.get("BPCOURSE_COURSE_ROOT", "/home/instructor/bpcourse")

# The course id must match the course's own nbgrader_config.py and the hub's course groups
# ("formgrade-bpcourse" for instructors and graders, "nbgrader-bpcourse" for students).
c.CourseDirectory.course_id = "bpcourse"

# Where assignments travel between instructors and students (see above).
c.Exchange.root = os.environ.get("BPCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
# Keep this course's files apart from other courses sharing the exchange.
c.Exchange.path_includes_course = True
# Refuse a submission that lacks a released notebook (e.g. renamed or deleted), so the student
# sees the problem when submitting rather than the instructor when grading. Students may
# submit several times; `nbgrader collect` takes the latest.
c.ExchangeSubmit.strict = True
# Submission times are recorded in UTC (timestamp.txt); due dates are compared in UTC too.
c.Exchange.timezone = "UTC"

# The instructor's course directory, so formgrader and `nbgrader collect` find it from any
# working directory.
c.CourseDirectory.root = COURSE_ROOT

# The gradebook. One instructor: SQLite inside the course directory (nbgrader's default).
# Several graders or graders on several machines: a shared PostgreSQL database, e.g.
#   postgresql+psycopg2://nbgrader:PASSWORD@db.example.edu:5432/bpcourse
c.CourseDirectory.db_url = os.environ.get(
    "BPCOURSE_DB_URL", f"sqlite:///{COURSE_ROOT}/gradebook.db"
)

# Student ids are hub user names. Add the roster once, so that `bpcourse grade` also lists
# students who submitted nothing (and grades no folder of someone not on it): `nbgrader db
# student import roster.csv` (columns id, first_name, last_name, email) or formgrader's
# "Manage Students" page.
