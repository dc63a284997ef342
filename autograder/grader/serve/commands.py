"""What `autograder tokens` and `autograder serve` do (cli.py only parses their
arguments): issue and revoke tokens, and run the service on uvicorn."""
from __future__ import annotations

import sys

from ..course import Course


def issue_tokens(course: Course, students: list[str] | None, revoke: list[str] | None,
                 instructor: bool) -> int:
    """Issue student tokens (``students``; none given: every student of the gradebook
    without a live token) into exports/tokens.csv, revoke the tokens of ``revoke``, issue
    the instructor's token (printed once, never stored in the clear)."""
    from ..record.gradebook import students as class_list
    from . import tokens

    for student in revoke or []:
        count = tokens.revoke(course, student)
        print(f"revoked {count} token(s) of {student}")
    if instructor:
        print(f"instructor token (shown once; keep it secret): "
              f"{tokens.issue(course, tokens.INSTRUCTOR, tokens.INSTRUCTOR)}")
    if students is None and (revoke or instructor):
        return 0
    if students is None:
        holding = tokens.with_tokens(course)
        students = [s for s in class_list(course) if s not in holding]
    issued = {student: tokens.issue(course, student) for student in students}
    if issued:
        out = tokens.write_csv(course, issued)
        print(f"issued {len(issued)} student token(s) into {out} (student,token; mode 0600) "
              "for a mail merge; a student's older token no longer works")
    else:
        print("no student without a token: name students with --student")
    return 0


def policy_options(args) -> dict:
    """{policy key: the command line's value or None}: the flags of `serve` named as the
    policy's fields (serve/policy.py Policy), one per field."""
    import dataclasses

    from .policy import Policy

    return {field.name: getattr(args, field.name) for field in dataclasses.fields(Policy)}


def serve(course: Course, host: str, port: int, workers: int | None, scheduler: str | None,
          overrides: dict) -> int:
    """Run the feedback service (serve/app.py) on uvicorn until interrupted."""
    import uvicorn

    from . import database
    from .app import create_app
    from .grading import Grader
    from .policy import overrides_from

    if (problem := database.problem(course)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    overrides = overrides_from(overrides)
    grader = Grader(course, workers=workers, scheduler=scheduler, overrides=overrides)
    app = create_app(course, grader, overrides)
    print(f"serving {course.root} at http://{host}:{port}/ (the login page: /login; the "
          "instructor's dashboard: /dashboard); queue and tokens in "
          f"{database.where(course)}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
