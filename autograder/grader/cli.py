"""autograder: release, collect, grade, feedback and export for the course kit.

Run inside the course directory (the repository root), or pass --course.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import commands
from .serve import commands as serve_commands
from .course import KIT_ROOT


def default_course() -> Path:
    """The current folder when it is a course (it holds source/), else the kit's repository
    (itself a course): an instructor working in their own course folder never writes into
    the kit by accident."""
    here = Path.cwd()
    return here if (here / "source").is_dir() else KIT_ROOT


def _course(args):
    """The course of ``--course``, checked before the command touches it (CourseError:
    one line saying what is wrong with the folder and what to do)."""
    from .course import Course

    return Course(args.course).check()


def cmd_data(args) -> int:
    """Verify every split of MNIST and CIFAR-10 and print what was found."""
    return commands.check_data()


def cmd_release(args) -> int:
    """Generate the student versions into assignments/ and run the leak check."""
    names = None if args.all or not args.assignments else args.assignments
    commands.release(_course(args), names, Path(args.bundle) if args.bundle else None,
                     selftest=not args.no_selftest)
    return 0


def cmd_new(args) -> int:
    """Write the source notebook skeleton of a new assignment (source/ID/ID.ipynb)."""
    commands.new(_course(args), args.assignment)
    return 0


def cmd_selftest(args) -> int:
    """Grade the teacher's solution and the untouched release of an assignment as the
    grader will (full marks and none expected) and check its test cells; 1 on failure."""
    course = _course(args)
    names = args.assignments or course.assignments()
    passed = [commands.selftest_assignment(course, name, use_cache=not args.again)
              for name in names]
    return 0 if all(passed) else 1


def cmd_collect(args) -> int:
    """Place submissions (folders, LMS downloads, zips) into submitted/."""
    commands.collect(_course(args), Path(args.path), replace=args.replace)
    return 0


SIZES = {"K": 2**10, "M": 2**20, "G": 2**30}


def parse_limits(settings: list[str], course):
    """``NAME=VALUE`` settings (sizes may end in K, M or G) -> assignment -> Limits (the
    assignment's own, from its metadata, with these changed)."""
    import dataclasses

    from .run.jobs import assignment_limits
    from .sandbox import Limits

    names = [f.name for f in dataclasses.fields(Limits)]
    changes = {}
    for setting in settings or []:
        name, _, value = setting.partition("=")
        if name not in names or not value:
            raise ValueError(f"--set-limit {setting!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(names)}")
        factor = SIZES.get(value[-1].upper(), 1)
        changes[name] = int(float(value[:-1] if factor > 1 else value) * factor)
    return lambda assignment, device="cpu": assignment_limits(course, assignment, device,
                                                              **changes)


def cmd_grade(args) -> int:
    """Autograde submissions: each notebook in a sandboxed kernel, judged outside it."""
    course = _course(args)
    commands.grade(course, args.assignments or None, args.student or None,
                   args.workers, limit=args.limit, sandbox=not args.no_sandbox,
                   limits=parse_limits(args.set_limit, course), scheduler=args.scheduler,
                   stale=args.stale, gpus=args.gpus, workers_per_gpu=args.workers_per_gpu)
    return 0


def cmd_tokens(args) -> int:
    """Issue or revoke the tokens students (and the instructor) use with `autograder serve`.

    Tokens are stored hashed in serve/service.db; the ones issued are written once, in
    exports/tokens.csv (student,token) for a mail merge, and the instructor's is printed.
    """
    return serve_commands.issue_tokens(_course(args), args.student, args.revoke, args.instructor)


def cmd_serve(args) -> int:
    """Feedback on submission: a web service that grades each submitted notebook at once.

    Students log in with their token (`autograder tokens`) and submit through the page or
    the API; every submission is stored, queued and graded by the same pipeline as
    `autograder grade` (sandbox, judge, gradebook). Run it in the course directory.
    """
    return serve_commands.serve(_course(args), args.host, args.port, args.workers, args.scheduler,
                                serve_commands.policy_options(args))


def cmd_calibrate(args) -> int:
    """Run the reference solution with N seeds; write and check the calibration table."""
    from .calibrate import calibrate

    path, problems = calibrate(_course(args), args.assignment, args.seeds, args.budget)
    print(path.read_text())
    print(f"calibration table: {path}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_doctor(args) -> int:
    """Check this machine and course can grade: sandbox, helpers, data, course, limits.

    Says how to fix what is not, and prints the limits `grade` will use for each
    assignment (from its budget and metadata)."""
    from .course import Course
    from .doctor import report

    return report(Course(args.course))


def cmd_feedback(args) -> int:
    """Write per-student HTML feedback (no hidden tests, no solutions)."""
    commands.feedback(_course(args), args.assignments or None, args.student)
    return 0


def cmd_dashboard(args) -> int:
    """Write the instructor's dashboard: a page per assignment and one for the course."""
    commands.dashboard(_course(args), args.assignments or None)
    return 0


def cmd_export(args) -> int:
    """Write exports/grades.csv and a Gradescope results.json per submission."""
    commands.export(_course(args), args.assignments or None, args.student)
    return 0


def cmd_sample_class(args) -> int:
    """Build the sample class of submissions from the released notebooks."""
    course = _course(args)
    commands.sample_class(course, Path(args.out), args.assignments or course.assignments())
    return 0


def cmd_demo(args) -> int:
    """The main job: release, build and collect the sample class, grade, feedback,
    dashboard, export; ends by printing the path of the course dashboard."""
    return commands.demo(_course(args), every=args.all)


def cmd_checks(args) -> int:
    """List every library check: signature, what the kernel collects, what the judge
    compares it with, immediate or at-grading feedback, tolerance (docs/CHECKS.md)."""
    return commands.list_checks("json" if args.json else "markdown" if args.markdown else "text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    parser.add_argument("--course", default=str(default_course()),
                        help="course directory (default: the current folder when it holds "
                             "source/, else the kit's own repository)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func):
        p = sub.add_parser(name, help=func.__doc__.splitlines()[0], description=func.__doc__)
        p.set_defaults(func=func)
        return p

    add("data", cmd_data)
    p = add("release", cmd_release)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--all", action="store_true", help="release every assignment in source/")
    p.add_argument("--bundle", metavar="FILE", help="also write the student bundle zip")
    p.add_argument("--no-selftest", action="store_true",
                   help="release without self-testing first (see `autograder selftest`)")
    p = add("new", cmd_new)
    p.add_argument("assignment", help="the new assignment's id, e.g. a6_logreg")
    p = add("selftest", cmd_selftest)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--again", action="store_true",
                   help="grade even when the same content passed before")
    p = add("collect", cmd_collect)
    p.add_argument("path", help="folder of submissions")
    p.add_argument("--replace", action="store_true",
                   help="overwrite submissions already collected with different content")
    p = add("grade", cmd_grade)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all submitted)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--stale", action="store_true",
                   help="re-grade only the submissions graded against an older version of "
                        "the assignment's tests (`release` says how many there are)")
    p.add_argument("--workers", type=int, help="parallel grading processes (default: cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="grade on the workers of this Dask scheduler instead (see README)")
    p.add_argument("--gpus", default="none", metavar="auto|none|0,1",
                   help="grade on these GPUs: each kernel gets one GPU, and no other device "
                        "(auto: every GPU found, else the CPU with a note; default none)")
    p.add_argument("--workers-per-gpu", type=int, default=1, metavar="N",
                   help="workers sharing each GPU (they share its memory; default 1)")
    p.add_argument("--limit", type=int, help="override the per-notebook time limit (s)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="grade without the sandbox: for trusted submissions only")
    p.add_argument("--set-limit", action="append", metavar="NAME=VALUE",
                   help="change a sandbox limit, e.g. memory_bytes=2G or processes=128 "
                        "(see `autograder doctor` for the defaults)")
    p = add("tokens", cmd_tokens)
    p.add_argument("--student", action="append", metavar="S",
                   help="issue a token for this student (repeatable; default: every student "
                        "of the gradebook without one)")
    p.add_argument("--revoke", action="append", metavar="S",
                   help="revoke this student's token (repeatable)")
    p.add_argument("--instructor", action="store_true",
                   help="issue the instructor's token (for the dashboard), printed once")
    p = add("serve", cmd_serve)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                                                       "loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="parallel grading processes")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="grade on the workers of this Dask scheduler instead")
    p.add_argument("--deadline", metavar="ISO8601",
                   help="override every assignment's deadline (with its time zone)")
    p.add_argument("--late", choices=("refuse", "accept"), help="late submissions")
    p.add_argument("--per-hour", type=int, metavar="N", dest="submissions_per_hour",
                   help="submissions per student and assignment per hour")
    p.add_argument("--feedback-before-deadline", choices=("visible", "all"),
                   help="results students see before the deadline")
    p.add_argument("--counts", choices=("last", "best"), help="the submission that counts")
    p = add("calibrate", cmd_calibrate)
    p.add_argument("assignment", help="assignment id (its teacher notebook in source/)")
    p.add_argument("--seeds", type=int, default=5, help="runs, with COURSE_SEED 0 .. N-1")
    p.add_argument("--budget", type=float,
                   help="seconds a run may take (default: the assignment's budget)")
    add("doctor", cmd_doctor)
    p = add("feedback", cmd_feedback)
    p.add_argument("assignments", nargs="*")
    p.add_argument("--student", action="append",
                   help="write only this student's pages (repeatable)")
    p = add("dashboard", cmd_dashboard)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all graded)")
    p = add("export", cmd_export)
    p.add_argument("assignments", nargs="*")
    p.add_argument("--student", action="append",
                   help="write only this student's Gradescope results (repeatable); "
                        "grades.csv always lists the whole class")
    p = add("sample-class", cmd_sample_class)
    p.add_argument("out", help="folder to write the submissions into")
    p.add_argument("assignments", nargs="*")
    p = add("checks", cmd_checks)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="plain data: a list of objects")
    form.add_argument("--markdown", action="store_true",
                      help="the page docs/CHECKS.md holds (make docs writes it)")
    p = add("demo", cmd_demo)
    p.add_argument("--all", action="store_true", help="grade all five assignments, not A1 and A2")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .release.leakcheck import LeakError

    try:
        return args.func(args)
    except LeakError as err:
        print(err, file=sys.stderr)
        return 3
    except (RuntimeError, FileNotFoundError, KeyError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
