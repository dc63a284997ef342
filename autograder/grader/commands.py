"""What each ``autograder`` command does, as functions with explicit arguments.

cli.py turns the command line into a call of one of these; ``demo`` calls them in the
order the stages run (release, sample class, collect, grade, reports). Each does one
stage and prints what it did, for the instructor watching.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from .course import KIT_ROOT, Course

DEMO_ASSIGNMENTS = ["a1_numpy_mlp", "a2_torch_mlp"]
SAMPLE_CLASS = KIT_ROOT / "samples" / "sample_class.json"


def check_data() -> int:
    """Verify every split of MNIST and CIFAR-10 and print what was found; 2 if it fails."""
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


def list_checks(form: str = "text") -> int:
    """Print the catalog of library checks as ``form``: "text", "json" or "markdown"."""
    from . import catalog

    entries = catalog.catalog()
    render = {"text": catalog.as_text, "json": catalog.as_json,
              "markdown": catalog.as_markdown}[form]
    sys.stdout.write(render(entries).rstrip("\n") + "\n")
    return 0


def release(course: Course, assignments: list[str] | None, bundle: Path | None,
            selftest: bool = True) -> list[str]:
    """Release ``assignments`` (None: all) with the leak check, and the student bundle
    to ``bundle`` where given; the ids released. With ``selftest``, each assignment is
    self-tested first (selftest.py; a passing run of the same content is reused) and a
    failure leaves assignments/ as it was."""
    from .release.bundle import write_bundle
    from .release.release import ReleaseError, release as release_assignments

    if selftest:
        failed = [name for name in (assignments or course.assignments())
                  if name in course.assignments() and not selftest_assignment(course, name)]
        if failed:
            raise ReleaseError(f"selftest failed for {', '.join(failed)}: nothing released "
                               "(fix the problems above; --no-selftest releases anyway)")
    released = release_assignments(course, assignments)
    print(f"released {', '.join(released)} into {course.release}; leak check passed")
    if bundle is not None:
        path = write_bundle(course, KIT_ROOT, Path(bundle), released)
        print(f"student bundle: {path} (leak check passed)")
    for line in after_release(course, released, bundle):
        print(line)
    return released


def new(course: Course, assignment: str) -> None:
    """Write the skeleton of a new assignment into source/ (new.py)."""
    from .new import new as write_skeleton

    for path in write_skeleton(course, assignment):
        print(f"wrote {path}")
    print(f"next: edit source/{assignment}/{assignment}.ipynb in Jupyter, then "
          f"`autograder selftest {assignment}` and `autograder release {assignment}`")


def selftest_assignment(course: Course, assignment: str, use_cache: bool = True) -> bool:
    """Selftest one assignment (selftest.py), saying first how long it may take; print
    the report; True when it passed."""
    from .selftest import selftest

    if assignment not in course.assignments():
        raise KeyError(f"no assignment {assignment!r} in {course.source}; available: "
                       f"{course.assignments()}")

    def announce(seconds: int) -> None:
        print(f"selftest {assignment}: grading the teacher's solution and the untouched "
              f"release in the sandbox: at most about {seconds} s on 2 free cores (its "
              "budget_seconds and start-up; release "
              "--no-selftest skips it)", flush=True)

    report = selftest(course, assignment, use_cache=use_cache, announce=announce)
    print(report.text())
    return report.passed


def after_release(course: Course, released: list[str], bundle: Path | None) -> list[str]:
    """What a release left out of date: grades judged against older tests (versions.py)
    and the course's student bundle, when it holds other notebooks than the release."""
    from .record.versions import stale_message, stale_students

    lines = [stale_message(a, stale_students(course, a)) for a in released]
    default = default_bundle(course)
    if bundle is None or Path(bundle).resolve() != default.resolve():
        outdated = outdated_in_bundle(course, default, released)
        if outdated:
            lines.append(f"note: the student bundle {default} is out of date for "
                         f"{', '.join(outdated)} (written before this release): "
                         f"`autograder release --bundle {default}` writes it again")
    return [line for line in lines if line]


