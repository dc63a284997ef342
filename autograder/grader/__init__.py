"""The grader side of the kit: never bundled to students, never importable in a kernel.

The foundation, read by every stage:

``course``      where a course lives and how nbgrader is configured for it
``replay``      an assignment's test cells, their rebuilt checks, hidden lines, judged files
``sandbox``     bubblewrap, limits, seccomp and safe folder walks for student code
``references``  implementations the judge compares student work with (answers to
                exercises live only here) and the mistakes they diagnose; installed
                by ``references.install()``, never on import

The stages, in the order they run; a stage imports the foundation and the stages before
it, never one after it (tests/test_layout.py):

``release``     source/ -> assignments/, the leak check, the student bundle
``collect``     submissions -> submitted/<student>/<assignment>/
``run``         each submission's notebook executed in the sandbox by warm workers
``judge``       the trusted verdicts, in a process that runs no student code
``record``      the gradebook, the batch journal, reading verdicts back
``report``      summary, feedback pages, dashboard, exports

What drives them: ``grade`` (a batch: run -> judge -> record), ``sample`` (the sample
class), ``calibrate``, ``doctor``, ``serve`` (the feedback-on-submission web service: a
queue in front of ``grade``), ``commands`` (what each command does; the demo runs
them in order) and ``cli`` (the ``autograder`` command line).
"""
