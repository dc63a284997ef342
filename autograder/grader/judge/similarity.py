"""Copied models: a fingerprint of every saved model the judge reads, compared across
the class.

After judging a submission the judge process fingerprints the files it judged (weights, a
model archive); the coordinator files them in the submission's grading record
(record/grading_record.py); after a batch, :func:`copied_models` compares them per
assignment and file. Identical or
similar models (the same units, even permuted, padded with dead units or nudged: see
fingerprint.py) are flagged in pairs, with how similar, for a human to look at, never
penalised automatically: two students who ran the same code with the same seeds train
the same weights.
"""
from __future__ import annotations

from pathlib import Path

from .fingerprint import near_duplicates
from .inspection import fingerprint


def record_fingerprints(folder: Path, paths: list[str]) -> dict[str, dict]:
    """{file: fingerprint} of the judged files present in a harvested submission folder
    (taken in the sandboxed inspector, or from its answer when the judge already had the
    file inspected: inspection.fingerprint). The judge process sends them back in its
    answer; nothing is written to the submission's folder."""
    found = {}
    for name in paths:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            found[name] = fingerprint(path)
    return found


def copied_models(prints: dict[str, dict]) -> list[dict]:
    """[{"file", "students", "reason", "similarity"}] for suspicious pairs of a batch;
    ``prints``: {student: {judged file: fingerprint}} (grading_record.class_fingerprints)."""
    by_file: dict[str, dict] = {}
    for student, found in sorted(prints.items()):
        for name, one in found.items():
            by_file.setdefault(name, {})[student] = one
    flagged = []
    for name, prints in sorted(by_file.items()):
        for a, b, reason, similarity in near_duplicates(prints):
            flagged.append({"file": name, "students": [a, b], "reason": reason,
                            "similarity": similarity})
    return flagged


def groups(flagged: list[dict]) -> list[tuple[str, str, list[str], list[tuple]]]:
    """Flagged pairs merged into groups: (file, reason, students, pairs), largest first;
    pairs: (student, student, similarity) of the group, most similar first, so a reader
    sees which two models match and how closely, not only who is in the group."""
    merged: list[tuple[str, str, set, list]] = []
    for pair in flagged:
        members = set(pair["students"])
        found = (*pair["students"], pair["similarity"])
        for i, (name, reason, group, pairs) in enumerate(merged):
            if name == pair["file"] and reason == pair["reason"] and group & members:
                merged[i] = (name, reason, group | members, pairs + [found])
                break
        else:
            merged.append((pair["file"], pair["reason"], members, [found]))
    return sorted(((n, r, sorted(g), sorted(p, key=lambda x: (-x[2], x[0], x[1])))
                   for n, r, g, p in merged), key=lambda x: (-len(x[2]), x[0]))