def default_bundle(course: Course) -> Path:
    """Where the demo and the README put the student bundle."""
    return course.exports / "student_bundle.zip"


def outdated_in_bundle(course: Course, bundle: Path, released: list[str]) -> list[str]:
    """The ``released`` assignments whose files in the zip ``bundle`` (if there is one)
    differ from assignments/ now, or that it lacks."""
    import zipfile

    if not bundle.is_file():
        return []
    try:
        with zipfile.ZipFile(bundle) as zf:
            held = {info.filename: zf.read(info) for info in zf.infolist()
                    if info.filename.startswith("assignments/") and not info.is_dir()}
    except (OSError, zipfile.BadZipFile):
        return list(released)
    outdated = []
    for assignment in released:
        folder = course.release / assignment
        now = {f"assignments/{assignment}/{p.relative_to(folder).as_posix()}": p.read_bytes()
               for p in sorted(folder.rglob("*")) if p.is_file()}
        before = {n: data for n, data in held.items() if n.startswith(f"assignments/{assignment}/")}
        if now != before:
            outdated.append(assignment)
    return outdated


def collect(course: Course, path: Path, replace: bool = False) -> None:
    """Place the submissions under ``path`` into submitted/."""
    from .collect.collect import collect as collect_submissions

    print(collect_submissions(course, Path(path), replace=replace).summary())


def grade(course: Course, assignments: list[str] | None, students: list[str] | None = None,
          workers: int | None = None, limit: int | None = None, sandbox: bool = True,
          limits=None, scheduler: str | None = None, stale: bool = False,
          gpus: str = "none", workers_per_gpu: int = 1) -> list:
    """Grade and print the summary table; the JobResults (see grade.grade for the
    arguments; ``limits``: assignment -> Limits, default each assignment's budget;
    ``stale``: only the submissions graded against an older version of the tests;
    ``gpus``: "none", "auto" or GPU numbers, ``workers_per_gpu`` workers on each)."""
    from .grade import grade as grade_submissions
    from .report.summary import print_summary
    from .run.jobs import assignment_limits

    limits = limits or (lambda assignment, device="cpu":
                        assignment_limits(course, assignment, device))
    if not sandbox:
        print("WARNING: grading WITHOUT the sandbox (--no-sandbox): student code runs with "
              "the grader's powers. For trusted submissions only.")
    else:
        print("sandbox: bubblewrap; limits per kernel (from each assignment's budget and "
              "metadata, see `autograder doctor`):")
        for assignment in assignments or course.assignments():
            shown = "; ".join(f"{name} {value}" for name, value in limits(assignment).describe())
            print(f"  {assignment}: {shown}")
        if gpus != "none":
            print("  (a job graded on a GPU gets its assignment's budget_seconds_gpu, where "
                  "given: `autograder doctor` shows both)")
    results = grade_submissions(course, assignments, students, workers, limit=limit,
                                sandbox=sandbox, limits=limits, scheduler=scheduler,
                                stale=stale, gpus=gpus, workers_per_gpu=workers_per_gpu)
    if stale and not results:
        print("nothing to re-grade: every graded submission was judged against the current "
              "version of its assignment's tests")
        return results
    print_summary(course, assignments or sorted({r.assignment for r in results}), results)
    if not sandbox:
        print("NOT SANDBOXED: these grades come from kernels that ran without the sandbox")
    return results


def sample_class(course: Course, out: Path, assignments: list[str]) -> list:
    """Write the sample class's submissions under ``out``; its mutations."""
    from .sample import build, load_mutations

    mutations = load_mutations(SAMPLE_CLASS)
    for student, description in build(course, Path(out), assignments, mutations).items():
        print(f"  {student:<28} {description}")
    return mutations


