"""The coordinator's peak memory grading real assignments (A1 and A5 by default).

    .venv/bin/python benchmarks/coordinator.py [ASSIGNMENT ...] [--copies 1] [--out BENCHMARKS.md]

Copies source/ into a scratch course, releases it and collects ``--copies`` students whose
notebooks are the reference solutions (benchmarks/reference.py). Then, for each
assignment, runs ``autograder grade ASSIGNMENT`` in a fresh process of its own, which
reports after the batch its peak resident memory (VmHWM: the coordinator alone, not its
warm workers, kernels or judge), whether torch, numpy or the check library were loaded
in it, and the peak of the largest process it started and waited for (a warm worker,
its kernel or the judge: where the memory of grading goes). The target: the coordinator
under 200 MiB on every assignment.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from report import publish  # noqa: E402 (benchmarks/report.py, beside this script)

TARGET_MIB = 200
ASSIGNMENTS = ["a1_numpy_mlp", "a5_cifar10"]
WATCHED = ("torch", "numpy", "autograder.student.checks", "nbgrader.api", "distributed")

# The measured process: `autograder grade` (cli.main) and, once it returns, its own
# VmHWM (not ru_maxrss, which Linux carries over from a forking parent) and the largest
# ru_maxrss among the processes it started and waited for.
GRADE_AND_MEASURE = f"""
import json, resource, sys
from autograder.grader.cli import main
code = main(sys.argv[1:])
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"code": code, "coordinator_kb": int(hwm.split()[1]),
                  "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "loaded": [m for m in {WATCHED!r} if m in sys.modules]}}))
"""


HOW_TO_READ = """The coordinator holds nbgrader's gradebook API (SQLAlchemy, nbformat; about
90 MiB of it), the check library without torch (to find each assignment's judged files),
and per job only paths and plain data (a job's files are copied in chunks). Torch, the
data and the saved models live in the judge process and the kernels, the "largest child"
column: that figure, not the coordinator's, is what `/usr/bin/time -v autograder grade`
or the ru_maxrss of its children report."""


def build(root: Path, copies: int) -> Path:
    """The released course with ``copies`` reference students collected (each copy has a
    nonce of its own: another seed)."""
    import shutil

    from autograder.grader.collect import collect
    from reference import reference_course  # benchmarks/reference.py

    course = reference_course(root)
    for k in range(2, copies + 1):
        shutil.copytree(root / "incoming" / "reference", root / "copies" / f"reference-copy{k}")
    if copies > 1:
        collect.collect(course, root / "copies")
    return course.root


def grade_measured(course: Path, assignment: str, workers: int) -> dict:
    """``autograder grade ASSIGNMENT`` in a process of its own: its wall time and memory."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", GRADE_AND_MEASURE, "--course", str(course),
                          "grade", assignment, "--workers", str(workers)],
                         cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": path})
    if out.returncode:
        raise RuntimeError(f"grading {assignment} failed:\n{out.stderr[-3000:]}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    return {**report, "seconds": time.perf_counter() - start,
            "scores": [" ".join(line.split()[1:])[:160] for line in out.stdout.splitlines()
                       if line.startswith("reference")]}  # the summary's rows: score, problems


def table(rows: list[tuple[str, dict]], copies: int, workers: int) -> str:
    lines = ["", "## The coordinator's memory on real assignments", "",
             f"`autograder grade ASSIGNMENT --workers {workers}` on {copies} reference "
             f"submission(s), each assignment in a fresh process ({os.cpu_count()} cores, "
             f"load average {os.getloadavg()[0]:.1f} at the end).", "",
             "| assignment | scores (and problems) | wall s | coordinator MiB (VmHWM) | target "
             "| loaded in the coordinator | largest child MiB (worker, kernel or judge) |",
             "|---|---|---|---|---|---|---|"]
    for assignment, run in rows:
        mib = run["coordinator_kb"] / 1024
        verdict = "met" if mib <= TARGET_MIB else f"missed by {mib - TARGET_MIB:.0f} MiB"
        loaded = ", ".join(run["loaded"]) or "none of " + ", ".join(WATCHED)
        lines.append(f"| {assignment} | {'; '.join(run['scores'])} | {run['seconds']:.0f} | {mib:.0f} | {TARGET_MIB} MiB: "
                     f"{verdict} | {loaded} | {run['children_kb'] / 1024:.0f} |")
    lines += ["", HOW_TO_READ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("assignments", nargs="*", default=ASSIGNMENTS)
    parser.add_argument("--copies", type=int, default=1,
                        help="reference submissions per assignment (one A5 trains minutes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--course", help="grade this released course with its collected "
                        "submissions instead of building one (it is graded in place)")
    parser.add_argument("--out", help="append the table (markdown) to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-coordinator-") as tmp:
        course = Path(args.course) if args.course else build(Path(tmp) / "course", args.copies)
        rows = [(a, grade_measured(course, a, args.workers)) for a in args.assignments]
    publish(table(rows, args.copies, args.workers), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
