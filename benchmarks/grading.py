"""Grading speed on a class of tiny submissions: nbgrader, the nbclient floor, the kit.

    .venv/bin/python benchmarks/grading.py [--students 40] [--out BENCHMARKS.md]

Builds the tiny course of the tests (tests/course_fixture.py) with N copies of the
reference submission, then grades the class, each way in a fresh copy of the course:

* ``nbgrader autograde`` (sequential, its only mode; plain kernel, no judge);
* the nbclient floor: each notebook executed in a fresh kernel, nothing else;
* ``autograder grade`` (sandboxed kernels, the trusted judge) with 1 and 2 warm workers,
  and through a local Dask cluster of 2 worker processes when dask is installed.

Each kit run happens in its own process, which reports its peak memory (coordinator) and
its workers' and kernels' (from the jobs' reports). Prints a table; ``--out`` writes it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_class(root: Path, students: int) -> Path:
    """The tiny course, released, with ``students`` reference submissions collected."""
    from autograder.grader.pipeline import collect, release
    from autograder.grader.pipeline.course import Course
    from tests import course_fixture as fx
    from tests.test_hostile import notebook, put

    course = Course(fx.make_course(root / "course"))
    release.release(course)
    for i in range(students):
        put(root / "in" / f"s{i:03d}", notebook(course))
    collect.collect(course, root / "in")
    return course.root


def fresh_copy(course: Path, where: Path) -> Path:
    shutil.copytree(course, where, symlinks=True)
    return where


def run_nbgrader(course: Path) -> float:
    """``nbgrader autograde`` of every submission, as nbgrader runs it (sequentially)."""
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "f1_tiny", "--force"],
                   cwd=course, check=True, capture_output=True)
    return time.perf_counter() - start


def run_nbclient(course: Path) -> float:
    """The floor: each submitted notebook executed in a fresh plain kernel, nothing else."""
    import nbformat
    from nbclient import NotebookClient

    start = time.perf_counter()
    for path in sorted((course / "submitted").glob("*/f1_tiny/f1_tiny.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def run_kit(course: Path, workers: int, scheduler: str | None = None) -> dict:
    """``autograder grade`` in a process of its own; its wall time and peak memory."""
    code = ("import json, resource, sys, time\n"
            "from autograder.grader.pipeline import grade\n"
            "from autograder.grader.pipeline.course import Course\n"
            "start = time.perf_counter()\n"
            f"results = grade.grade(Course({str(course)!r}), workers={workers or None}, "
            f"progress=False{f', scheduler={scheduler!r}' if scheduler else ''})\n"
            "print(json.dumps({'seconds': time.perf_counter() - start,\n"
            "  'statuses': sorted({r.status for r in results}),\n"
            "  'torch': 'torch' in sys.modules,\n"
            "  'coordinator_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
            "  'worker_kb': max(r.peak_kb.get('worker', 0) for r in results),\n"
            "  'kernel_kb': max(r.peak_kb.get('kernel', 0) for r in results)}))\n")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": path})
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    return (f"{platform.node()}: {os.cpu_count()} cores, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f} at the start")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--out", help="write the table (markdown) to this file")
    parser.add_argument("--no-dask", dest="dask", action="store_false",
                        help="skip the run through a local Dask cluster")
    args = parser.parse_args(argv)
    n, rows, described = args.students, [], machine()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        course = build_class(tmp / "class", n)
        seconds = run_nbgrader(fresh_copy(course, tmp / "nbgrader"))
        rows.append(("`nbgrader autograde` (sequential)", seconds, {}))
        rows.append(("nbclient floor (kernel start + cells)",
                     run_nbclient(fresh_copy(course, tmp / "nbclient")), {}))
        for workers in (1, 2):
            run = run_kit(fresh_copy(course, tmp / f"kit{workers}"), workers)
            rows.append((f"`autograder grade --workers {workers}`", run["seconds"], run))
        if args.dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                run = run_kit(fresh_copy(course, tmp / "dask"), 0, cluster.scheduler_address)
            rows.append(("`autograder grade --scheduler` (local Dask, 2 worker processes)",
                         run["seconds"], run))
    base = rows[0][1]
    lines = [f"Class of {n} tiny submissions (tests/course_fixture.py), {described}.", "",
             "| | wall s | s per submission | vs nbgrader | coordinator MB | worker MB "
             "| kernel MB | torch in coordinator |", "|---|---|---|---|---|---|---|---|"]
    for name, seconds, run in rows:
        mb = [f"{run[k] / 1024:.0f}" if run.get(k) else "" for k in
              ("coordinator_kb", "worker_kb", "kernel_kb")]
        torch = {True: "yes", False: "no"}.get(run.get("torch"), "")
        lines.append(f"| {name} | {seconds:.1f} | {seconds / n:.2f} | {seconds / base:.2f}x | "
                     + " | ".join(mb) + f" | {torch} |")
    floor = rows[1][1] / n
    lines += ["", "Overhead per notebook against the nbclient floor: " + ", ".join(
        f"{name} {seconds / n - floor:+.2f} s" for name, seconds, _ in rows[2:])]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
