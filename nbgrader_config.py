"""nbgrader configuration of the bpcourse course (read by every nbgrader command run here).

The instructor's notebooks (with solutions and hidden tests) live in ``solutions/``; the
student versions that ``nbgrader generate_assignment`` writes go to ``lessons/``, which is
committed so that self-paced learners can open them straight after cloning.
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "bpcourse"
# Sources: solutions/<NN_topic>/<NN_topic>.ipynb. Releases: lessons/<NN_topic>/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"

# Generating lessons/ must not depend on a database or on who runs it.
c.GenerateAssignment.create_assignment = True
# Student versions carry no outputs: a learner runs the notebook themselves.
c.ClearOutput.enabled = True

# Autograding a submission: a cell of the course finishes in well under 10 s on a laptop
# (the slowest compute a short training run); 60 s leaves room for a slow machine while a
# submission with an endless loop costs a bounded time per hanging cell.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# A student who deletes a test cell (or strips its metadata) must not lose the points
# silently: the original test cell is put back from the gradebook.
c.OverwriteCells.add_missing_cells = True

# Output of a submission is capped so that a print loop cannot bloat the autograded copy.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# Feedback shows the tests a student could see, never the hidden ones.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
