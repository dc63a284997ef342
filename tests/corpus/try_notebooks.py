"""Grade corpus students end to end and show what the judge said, to write or check an
entry of ``tests/corpus/notebooks/<assignment>.json``::

    python -m tests.corpus.try_notebooks a1_numpy_mlp                # the whole file
    python -m tests.corpus.try_notebooks a1_numpy_mlp relu-ge tanh-x  # some students

Prints, per student, each autograded test it lost with the judge's message, then every
mismatch with the entry's ``loses`` and ``says`` (exit status 1 if any). The reference is
graded in the same batch and must keep every point.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.grader import grade
from autograder.grader.collect import collect
from autograder.grader.course import NEVER_RELEASED, Course
from autograder.grader.record import gradebook
from autograder.grader.record.grading_record import load as load_record
from autograder.grader.release import release
from autograder.grader.sample import build, verify

from . import notebooks

REPO = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("students", nargs="*", help="corpus students (default: all of the file)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pending", action="store_true",
                        help="the entries of tests/corpus/pending (not yet graded)")
    args = parser.parse_args(argv)
    mutations = notebooks.load(args.assignment,
                               notebooks.PENDING if args.pending else notebooks.FOLDER)
    if args.students:
        unknown = set(args.students) - {m.student for m in mutations}
        if unknown:
            parser.error(f"not in the corpus of {args.assignment}: {sorted(unknown)}")
        mutations = [m for m in mutations if m.student in args.students]
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        root = Path(tmp) / "course"
        shutil.copytree(REPO / "source", root / "source",
                        ignore=shutil.ignore_patterns(*NEVER_RELEASED))
        course = Course(root)
        release.release(course, [args.assignment])
        incoming = Path(tmp) / "incoming"
        build(course, incoming, [args.assignment], mutations)
        collect.collect(course, incoming, replace=True)
        students = ["reference"] + [m.student for m in mutations]
        grade.grade(course, [args.assignment], students=students, workers=args.workers,
                    progress=True)
        for student in students:
            record = load_record(course, student, args.assignment)
            lost = [i for i in gradebook.submission_items(course, args.assignment, student)
                    if i.kind == "autograded test" and (i.score or 0) < i.max_score]
            print(f"\n== {student}: lost {[i.name for i in lost]}")
            for item in lost:
                verdict = record.verdicts.get(item.name) if record else None
                print(f"   {item.name}: {verdict.message if verdict else '(no verdict)'}")
        problems = verify(course, [args.assignment], mutations)
        print("\n" + ("\n".join(problems) if problems else "every student lost exactly its cells"
                      " with its words"))
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
