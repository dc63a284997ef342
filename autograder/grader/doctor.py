"""``autograder doctor``: can this machine grade this course? What is missing, and how to
get it; and the limits ``grade`` will use for each assignment."""
from __future__ import annotations

import os
import shutil

from .course import Course


def checks(course: Course | None = None) -> list[tuple[str, bool, str]]:
    """(what, ok, detail) for everything grading needs: the machine's, then the course's
    (its folder and, per assignment, the limits its kernels run under)."""
    from .sandbox import sandbox_problem

    found = []
    problem = sandbox_problem()
    who = "root: each job as its own unprivileged uid" if os.geteuid() == 0 else \
        "an ordinary user: user namespaces"
    found.append(("sandbox (bubblewrap)", problem is None,
                  problem or f"{shutil.which('bwrap')} works, as {who}"))
    if problem is None:
        from .sandbox.probe import seccomp_problem

        filtered = seccomp_problem()
        found.append(("seccomp filter", filtered is None, filtered or
                      "active (tried in a sandbox: ptrace, unshare and bpf are refused)"))
    found.append(("setpriv (util-linux)", bool(shutil.which("setpriv")),
                  "stops grading processes when the grader stops"
                  if shutil.which("setpriv") else "missing: apt-get install util-linux"))
    try:
        from ..student import data

        root = data.data_root()
        ok = (root / "MNIST" / "raw").is_dir() and (root / "cifar-10-batches-py").is_dir()
        found.append(("course data", ok, f"{root}" if ok else
                      f"not under {root}: set AUTOGRADER_DATA (MNIST/raw, cifar-10-batches-py)"))
    except Exception as err:  # noqa: BLE001 (report, never crash the doctor)
        found.append(("course data", False, str(err)))
    if course is not None:
        found += course_checks(course)
    return found


def course_checks(course: Course) -> list[tuple[str, bool, str]]:
    """The course folder, then one row per assignment: the limits ``grade`` will use (the
    same function grade calls, so what is printed is what is enforced)."""
    from .run.jobs import assignment_budget, assignment_limits
    from .settings import AssignmentSettings

    problem = course.problem()
    found = [("course directory", problem is None, problem or str(course.root))]
    assignments = course.assignments() if problem is None else []
    for assignment in assignments:
        try:
            budget = assignment_budget(course, assignment)
            shown = ", ".join(f"{name} {value}" for name, value in
                              assignment_limits(course, assignment).describe())
            found.append((f"limits {assignment}", True, f"budget {budget:g} s: {shown}"))
        except ValueError as err:  # a wrong setting in the notebook's metadata
            found.append((f"limits {assignment}", False, str(err)))
    if not assignments:
        default = AssignmentSettings()
        shown = ", ".join(f"{name} {value}" for name, value in
                          default.grading_limits().describe())
        found.append(("limits (no assignment)", True,
                      f"an assignment without a budget gets {default.budget_seconds} s: {shown}"))
    return found


def report(course: Course | None = None) -> int:
    """Print the checks; non-zero when grading cannot run sandboxed here, or the course
    cannot be used."""
    rows = checks(course)
    for what, ok, detail in rows:
        print(f"{'ok ' if ok else 'NO '} {what:<26} {detail}")
    return 0 if all(ok for _, ok, _ in rows) else 1
