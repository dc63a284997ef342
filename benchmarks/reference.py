"""The full five-assignment reference submission, graded end to end (hardened grading).

    .venv/bin/python benchmarks/reference.py [--workers 2] [--out BENCHMARKS.md]

Copies source/ into a scratch course, releases it, collects one student whose five
notebooks are the reference solutions (the release with the solution cells filled in),
and grades the five submissions with ``autograder grade`` (sandboxed kernels, the trusted
judge, real data and real training). Prints the wall time, each job's kernel and judge
time and score; ``--out`` appends the table to the file. The target: under 10 minutes on
2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from report import publish  # noqa: E402 (benchmarks/report.py, beside this script)
TARGET_SECONDS = 600


def reference_course(root: Path):
    """A released copy of the course with the reference submission collected."""
    from autograder.grader.collect import collect
    from autograder.grader.release import release
    from autograder.grader.course import NEVER_RELEASED, Course
    from autograder.grader.sample import fill, reference_answers

    shutil.copytree(REPO / "source", root / "source",
                    ignore=shutil.ignore_patterns(*NEVER_RELEASED))
    course = Course(root)
    release.release(course)
    for assignment in course.assignments():
        for source_nb in course.notebooks(assignment):
            released = json.loads((course.release / assignment / source_nb.name).read_text())
            folder = root / "incoming" / "reference"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / source_nb.name).write_text(
                json.dumps(fill(released, reference_answers(source_nb))))
    collect.collect(course, root / "incoming")
    return course


def main(argv=None) -> int:
    from autograder.grader.record import gradebook
    from autograder.grader import grade

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="append the table (markdown) to this file")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        course = reference_course(Path(tmp) / "course")
        start = time.perf_counter()
        results = grade.grade(course, workers=args.workers, progress=True)
        wall = time.perf_counter() - start
        rows = []
        for r in sorted(results, key=lambda r: r.assignment):
            items = [i for i in gradebook.submission_items(course, r.assignment, r.student)
                     if i.kind == "autograded test"]
            score = sum(i.score or 0 for i in items)
            total = sum(i.max_score for i in items)
            rows.append(f"| {r.assignment} | {r.status} | {r.seconds:.0f} | "
                        f"{r.judge_seconds:.1f} | {score:g} / {total:g} |")
    verdict = "met" if wall < TARGET_SECONDS else f"missed by {wall - TARGET_SECONDS:.0f} s"
    lines = ["", "## The five-assignment reference submission, end to end", "",
             f"`autograder grade --workers {args.workers}` on one student's five reference "
             f"notebooks ({os.cpu_count()} cores, load average {load:.1f} at the start): "
             f"**{wall:.0f} s** wall (target {TARGET_SECONDS} s: {verdict}).", "",
             "| assignment | status | job s (kernel, nbgrader) | judge s | autograded score |",
             "|---|---|---|---|---|", *rows]
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
