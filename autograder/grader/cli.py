"""autograder: release, collect, grade, feedback and export for the course kit.

Run inside the course directory (the repository root), or pass --course.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .course import KIT_ROOT

DEMO_ASSIGNMENTS = ["a1_numpy_mlp", "a2_torch_mlp"]


def _course(args):
    from .course import Course

    return Course(args.course)


def cmd_data(args) -> int:
    """Verify every split of MNIST and CIFAR-10 and print what was found."""
    from ..student import data

    print(f"data root: {data.data_root()}  (AUTOGRADER_DATA; offline={data.offline()})")
    start = time.perf_counter()
    try:
        found = data.verify_all()
    except data.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, counts in found.items():
        print(f"  {name:<15} {sum(counts.values()):>6} images, per class {list(counts.values())}")
    print(f"all content checksums match ({time.perf_counter() - start:.1f} s)")
    return 0


def cmd_release(args) -> int:
    """Generate the student versions into assignments/ and run the leak check."""
    from .release.bundle import write_bundle
    from .release.release import release

    course = _course(args)
    names = None if args.all or not args.assignments else args.assignments
    released = release(course, names)
    print(f"released {', '.join(released)} into {course.release}; leak check passed")
    if args.bundle:
        path = write_bundle(course, KIT_ROOT, Path(args.bundle), released)
        print(f"student bundle: {path} (leak check passed)")
    return 0


def cmd_collect(args) -> int:
    """Place submissions (folders, LMS downloads, zips) into submitted/."""
    from .collect.collect import collect

    report = collect(_course(args), Path(args.path), replace=args.replace)
    print(report.summary())
    return 0


SIZES = {"K": 2**10, "M": 2**20, "G": 2**30}


def parse_limits(settings: list[str]):
    """``NAME=VALUE`` settings (sizes may end in K, M or G) -> assignment -> Limits."""
    import dataclasses

    from .run.jobs import assignment_budget
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
    return lambda assignment: dataclasses.replace(
        Limits.for_budget(assignment_budget(assignment)), **changes)


def cmd_grade(args) -> int:
    """Autograde submissions: each notebook in a sandboxed kernel, judged outside it."""
    from .grade import grade
    from .report.summary import print_summary

    course = _course(args)
    limits = parse_limits(args.set_limit)
    if args.no_sandbox:
        print("WARNING: grading WITHOUT the sandbox (--no-sandbox): student code runs with "
              "the grader's powers. For trusted submissions only.")
    else:
        shown = "; ".join(f"{name} {value}" for name, value in limits("").describe())
        print(f"sandbox: bubblewrap; limits per kernel: {shown} (wall clock: per cell 3x, "
              "per notebook 4x the assignment's budget)")
    results = grade(course, args.assignments or None, args.student or None, args.workers,
                    limit=args.limit, sandbox=not args.no_sandbox, limits=limits,
                    scheduler=getattr(args, "scheduler", None))
    print_summary(course, args.assignments or sorted({r.assignment for r in results}), results)
    if args.no_sandbox:
        print("NOT SANDBOXED: these grades come from kernels that ran without the sandbox")
    args.results = results  # the demo checks them
    return 0


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
    """Check that this machine can grade: sandbox, helpers, data; say how to fix what is not."""
    from .doctor import report

    return report()


def cmd_feedback(args) -> int:
    """Write per-student HTML feedback (no hidden tests, no solutions)."""
    from .report.feedback import feedback

    pages = feedback(_course(args), args.assignments or None)
    print(f"wrote {len(pages)} feedback page(s) under {_course(args).feedback}")
    return 0


def cmd_dashboard(args) -> int:
    """Write the instructor's dashboard: a page per assignment and one for the course."""
    from .report.dashboard import dashboard

    page = dashboard(_course(args), args.assignments or None)
    print(f"course dashboard: {page}")
    return 0


def cmd_export(args) -> int:
    """Write exports/grades.csv and a Gradescope results.json per submission."""
    from .report.export import export

    csv_path, results = export(_course(args), args.assignments or None)
    print(f"grades: {csv_path}\nGradescope results: {len(results)} file(s) under "
          f"{csv_path.parent / 'gradescope'}")
    return 0


def cmd_sample_class(args) -> int:
    """Build the sample class of submissions from the released notebooks."""
    from .sample import build, load_mutations

    course = _course(args)
    mutations = load_mutations(KIT_ROOT / "samples" / "sample_class.json")
    students = build(course, Path(args.out), args.assignments or course.assignments(), mutations)
    for student, description in students.items():
        print(f"  {student:<28} {description}")
    return 0


