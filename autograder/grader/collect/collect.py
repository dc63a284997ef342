"""Collect: turn what instructors download into nbgrader's ``submitted/`` layout.

Recognised layouts under PATH (mixed freely):

* a folder per student: ``PATH/<student>/<notebook>.ipynb`` (or one level deeper);
* a zip per student: ``PATH/<student>.zip`` holding the notebooks anywhere inside;
* an LMS bulk download: ``PATH/<student>_<anything>_<notebook>.ipynb`` with the student
  id first (Canvas ``jdoe_12345_67890_a1_numpy_mlp.ipynb``, Moodle
  ``jdoe_12345_assignsubmission_file_a1_numpy_mlp.ipynb``).

A notebook is matched to an assignment by its nbgrader cell ids (the grade ids of the
released notebook), so a renamed file (``a1 (2).ipynb``) still lands in the right place.
Nothing is overwritten silently: a different file already in ``submitted/`` is reported
and left alone unless ``replace=True``.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..course import Course, nbgrader_meta, read_notebook

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
MAX_ZIP_BYTES = 200 * 2 ** 20  # a zip bomb is skipped, not unpacked


@dataclass
class CollectReport:
    placed: list[tuple[str, str, str]] = field(default_factory=list)   # student, assignment, file
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)     # file, why

    def summary(self) -> str:
        lines = [f"collected {len(self.placed)} notebook(s); "
                 f"{len(self.unchanged)} already there unchanged; "
                 f"{len(self.unmatched)} file(s) not collected"]
        lines += [f"  NOT COLLECTED {name}: {why}" for name, why in self.unmatched]
        return "\n".join(lines)


def assignment_fingerprints(course: Course) -> dict[str, tuple[str, str]]:
    """{grade_id: (assignment, notebook file name)} over the released notebooks."""
    found = {}
    for assignment in course.assignments():
        for path in sorted((course.release / assignment).glob("*.ipynb")):
            for cell in read_notebook(path).get("cells", []):
                grade_id = nbgrader_meta(cell).get("grade_id")
                if grade_id:
                    found[grade_id] = (assignment, path.name)
    return found


def identify(notebook: Path, fingerprints: dict) -> tuple[str, str] | None:
    """(assignment, notebook name) that a submitted notebook belongs to, or None."""
    try:
        cells = read_notebook(notebook).get("cells", [])
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        return None
    votes: dict[tuple[str, str], int] = {}
    for cell in cells:
        target = fingerprints.get(nbgrader_meta(cell).get("grade_id"))
        if target:
            votes[target] = votes.get(target, 0) + 1
    return max(votes, key=votes.get) if votes else None


def _student_from_lms_name(name: str) -> str | None:
    head = name.split("_", 1)[0]
    return head if "_" in name and STUDENT_ID.match(head) else None


def _candidates(path: Path, scratch: Path, report: CollectReport):
    """Yield (student id, notebook path, original name) for everything under ``path``."""
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            student = entry.name
            if not STUDENT_ID.match(student):
                report.unmatched.append((entry.name, "folder name is not a valid student id"))
                continue
            notebooks = [p for p in sorted(entry.rglob("*.ipynb"))
                         if ".ipynb_checkpoints" not in p.parts]
            if not notebooks:
                report.unmatched.append((entry.name + "/", "no .ipynb inside"))
            for nb in notebooks:
                yield student, nb, f"{entry.name}/{nb.relative_to(entry)}"
        elif entry.suffix == ".zip":
            student = _student_from_lms_name(entry.stem) or entry.stem
            if not STUDENT_ID.match(student):
                report.unmatched.append((entry.name, "zip name does not start with a student id"))
                continue
            yield from _from_zip(entry, student, scratch, report)
        elif entry.suffix == ".ipynb":
            student = _student_from_lms_name(entry.name)
            if student is None:
                report.unmatched.append((entry.name, "a loose notebook whose name does not "
                                                     "start with '<student id>_'"))
                continue
            yield student, entry, entry.name
        else:
            report.unmatched.append((entry.name, "not a notebook, a zip or a student folder"))


def _from_zip(archive: Path, student: str, scratch: Path, report: CollectReport):
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if m.filename.endswith(".ipynb")
                       and "__MACOSX" not in m.filename and ".ipynb_checkpoints" not in m.filename]
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                report.unmatched.append((archive.name, "notebooks inside are over 200 MB"))
                return
            if not members:
                report.unmatched.append((archive.name, "no .ipynb inside the zip"))
            for i, member in enumerate(members):
                target = scratch / f"{archive.stem}-{i}.ipynb"  # never trust member paths
                target.write_bytes(zf.read(member))
                yield student, target, f"{archive.name}:{member.filename}"
    except zipfile.BadZipFile:
        report.unmatched.append((archive.name, "not a valid zip file"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def collect(course: Course, path: Path, replace: bool = False) -> CollectReport:
    """Place every recognisable notebook under ``path`` into ``submitted/``."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a folder of submissions")
    fingerprints = assignment_fingerprints(course)
    if not fingerprints:
        raise RuntimeError(f"no released notebooks under {course.release}: run "
                           "`autograder release` first")
    report = CollectReport()
    seen: dict[tuple[str, str, str], str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for student, notebook, original in _candidates(path, Path(scratch), report):
            target = identify(notebook, fingerprints)
            if target is None:
                report.unmatched.append((original, "not a notebook of any released "
                                                   "assignment (no matching nbgrader cell ids)"))
                continue
            assignment, name = target
            key = (student, assignment, name)
            if key in seen:
                report.unmatched.append((original, f"a second copy of {assignment}/{name} for "
                                                   f"{student} (kept {seen[key]})"))
                continue
            seen[key] = original
            _place(course, student, assignment, name, notebook, original, replace, report)
    return report


def _place(course, student, assignment, name, notebook, original, replace, report):
    folder = course.submitted / student / assignment
    destination = folder / name
    if destination.exists():
        if _digest(destination) == _digest(notebook):
            report.unchanged.append((student, f"{assignment}/{name}"))
            return
        if not replace:
            report.unmatched.append((original, f"{destination} already exists with different "
                                               "content; re-run with --replace to overwrite"))
            return
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, destination)
    stamp = datetime.fromtimestamp(notebook.stat().st_mtime, tz=timezone.utc)
    (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    report.placed.append((student, assignment, original))
