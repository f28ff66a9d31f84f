"""nbgrader configuration of the bpcourse course (read by every nbgrader command run here).

The instructor's notebooks (with solutions and hidden tests) live in ``solutions/``; the
student versions that ``nbgrader generate_assignment`` writes go to ``lessons/``, which is
committed so that self-paced learners can open them straight after cloning.

Autograding is set up for submissions that may be faulty or hostile: every setting below says
which failure it guards against. The classes named ``bpcourse.autograde.*`` are documented
in their modules; ``bpcourse grade ASSIGNMENT`` (see the README) runs the whole batch on top.
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

# --- Executing a submission ------------------------------------------------------------------
# Per-cell timeout. The slowest cell of any lesson (a short training run in lesson 06, or the
# imports of a setup cell) takes under 4 s on a 2-core machine under load
# (benchmarks/bench_grading.py --per-lesson prints it); 30 s leaves a wide margin for a slow
# machine, while an endless loop costs at most 30 s per hanging cell and student.
c.Execute.timeout = 30
# At the timeout the kernel is interrupted (KeyboardInterrupt) and grading goes on with the
# next cell, so an endless loop fails only its own exercise.
c.Execute.interrupt_on_timeout = True
# After a cell's reply, its remaining output (e.g. a loop that printed a million lines) gets
# this long to arrive; a kernel still busy this long after the timeout's interrupt counts as
# unresponsive (it is then restarted, see ResilientExecute below).
c.Execute.iopub_timeout = 5
# Tracebacks in plain mode: IPython's default (context) mode spends seconds formatting the
# 3000 frames of an endless recursion, which would push such a cell past the timeout. Kernel
# log messages below ERROR (a start-up notice per kernel) stay out of the grader's terminal.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Plain", "--IPKernelApp.log_level=ERROR"]
# After the last cell the kernel is stopped at once (SIGKILL to its process group; a sandboxed
# kernel's whole sandbox goes with it) instead of being asked to shut down: a graded kernel has
# nothing left to save, and the orderly exit of a lesson's kernel (Python tearing down sympy,
# matplotlib and the rest) took 0.3-0.5 s of every submission's grading, against about 0.02 s.
c.Execute.shutdown_kernel = "immediate"
# Every grading kernel is started through bpcourse.autograde.kernel_launcher under resource
# limits: a memory bomb raises MemoryError (or kills only that student's kernel) instead of
# driving the grading machine out of memory; standard input is /dev/null, so neither input()
# (no stdin channel either) nor sys.stdin.read() waits for a keyboard.
c.Execute.kernel_manager_class = "bpcourse.autograde.kernelmanager.LimitedKernelManager"
# Every grading kernel runs in the grading sandbox (bpcourse/autograde/sandbox.py): its own
# mount, PID and network namespaces, as the user nobody, seeing only the system's software, the
# Python environment and the bpcourse package (read-only) and a 64 MiB in-memory copy of its own
# notebook's folder. Solutions, hidden tests, the gradebook, this file, other students' work and
# home directories are not there; there is no network; every process the notebook started ends
# with its kernel. "auto" uses it wherever bubblewrap (or util-linux unshare) can build it and
# warns otherwise, so a learner's Validate button works on any machine; `bpcourse grade` always
# requires it and refuses to grade without it unless given --unsandboxed.
c.LimitedKernelManager.sandbox = "auto"
c.LimitedKernelManager.workdir_size_mb = 64
# A lesson kernel, with the thread cap below, peaks near 0.5 GiB of address space (0.2 GiB
# resident) in every lesson; 3 GiB leaves room for clumsy but honest answers and stops a
# runaway allocation long before it threatens the grading machine.
c.LimitedKernelManager.memory_limit_mb = 3072
# No lesson writes files; a loop writing a file without end stops at 256 MiB.
c.LimitedKernelManager.file_size_limit_mb = 256
# Numeric libraries get 1 thread per kernel: a class is graded several kernels at a time
# (`--jobs`), so parallel kernels already fill the cores, and threads beyond the cores wait on
# each other (two such trainings of lesson 07's character model at once on 2 cores took
# 4.5-5.2 s each with 2 threads per process, 0.9 s with 1).
# On a many-core grader, per-thread buffers would also reserve more address space than the
# cap above allows.
c.LimitedKernelManager.library_threads = 1

# nbgrader's autograde pipeline with two steps replaced (bpcourse.autograde.preprocessors):
# - RestoreCells puts back deleted test cells (the option below), deleted read-only cells, and
#   the flags of test cells whose metadata was edited;
# - ResilientExecute keeps grading when a cell kills the kernel (os._exit, the memory cap) or
#   ignores the timeout's interrupt: that cell fails, the kernel restarts, the cells above are
#   re-run, grading goes on. Before each test cell it checks that the names the test uses (G,
#   np, ...) were not rebound and that a failing assert is still reported as a failure.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",  # a duplicated test cell counts once
    "nbgrader.preprocessors.OverwriteKernelspec",  # an unknown kernel name is replaced
    "bpcourse.autograde.preprocessors.RestoreCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "bpcourse.autograde.preprocessors.ResilientExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A student who deletes a test cell (or strips its metadata) must not lose the points
# silently: the original test cell is put back from the gradebook.
c.OverwriteCells.add_missing_cells = True
# A kernel that dies or hangs more often than this in one notebook fails the submission.
c.ResilientExecute.max_kernel_restarts = 3

# Output of a submission is capped so that a print loop cannot bloat the autograded copy or
# the feedback: 200 lines per cell, tracebacks cut to 40 lines.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# --- Late submissions --------------------------------------------------------------------------
# With a due date set on the assignment (`nbgrader db assignment add ID --duedate=...`), the
# lateness of each submission (from its timestamp.txt) is recorded in the gradebook and
# reported by `bpcourse grade`. No points are taken by default; set "zero" to give late work
# zero points (the penalty is then recorded per notebook).
c.LateSubmissionPlugin.penalty_method = "none"

# --- Feedback --------------------------------------------------------------------------------
# Feedback shows the tests a student could see, never the hidden ones. ClearHiddenTests removes
# the hidden lines from the source, but a failing hidden assert would still quote its line in
# the traceback; ShortenHiddenTracebacks (which must come first) keeps only the message, and
# drops whatever else such a cell printed. ClearHiddenTestCells is nbgrader's ClearHiddenTests
# for test cells only: nbgrader's own fails the whole feedback of a student whose answer
# contains the text of the hidden-test markers.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "bpcourse.autograde.preprocessors.ShortenHiddenTracebacks",
    "bpcourse.autograde.preprocessors.ClearHiddenTestCells",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