def known_students(course: Course, students: list[str] | None) -> list[str] | None:
    """``students`` (None: all), refused with a ValueError naming any the gradebook lacks."""
    from .record import gradebook

    if not students:
        return None
    known = gradebook.students(course) if gradebook.exists(course) else []
    unknown = [s for s in students if s not in known]
    if unknown:
        raise ValueError(f"no graded submission of student(s) {unknown} in the gradebook: "
                         "check the name (as in submitted/<student>/) and grade them first")
    return students


def feedback(course: Course, assignments: list[str] | None,
             students: list[str] | None = None) -> None:
    from .report.feedback import feedback as feedback_pages

    pages = feedback_pages(course, assignments, known_students(course, students))
    print(f"wrote {len(pages)} feedback page(s) under {course.feedback}")


def dashboard(course: Course, assignments: list[str] | None) -> None:
    from .report.dashboard import dashboard as write_dashboard

    print(f"course dashboard: {write_dashboard(course, assignments)}")


def export(course: Course, assignments: list[str] | None,
           students: list[str] | None = None) -> None:
    """The grades CSV (always the whole class: an upload must not lose a student) and the
    Gradescope results of ``students`` (None: all)."""
    from .report.export import export as write_exports

    csv_path, results = write_exports(course, assignments, known_students(course, students))
    print(f"grades: {csv_path}\nGradescope results: {len(results)} file(s) under "
          f"{csv_path.parent / 'gradescope'}")


def demo(course: Course, every: bool = False) -> int:
    """Release, build and collect the sample class, grade it (A1 and A2, or ``every``
    assignment), write feedback, dashboard and exports, and check each sample student lost
    exactly the expected tests; 0 when so, 1 when not, 2 when the data is wrong."""
    from .sample import verify

    started = time.perf_counter()
    assignments = course.assignments() if every else [
        a for a in DEMO_ASSIGNMENTS if a in course.assignments()]
    if not assignments:
        print("no assignments in source/ yet: only the data can be checked")
        return check_data()
    print("== 1/6 data ==")
    if check_data():
        return 2
    print(f"== 2/6 release ({', '.join(course.assignments())}) ==")
    # The sample class's reference and untouched students (verify below) are the selftest's
    # graded part for the demo's assignments: grading them twice would double the demo.
    release(course, None, default_bundle(course), selftest=False)
    incoming = course.root / "demo_output" / "incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    print(f"== 3/6 sample class -> {incoming} ==")
    mutations = sample_class(course, incoming, assignments)
    for folder in (course.submitted, course.autograded, course.feedback,
                   course.root / "dashboard"):
        shutil.rmtree(folder, ignore_errors=True)  # the demo starts from a clean class
    print("== 4/6 collect ==")
    collect(course, incoming)
    print(f"== 5/6 grade {', '.join(assignments)} ==")
    results = grade(course, assignments)
    print("== 6/6 feedback, dashboard and export ==")
    feedback(course, assignments)
    dashboard(course, assignments)
    export(course, assignments)
    problems = verify(course, assignments, mutations)
    problems += [f"{r.student}/{r.assignment}: grading {r.status}: {r.message}"
                 for r in results if r.status != "graded"]
    print_demo_end(course, problems, time.perf_counter() - started)
    return 1 if problems else 0


def print_demo_end(course: Course, problems: list[str], seconds: float) -> None:
    if problems:
        print("\nSAMPLE CLASS CHECK FAILED:\n  " + "\n  ".join(problems))
    else:
        print("\nsample class check: the reference got every autograded point, the untouched "
              "release none, and each buggy student lost exactly the expected tests")
    print(f"\nFeedback pages: {course.feedback}/<student>/<assignment>/feedback.html\n"
          f"Grades: {course.exports / 'grades.csv'}\nGradebook: {course.gradebook} "
          "(open with `nbgrader formgrader` for the written answers)\n"
          f"Student bundle: {course.exports / 'student_bundle.zip'}")
    minutes, seconds = divmod(round(seconds), 60)
    print(f"\ndemo {'FAILED' if problems else 'finished'} in {minutes} min {seconds} s")
    print(f"Course dashboard: {course.root / 'dashboard' / 'index.html'}")
