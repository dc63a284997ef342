"""Feedback on submission: ``autograder serve``, one more front door to the same stages.

A student submits a notebook over HTTP; the service stores it, queues it in a database
and grades it through the same pipeline as ``autograder grade`` (collect into the course,
sandboxed kernel, trusted judge, gradebook), then serves its feedback page to that
student alone. The service is privileged (it holds the gradebook and the tokens): it
never loads, imports or runs an upload; it stores bytes, checks that they are a notebook
of the assignment, and hands them to the pipeline, which runs them in the sandbox.

Modules, one job each:

database     the service's tables: ``serve/service.db`` (SQLite), or beside the gradebook in
             PostgreSQL for several processes; schema, connections, owner keys
records      the typed records that cross from the queue to the web routes (Submission)
tokens       per-student and instructor tokens, stored hashed; issue, revoke, tokens.csv
submissions  the durable queue: a row per accepted submission, its states, exactly-once claims
uploads      what an upload must be (size, JSON notebook of the assignment, hand-in files);
             stores it under a name the server chooses
policy       deadline, late policy, rate limit, which results a student sees, which counts
visibility   the results a student may see before the deadline (no oracle for hidden checks)
grading      the loop that takes queued submissions and grades them through grade.grade
live         the instructor's live dashboard: queue, grading now, failures, scores
app          the FastAPI application: login, upload page, API, feedback, live dashboard
commands     what `autograder tokens` and `autograder serve` do (cli.py parses them)
"""
