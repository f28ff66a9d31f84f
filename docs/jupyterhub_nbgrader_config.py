"""Example nbgrader configuration for teaching bpcourse to a class on a JupyterHub.

Copy this file to ``/etc/jupyter/nbgrader_config.py`` on the hub (every user's server reads it)
and adjust the marked values. It complements, and does not replace, the ``nbgrader_config.py``
at the root of the course repository: that one holds the grading settings (timeouts, the
memory-capped kernel, restored cells, hidden tests kept out of feedback) and is read when the
instructor runs nbgrader or ``bpcourse grade`` from the course directory.

Layout on the hub (one machine or a shared file system):

- ``/srv/nbgrader/exchange``: nbgrader's exchange directory. Instructors release into it and
  collect from it; students fetch from it and submit into it. Create it once as root:
  ``mkdir -p /srv/nbgrader/exchange && chmod 777 /srv/nbgrader/exchange``.
- ``/home/instructor/bpcourse``: a clone of the course repository owned by the instructor
  (``solutions/``, ``lessons/``, ``nbgrader_config.py``); ``submitted/``, ``autograded/`` and
  ``feedback/`` appear there as the term goes on.
- the gradebook: SQLite in the course directory for one instructor; for several graders (or
  formgrader running as a hub service) a PostgreSQL database that everyone's nbgrader reaches
  (``pip install psycopg2-binary`` in the course environment).

Students need only the course environment (``pip install -e .`` of the repository, which
brings nbgrader and its JupyterLab extension) and this file; they fetch and submit with the
*Assignments* tab of JupyterLab or ``nbgrader fetch_assignment`` / ``nbgrader submit``.
"""

c = get_config()  # noqa: F821  (provided by nbgrader/Jupyter when the file is loaded)

# The course id must match the course's own nbgrader_config.py and, on a hub with
# nbgrader's hub integration, the course's group name ("formgrade-bpcourse", "nbgrader-bpcourse").
c.CourseDirectory.course_id = "bpcourse"

# Where assignments travel between instructors and students (see the layout above).
c.Exchange.root = "/srv/nbgrader/exchange"
# Keep this course's files apart from other courses sharing the exchange.
c.Exchange.path_includes_course = True
# Refuse a submission that lacks a released notebook (e.g. renamed or deleted), so the student
# sees the problem when submitting rather than the instructor when grading. Students may
# submit several times; `nbgrader collect` takes the latest.
c.ExchangeSubmit.strict = True
# Submission times are recorded in UTC (timestamp.txt); due dates are compared in UTC too.
c.Exchange.timezone = "UTC"

# The instructor's course directory, so formgrader and `nbgrader collect` find it from any
# working directory. [adjust]
c.CourseDirectory.root = "/home/instructor/bpcourse"

# The gradebook. One instructor: SQLite inside the course directory (nbgrader's default).
# Several graders or a formgrader hub service: a shared database, e.g.
#   c.CourseDirectory.db_url = "postgresql://nbgrader:PASSWORD@db.example.edu:5432/bpcourse"
c.CourseDirectory.db_url = "sqlite:////home/instructor/bpcourse/gradebook.db"  # [adjust]

# Student ids are hub user names. Add the roster once, so that `bpcourse grade` also lists
# students who submitted nothing (and grades no folder of someone not on it): `nbgrader db
# student import roster.csv` (columns id, first_name, last_name, email) or formgrader's
# "Manage Students" page.
