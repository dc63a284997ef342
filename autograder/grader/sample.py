"""The sample class: realistic submissions built from the released notebooks.

* ``reference``: the released notebook with every answer cell filled from source/;
* ``untouched``: the released notebook as a student downloads it;
* buggy students: the reference with one typical mistake written into an answer cell,
  as listed in ``samples/sample_class.json`` (mistake descriptions follow the check
  library's corpus, tests/corpus/mistakes.py);
* ``tamperer``: the reference with a test cell deleted and another emptied.

Submissions are written in the layouts instructors receive (a folder per student, a zip
per student, an LMS bulk download), so ``collect`` is exercised too.
"""
from __future__ import annotations

import copy
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, nbgrader_meta, read_notebook

REGION = re.compile(r"^[ \t]*(### BEGIN SOLUTION|### END SOLUTION)[ \t]*\n?", re.M)
MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===.*?=== END MARK SCHEME ===\n?", re.S)


@dataclass
class Mutation:
    """One student's mistakes: each edit replaces ``find`` by ``replace`` in the reference
    answer of cell ``cell``. ``loses``: the autograded tests that must fail (none for a
    correct-but-different solution); ``says``: for some of them, words the judge's message
    must contain; ``names_cause``: whether those words name the mistake's cause rather than
    only its symptom (the corpus of tests/corpus/notebooks measures that share)."""

    student: str
    assignment: str
    description: str
    edits: list[dict]
    loses: list[str] = field(default_factory=list)
    says: dict[str, str] = field(default_factory=dict)
    names_cause: bool | None = None


def load_mutations(path: Path) -> list[Mutation]:
    return [Mutation(**entry) for entry in json.loads(Path(path).read_text())["students"]]


def _source(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def reference_answers(source_notebook: Path) -> dict[str, str]:
    """{grade_id: the answer a perfect student writes} for every answer cell of the source."""
    answers = {}
    for cell in read_notebook(source_notebook)["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            text = MARK_SCHEME.sub("", _source(cell))
            answers[meta["grade_id"]] = REGION.sub("", text)
    return answers


def fill(released: dict, answers: dict[str, str]) -> dict:
    """The released notebook with the given answer cells replaced."""
    nb = copy.deepcopy(released)
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb


def mutate(answers: dict[str, str], mutation: Mutation) -> dict[str, str]:
    changed = dict(answers)
    for edit in mutation.edits:
        cell = edit["cell"]
        if cell not in changed:
            raise KeyError(f"{mutation.student}: no answer cell {cell!r} in "
                           f"{mutation.assignment}")
        if edit["find"] not in changed[cell]:
            raise ValueError(f"{mutation.student}: {edit['find']!r} not found in the reference "
                             f"answer of {mutation.assignment}/{cell}; update "
                             "samples/sample_class.json after editing the source notebook")
        changed[cell] = changed[cell].replace(edit["find"], edit["replace"], 1)
    return changed


def tamper(nb: dict) -> dict:
    """Delete the first autograded test cell and empty the second (they must still run)."""
    nb = copy.deepcopy(nb)
    tests = [i for i, c in enumerate(nb["cells"])
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    if len(tests) >= 2:
        nb["cells"][tests[1]]["source"] = "pass  # tests removed by the student\n"
    if tests:
        del nb["cells"][tests[0]]
    return nb


def build(course: Course, out: Path, assignments: list[str], mutations: list[Mutation]) -> dict:
    """Write the sample class under ``out``; returns {student: description}."""
    out.mkdir(parents=True, exist_ok=True)
    students = {"reference": "the reference solution", "untouched": "submits the release as is",
                "tamperer": "reference answers, one test cell deleted and one emptied"}
    for m in mutations:
        if m.assignment in assignments:
            students[m.student] = m.description
    for assignment in assignments:
        for source_nb in course.notebooks(assignment):
            released = read_notebook(course.release / assignment / source_nb.name)
            answers = reference_answers(source_nb)
            notebooks = {"reference": fill(released, answers), "untouched": released,
                         "tamperer": tamper(fill(released, answers))}
            for m in mutations:
                if m.assignment == assignment:
                    notebooks[m.student] = fill(released, mutate(answers, m))
            for student, nb in notebooks.items():
                _write(out, student, source_nb.name, nb)
    return students


def _write(out: Path, student: str, name: str, nb: dict) -> None:
    """Three layouts: reference as an LMS download, tamperer as a zip, others as folders."""
    text = json.dumps(nb, indent=1)
    if student == "reference":
        (out / f"{student}_1001_assignsubmission_file_{name}").write_text(text)
    elif student == "tamperer":
        with zipfile.ZipFile(out / f"{student}.zip", "a") as zf:
            zf.writestr(f"my work/{name}", text)
    else:
        (out / student).mkdir(exist_ok=True)
        (out / student / name).write_text(text)


def expected_losses(course: Course, assignments: list[str], mutations: list[Mutation]) -> dict:
    """{(student, assignment): set of autograded tests that must fail}."""
    expected = {}
    for assignment in assignments:
        expected[("reference", assignment)] = set()
        for m in mutations:
            if m.assignment == assignment:
                expected[(m.student, assignment)] = set(m.loses)
    return expected


def verify(course: Course, assignments: list[str], mutations: list[Mutation]) -> list[str]:
    """Mismatches between the sample class's scores and messages and what each student
    should lose, and with which words."""
    from .record import gradebook

    problems = []
    words = {(m.student, m.assignment): m.says for m in mutations}
    for (student, assignment), must_fail in expected_losses(course, assignments, mutations).items():
        items = [i for i in gradebook.submission_items(course, assignment, student)
                 if i.kind == "autograded test"]
        if not items:
            problems.append(f"{student}/{assignment}: not graded")
            continue
        failed = {i.name for i in items if (i.score or 0) < i.max_score}
        if failed != must_fail:
            problems.append(f"{student}/{assignment}: failed {sorted(failed)}, "
                            f"expected {sorted(must_fail)}")
        problems += missing_words(course, student, assignment, words.get((student, assignment), {}))
        untouched = [i for i in gradebook.submission_items(course, assignment, "untouched")
                     if i.kind == "autograded test" and (i.score or 0) > 0]
        if student == "reference" and untouched:
            problems.append(f"untouched/{assignment}: scored on {[i.name for i in untouched]}")
    return problems


def missing_words(course: Course, student: str, assignment: str, says: dict) -> list[str]:
    """The tests whose judge message lacks the words the corpus expects."""
    from .record.grading_record import load

    record = load(course, student, assignment)
    verdicts = record.verdicts if record else {}
    messages = {test: verdict.message for test, verdict in verdicts.items()}
    return [f"{student}/{assignment}: {test}'s message does not say {text!r}: "
            f"{messages.get(test, '(no verdict)')[:400]!r}"
            for test, text in says.items() if text not in messages.get(test, "")]