def cmd_demo(args) -> int:
    """The main job: release, build and collect the sample class, grade, feedback,
    dashboard, export; ends by printing the path of the course dashboard."""
    import shutil

    started = time.perf_counter()
    course = _course(args)
    assignments = course.assignments() if args.all else [
        a for a in DEMO_ASSIGNMENTS if a in course.assignments()]
    if not assignments:
        print("no assignments in source/ yet: only the data can be checked")
        return cmd_data(args)
    print(f"== 1/6 data ==")
    if cmd_data(args):
        return 2
    print(f"== 2/6 release ({', '.join(course.assignments())}) ==")
    args.all, args.assignments, args.bundle = True, [], str(course.root / "exports" / "student_bundle.zip")
    cmd_release(args)
    incoming = course.root / "demo_output" / "incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    print(f"== 3/6 sample class -> {incoming} ==")
    args.out, args.assignments = str(incoming), assignments
    cmd_sample_class(args)
    for folder in (course.submitted, course.autograded, course.feedback,
                   course.root / "dashboard"):
        shutil.rmtree(folder, ignore_errors=True)  # the demo starts from a clean class
    print("== 4/6 collect ==")
    args.path, args.replace = str(incoming), False
    cmd_collect(args)
    print(f"== 5/6 grade {', '.join(assignments)} ==")
    args.student, args.workers, args.limit = [], None, None
    args.no_sandbox, args.set_limit = False, []
    cmd_grade(args)
    print("== 6/6 feedback, dashboard and export ==")
    cmd_feedback(args)
    cmd_dashboard(args)
    cmd_export(args)
    from .sample import load_mutations, verify

    problems = verify(course, assignments, load_mutations(KIT_ROOT / "samples" / "sample_class.json"))
    problems += [f"{r.student}/{r.assignment}: grading {r.status}: {r.message}"
                 for r in args.results if r.status != "graded"]
    if problems:
        print("\nSAMPLE CLASS CHECK FAILED:\n  " + "\n  ".join(problems))
    else:
        print("\nsample class check: the reference got every autograded point, the untouched "
              "release none, and each buggy student lost exactly the expected tests")
    print(f"\nFeedback pages: {course.feedback}/<student>/<assignment>/feedback.html\n"
          f"Grades: {course.exports / 'grades.csv'}\nGradebook: {course.gradebook} "
          "(open with `nbgrader formgrader` for the written answers)\n"
          f"Student bundle: {course.exports / 'student_bundle.zip'}")
    minutes, seconds = divmod(round(time.perf_counter() - started), 60)
    print(f"\ndemo {'FAILED' if problems else 'finished'} in {minutes} min {seconds} s")
    print(f"Course dashboard: {course.root / 'dashboard' / 'index.html'}")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    parser.add_argument("--course", default=str(KIT_ROOT),
                        help="course directory (default: the repository root)")
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
    p = add("collect", cmd_collect)
    p.add_argument("path", help="folder of submissions")
    p.add_argument("--replace", action="store_true",
                   help="overwrite submissions already collected with different content")
    p = add("grade", cmd_grade)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all submitted)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--workers", type=int, help="parallel grading processes (default: cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="grade on the workers of this Dask scheduler instead (see README)")
    p.add_argument("--limit", type=int, help="override the per-notebook time limit (s)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="grade without the sandbox: for trusted submissions only")
    p.add_argument("--set-limit", action="append", metavar="NAME=VALUE",
                   help="change a sandbox limit, e.g. memory_bytes=2G or processes=128 "
                        "(see `autograder doctor` for the defaults)")
    p = add("calibrate", cmd_calibrate)
    p.add_argument("assignment", help="assignment id (its teacher notebook in source/)")
    p.add_argument("--seeds", type=int, default=5, help="runs, with COURSE_SEED 0 .. N-1")
    p.add_argument("--budget", type=float,
                   help="seconds a run may take (default: the assignment's budget)")
    add("doctor", cmd_doctor)
    p = add("feedback", cmd_feedback)
    p.add_argument("assignments", nargs="*")
    p = add("dashboard", cmd_dashboard)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all graded)")
    p = add("export", cmd_export)
    p.add_argument("assignments", nargs="*")
    p = add("sample-class", cmd_sample_class)
    p.add_argument("out", help="folder to write the submissions into")
    p.add_argument("assignments", nargs="*")
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
