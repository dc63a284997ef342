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
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from report import publish  # noqa: E402 (benchmarks/report.py, beside this script)


# The class: answer cells, autograded tests and a written answer, no training.
MICRO_CELLS = {"intro", "imports", "relu_answer", "relu_test", "double_answer", "double_test",
               "why_relu"}


MICRO_RELU_TEST = 'checks.check_values(relu_grad, "relu_grad", shape=(3, 9), seed=11)'
MICRO_REFERENCES = """
import numpy as np

register_reference("values:relu_grad", lambda x: (x > 0).astype(float))
"""


def make_micro_course(root: Path) -> Path:
    """The tiny course without its data and training cells (MNIST centroids, a torch
    training loop) and without its plot; relu's hidden test compares with a grader-only
    reference instead of torch autograd, so that no process needs torch."""
    import nbformat

    from tests import course_fixture as fx

    fx.make_course(root)
    path = root / "source" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] in MICRO_CELLS]
    for cell in nb.cells:
        cell.source = cell.source.replace("import matplotlib.pyplot as plt\n", "").replace(
            fx.HIDDEN_LINE, MICRO_RELU_TEST)
    nbformat.write(nb, path)
    with open(root / "source" / "grader_references.py", "a") as references:
        references.write(MICRO_REFERENCES)
    return root


def build_class(root: Path, students: int, kind: str) -> Path:
    """The ``kind`` course ("micro" or "tiny"), released, with ``students`` reference
    submissions collected."""
    from autograder.grader.collect import collect
    from autograder.grader.release import release
    from autograder.grader.course import Course
    from tests import course_fixture as fx
    from tests.test_hostile import notebook, put

    make = make_micro_course if kind == "micro" else fx.make_course
    course = Course(make(root / "course"))
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
    code = ("import json, sys, time\n"
            "from autograder.grader import grade\n"
            "from autograder.grader.course import Course\n"
            "start = time.perf_counter()\n"
            f"results = grade.grade(Course({str(course)!r}), workers={workers or None}, "
            f"progress=False{f', scheduler={scheduler!r}' if scheduler else ''})\n"
            "print(json.dumps({'seconds': time.perf_counter() - start,\n"
            "  'statuses': sorted({r.status for r in results}),\n"
            "  'torch': 'torch' in sys.modules,\n"
            "  'coordinator_kb': int(next(line for line in open('/proc/self/status')\n"
            "                             if line.startswith('VmHWM:')).split()[1]),\n"
            "  'worker_kb': max(r.peak_kb.get('worker', 0) for r in results)}))\n")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    with KernelMemory() as kernels:
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": path})
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "kernel_kb": kernels.peak_kb}


class KernelMemory:
    """The peak resident memory of any ipykernel process on the machine while inside
    (sampled every 50 ms from /proc: sandboxed kernels are visible from outside)."""

    def __enter__(self):
        self.peak_kb, self.done = 0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.done.wait(0.05):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if b"ipykernel_launcher" not in f.read():
                            continue
                    with open(f"/proc/{pid}/status") as f:
                        rss = next(line for line in f if line.startswith("VmRSS:"))
                    self.peak_kb = max(self.peak_kb, int(rss.split()[1]))
                except (OSError, StopIteration, ValueError):
                    continue

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()



HOW_TO_READ = """How to read it: every row grades the same class in a fresh copy of the course, one
after the other, on this machine. nbgrader runs each notebook in a plain kernel with its
hidden tests judged inside the kernel; the kit runs each in a sandboxed kernel (started
while the worker's previous job still runs) and scores every check in its trusted judge,
a process of its own. "coordinator MB" is the peak resident memory (VmHWM) of the process
running `autograder grade`, which never imports torch (the judge process does, and only
when a check needs it); "worker MB" the largest warm worker; "kernel MB" the largest
ipykernel process seen while the row ran (sampled from /proc every 50 ms). Wall times
include starting the workers and the judge (about 3 s, once per run)."""


def targets(rows) -> list[str]:
    """The issue's targets against this run's rows."""
    base, named = rows[0][1], {name: (seconds, run) for name, seconds, run in rows}
    one, _ = named["`autograder grade --workers 1`"]
    two, run = named["`autograder grade --workers 2`"]
    mb = run.get("coordinator_kb", 0) / 1024

    def verdict(ok, by):
        return "met" if ok else f"missed by {by}"

    return ["", "| target | measured | |", "|---|---|---|",
            f"| 1 worker: at most 0.6x nbgrader's wall time | {one / base:.2f}x | "
            f"{verdict(one / base <= 0.6, f'{one / base - 0.6:.2f}x')} |",
            f"| 2 workers: at least 2x faster than nbgrader | {base / two:.2f}x faster | "
            f"{verdict(base / two >= 2, f'{2 - base / two:.2f}x')} |",
            f"| coordinator under 200 MB resident | {mb:.0f} MB | "
            f"{verdict(mb < 200, f'{mb - 200:.0f} MB')} |"]


def machine() -> str:
    return (f"{platform.node()}: {os.cpu_count()} cores, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f} at the start")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--course", choices=["micro", "tiny"], default="micro",
                        help="micro: no data, no training (the issue's class); tiny: the "
                        "tests' course, which also loads MNIST and trains a step")
    parser.add_argument("--out", help="write the table (markdown) to this file")
    parser.add_argument("--no-dask", dest="dask", action="store_false",
                        help="skip the run through a local Dask cluster")
    args = parser.parse_args(argv)
    n, rows, described = args.students, [], machine()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        course = build_class(tmp / "class", n, args.course)
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
    what = {"micro": "micro submissions (the tests' tiny course without data, training or "
            "plot: benchmarks/grading.py)", "tiny": "tiny submissions (tests/course_fixture.py)"}
    lines = [f"Class of {n} {what[args.course]}, {described}.", "",
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
    lines += targets(rows) + ["", HOW_TO_READ]
    publish("# Benchmarks\n\nWritten by `make benchmark`.\n\n" + "\n".join(lines), args.out,
            append=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
