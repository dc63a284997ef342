"""An assignment as the teacher wrote it in ``source/``, read once per batch.

``read_assignment`` parses an assignment's source notebooks once while their bytes stay
the same; the ``Assignment`` it returns gives the test cells (rebuilt once by replay.py),
the hidden-test lines reports redact, the settings of the notebooks' metadata
(settings.py) and the files the judge reads. The judge, diagnose, release and every
report take it instead of re-reading the notebooks.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .course import Course
from .replay import TestCell, cell_source, source_test_cells
from .settings import AssignmentSettings, read_settings


def hidden_line_numbers(source: str) -> set[int]:
    """1-based numbers of a test cell's lines between BEGIN and END HIDDEN TESTS."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif inside:
            hidden.add(number)
    return hidden


def source_hidden_lines(sources: dict[str, dict], shortest: int = 12) -> list[str]:
    """The lines of the hidden tests of ``sources`` (for redacting leaks),
    whitespace-collapsed."""
    lines = []
    for notebook in sources.values():
        for cell in notebook["cells"]:
            source = cell_source(cell).splitlines()
            for number in sorted(hidden_line_numbers(cell_source(cell))):
                line = " ".join(source[number - 1].split())
                if len(line) >= shortest:
                    lines.append(line)
    return lines


@dataclass(eq=False)
class Assignment:
    """An assignment as the teacher wrote it in ``source/``, read once per batch: its
    notebooks, hidden-test lines, settings (the notebooks' ``autograder`` metadata, as
    written in ``settings`` and checked in ``options``) and,
    built on first use, its test cells and the files the judge reads. The judge,
    diagnose and every report take it instead of re-reading the notebooks."""

    name: str
    sources: dict[str, dict]   # {notebook file name: the teacher's notebook}, in order
    digest: str                # sha256 of the notebooks' names and bytes
    stamp: tuple = ()          # the files' (name, inode, size, mtime) when read

    @cached_property
    def hidden(self) -> list[str]:
        return source_hidden_lines(self.sources)

    @cached_property
    def settings(self) -> dict:
        found = {}
        for notebook in self.sources.values():
            found.update(notebook.get("metadata", {}).get("autograder", {}) or {})
        return found

    @cached_property
    def options(self) -> AssignmentSettings:
        """``settings`` read and checked: budget, from_scratch, limits, hand_in
        (settings.py); SettingsError names a wrong key."""
        return read_settings(self.settings, f"source/{self.name}")

    @cached_property
    def cells(self) -> list[TestCell]:
        """The test cells, replayed once; ReplayError names a check that cannot be."""
        return source_test_cells(self.sources)

    def fresh_cells(self) -> list[TestCell]:
        """The test cells with checks of their own, for one submission's judging (the
        judge sets a check's nonce and folder; no state passes between submissions)."""
        return copy.deepcopy(self.cells)

    @property
    def judged_files(self) -> list[str]:
        return [cell.judge_spec["path"] for cell in self.cells if cell.judge_spec]


_READ: dict[tuple[str, str], Assignment] = {}  # the last reading of each assignment


def _stamp(paths: list[Path]) -> tuple:
    found = []
    for path in paths:
        info = path.stat()
        found.append((path.name, info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(found)


def read_assignment(course: Course, assignment: str) -> Assignment:
    """The assignment's source notebooks, read and parsed once while they stay the same:
    files whose inode, size and time are unchanged are not read again, and changed bytes
    (a re-release) give a new reading; files touched but unchanged keep the old one."""
    paths = course.notebooks(assignment)
    key, stamp = (str(course.source), assignment), _stamp(paths)
    known = _READ.get(key)
    if known is not None and known.stamp == stamp:
        return known
    raw = {path.name: path.read_bytes() for path in paths}
    digest = hashlib.sha256(repr(list(raw.items())).encode()).hexdigest()
    if known is not None and known.digest == digest:
        known.stamp = stamp
        return known
    sources = {name: json.loads(data.decode("utf-8")) for name, data in raw.items()}
    _READ[key] = found = Assignment(assignment, sources, digest, stamp)
    return found


def assignment_of(course: Course, assignment: "str | Assignment") -> Assignment:
    """``assignment`` itself, or the Assignment of that name read from ``course``."""
    return assignment if isinstance(assignment, Assignment) else read_assignment(course,
                                                                                 assignment)


def test_cells(course: Course, assignment: str) -> list[TestCell]:
    """Every autograded test cell of the assignment's source notebooks, with its checks
    (rebuilt for this call: the caller may set a check's nonce and folder)."""
    return read_assignment(course, assignment).fresh_cells()


def hidden_lines(course: Course, assignment: str) -> list[str]:
    """The lines of the assignment's hidden tests (for redacting leaks), whitespace-collapsed."""
    return read_assignment(course, assignment).hidden


def judged_files(course, assignment: str) -> list[str]:
    """The files the judge reads from a submission's folder."""
    return read_assignment(course, assignment).judged_files
