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

# CI grades every correct alternative and one mistake in SAMPLE_EVERY (by name), so each
# file is exercised end to end on every landing; the rest waits for AUTOGRADER_ROUNDTRIP=all.
SAMPLE_EVERY = 8


def load(assignment: str | None = None, folder: Path = FOLDER) -> list[Mutation]:
    """Every corpus student, or those of one assignment."""
    students = []
    for path in sorted(folder.glob("*.json")):
        students += load_mutations(path)
    return [m for m in students if assignment is None or m.assignment == assignment]


def is_correct(mutation: Mutation) -> bool:
    return not mutation.loses


def sample(mutations: list[Mutation]) -> list[Mutation]:
    """What CI grades: all of them with AUTOGRADER_ROUNDTRIP=all, else every correct
    alternative and every SAMPLE_EVERY-th mistake in name order."""
    if os.environ.get("AUTOGRADER_ROUNDTRIP") == "all":
        return list(mutations)
    mistakes = sorted((m for m in mutations if not is_correct(m)), key=lambda m: m.student)
    return [m for m in mutations if is_correct(m)] + mistakes[::SAMPLE_EVERY]


def share_naming_cause(mutations: list[Mutation]) -> tuple[int, int]:
    """(mistakes whose expected words name the cause, mistakes)."""
    mistakes = [m for m in mutations if not is_correct(m)]
    return sum(bool(m.names_cause) for m in mistakes), len(mistakes)
