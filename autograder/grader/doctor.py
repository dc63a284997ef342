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
    found += gpu_checks()
    if course is not None:
        found += course_checks(course)
    return found


def gpu_checks(root="/") -> list[tuple[str, bool, str]]:
    """The GPUs ``grade --gpus`` can give a kernel, and why not: no driver or device node,
    a control node missing, torch without CUDA, or CUDA that finds no GPU inside the
    sandbox (tried: a sandboxed process given the first GPU's nodes, as a kernel is).
    No GPU at all is no problem: grading runs on the CPU."""
    from .sandbox import gpus

    found = gpus.discover(root)
    if not found:
        return [("GPUs", True, f"none ({gpus.why_none(root)}): grading runs on the CPU")]
    problems = gpus.problems(root)
    shown = ", ".join(gpu.describe() for gpu in found)
    rows = [("GPUs", not problems, "; ".join([shown, *problems]))]
    if problems:
        return rows
    import torch

    if not torch.version.cuda:
        return rows + [("torch with CUDA", False, f"torch {torch.__version__} is a CPU build: "
                        "kernels cannot use a GPU (install torch's CUDA build)")]
    rows.append(("torch with CUDA", True, f"torch {torch.__version__}, CUDA {torch.version.cuda}"))
    return rows + [("GPU in a sandboxed kernel", *sandboxed_cuda(found[0]))]


PROBE = """import json, torch
count = torch.cuda.device_count()
name = torch.cuda.get_device_name(0) if count else ""
if count:
    torch.ones(1024, device="cuda").sum().item()
print(json.dumps({"count": count, "name": name}))
"""


def sandboxed_cuda(gpu) -> tuple[bool, str]:
    """(ok, what CUDA says) in a sandbox given ``gpu`` as a grading kernel is."""
    import json
    import subprocess
    import sys
    import tempfile

    from .sandbox import Limits, gpus, wrap

    with tempfile.TemporaryDirectory(prefix="ag-doctor-") as folder:
        argv = wrap([sys.executable, "-c", PROBE], writable=[folder],
                    limits=Limits.for_budget(60), env=gpus.kernel_env(gpu),
                    devices=gpus.device_binds(gpu))
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            return False, "a sandboxed CUDA start took over 180 s"
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return False, f"CUDA failed in the sandbox: {done.stderr.strip()[-300:]}"
    if not answer["count"]:
        return False, (f"CUDA finds no GPU in a sandbox given {gpu.describe()} "
                       f"({done.stderr.strip()[-200:] or 'nothing on stderr'})")
    return True, f"{gpu.describe()} works in the sandbox as CUDA device 0: {answer['name']}"


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
            gpu_budget = assignment_budget(course, assignment, "gpu")
            if gpu_budget != budget:  # budget_seconds_gpu: the limits of a job on a GPU
                shown = ", ".join(f"{name} {value}" for name, value in
                                  assignment_limits(course, assignment, "gpu").describe())
                found.append((f"limits {assignment} (GPU)", True,
                              f"budget {gpu_budget:g} s: {shown}"))
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
