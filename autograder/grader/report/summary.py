"""The table ``autograder grade`` prints when it is done.

One row per student: the autograded points of each assignment (from the gradebook) and the
problems of the run (a submission that was not graded, the notes grading left on it); then
the time a submission took in its kernel and in the trusted judge, and the saved models a
human should look at: each pair of students with similar models and how similar
(similarity.py).
"""
from __future__ import annotations

from ..record import gradebook, versions
from ..record.grading_record import class_fingerprints, load
from ..assignment import read_assignment
from ..judge.similarity import copied_models, groups

MAX_PAIRS = 8   # pairs printed per group of similar models; the dashboard lists them all


def print_summary(course, assignments, results) -> None:
    failures = {(r.student, r.assignment): r for r in results if r.status != "graded"}
    notes = {(r.student, r.assignment): r.notes for r in results}
    students = sorted({r.student for r in results})
    width = max([len(s) for s in students] + [7])
    print("\n" + "student".ljust(width) + "".join(f"  {a:>16}" for a in assignments) + "  problems")
    for student in students:
        row, problems = student.ljust(width), []
        for assignment in assignments:
            items = [i for i in gradebook.submission_items(course, assignment, student)
                     if i.kind == "autograded test"]
            if not items:
                row += f"  {'-':>16}"
                continue
            record = load(course, student, assignment)
            if versions.is_stale(record, read_assignment(course, assignment)):
                items = versions.as_graded(items, record)  # its old points, never the new
                problems.append(f"{assignment}: {versions.MARK}")
            got = sum(i.score or 0 for i in items)
            row += f"  {f'{got:g}/{sum(i.max_score for i in items):g}':>16}"
            if (student, assignment) in failures:
                problems.append(f"{assignment}: {failures[(student, assignment)].status}")
            problems += [f"{assignment}: {note}" for note in notes.get((student, assignment), [])]
        print(row + "  " + "; ".join(problems))
    print("(autograded points; written answers are graded by hand in formgrader)")
    if results:
        judged = [r.judge_seconds for r in results]
        graded = [r.seconds for r in results]
        print(f"time per submission: {sum(graded) / len(graded):.1f} s in its kernel on average, "
              f"then {sum(judged) / len(judged):.1f} s in the trusted judge "
              f"(at most {max(judged):.1f} s)")
    for assignment in assignments:
        flagged = copied_models(class_fingerprints(course, assignment))
        for name, reason, members, pairs in groups(flagged):
            print(f"look at: {assignment}/{name}: {reason} for {len(members)} students")
            for a, b, similarity in pairs[:MAX_PAIRS]:
                print(f"    {a} and {b}: similarity {similarity:.4f}")
            if len(pairs) > MAX_PAIRS:
                print(f"    and {len(pairs) - MAX_PAIRS} more pairs (see the dashboard)")
