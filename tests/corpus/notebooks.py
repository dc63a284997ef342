"""The whole-notebook corpus: one JSON file per assignment in ``tests/corpus/notebooks/``,
in the format of ``samples/sample_class.json`` (``autograder.grader.sample.Mutation``).

Each entry is a student who made one typical mistake (or wrote a correct but different
solution, ``loses: []``). ``tests/test_corpus_notebooks.py`` checks every entry against the
teacher notebooks without grading; ``tests/test_course.py`` grades them end to end: a
sample in CI, all of them with ``AUTOGRADER_ROUNDTRIP=all``.
"""
from __future__ import annotations

import os
from pathlib import Path

from autograder.grader.sample import Mutation, load_mutations

FOLDER = Path(__file__).parent / "notebooks"
# Entries written but not yet graded end to end: no test loads them; try_notebooks
# --pending grades them so they can move into FOLDER.
PENDING = Path(__file__).parent / "pending"

# CI grades one mistake in SAMPLE_EVERY (by name) and every correct alternative, all of
# an assignment's at once in one notebook (``all_alternatives``), so each file is exercised
# end to end on every landing; each alone waits for AUTOGRADER_ROUNDTRIP=all.
SAMPLE_EVERY = 8


def load(assignment: str | None = None, folder: Path = FOLDER) -> list[Mutation]:
    """Every corpus student, or those of one assignment."""
    students = []
    for path in sorted(folder.glob("*.json")):
        students += load_mutations(path)
    return [m for m in students if assignment is None or m.assignment == assignment]


def is_correct(mutation: Mutation) -> bool:
    return not mutation.loses


def all_alternatives(mutations: list[Mutation]) -> list[Mutation]:
    """One student per assignment who writes every correct alternative of ``mutations`` at
    once (their edits touch different lines), and must keep every point: a notebook graded
    instead of one per alternative. When it loses a point, try_notebooks grades each alone."""
    combined = {}
    for m in mutations:
        if is_correct(m):
            combined.setdefault(m.assignment, []).append(m)
    return [Mutation(student=f"{alternatives[0].student.split('-')[0]}-every-alternative",
                     assignment=assignment,
                     description="every correct alternative: "
                                 + ", ".join(m.student for m in alternatives),
                     edits=[edit for m in alternatives for edit in m.edits])
            for assignment, alternatives in combined.items()]


def sample(mutations: list[Mutation]) -> list[Mutation]:
    """What CI grades: all of them with AUTOGRADER_ROUNDTRIP=all, else the correct
    alternatives of each assignment together (all_alternatives) and every SAMPLE_EVERY-th
    mistake in name order."""
    if os.environ.get("AUTOGRADER_ROUNDTRIP") == "all":
        return list(mutations)
    mistakes = sorted((m for m in mutations if not is_correct(m)), key=lambda m: m.student)
    return all_alternatives(mutations) + mistakes[::SAMPLE_EVERY]


def share_naming_cause(mutations: list[Mutation]) -> tuple[int, int]:
    """(mistakes whose expected words name the cause, mistakes)."""
    mistakes = [m for m in mutations if not is_correct(m)]
    return sum(bool(m.names_cause) for m in mistakes), len(mistakes)
