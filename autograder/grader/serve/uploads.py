"""What an upload must be, and where it is kept.

The service never runs, imports or unpickles an upload: it reads the bytes as JSON, has
nbformat validate them as a notebook, and checks by the nbgrader cell ids that the notebook
is one of the assignment's released notebooks. Hand-in files (the assignment's ``hand_in``
setting) are kept as bytes. Nothing a client names reaches a path: the server names the
folder (the submission's random id) and the files (``notebook.ipynb``, ``hand_in/<n>``,
the n-th declared hand-in file); the names the submission is graded under come from the
released notebooks and the assignment's settings. Archives are not accepted: a zip (bomb
or not) is refused as not a notebook, before anything is written.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from ..collect.collect import assignment_fingerprints
from ..course import Course, nbgrader_meta
from . import database

MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
MAX_HAND_IN_BYTES = 16 * 1024 * 1024


class UploadError(ValueError):
    """An upload refused: the HTTP status and a message naming the problem and the fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def notebook_of(course: Course, assignment: str, data: bytes) -> str:
    """The released notebook's file name that ``data`` is a submission of; UploadError
    when it is too big, not a JSON notebook, or not one of ``assignment``'s."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise UploadError(413, f"the notebook is {len(data)} bytes; the limit is "
                               f"{MAX_NOTEBOOK_BYTES}: clear large outputs (Kernel > Restart "
                               "and Clear Output) and submit again")
    if data[:4] == b"PK\x03\x04":
        raise UploadError(415, "this is a zip archive; upload the .ipynb notebook itself")
    try:
        node = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(node)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError,
            nbformat.reader.NotJSONError, ValueError, TypeError, AttributeError, KeyError):
        raise UploadError(415, "the upload is not a Jupyter notebook (.ipynb, JSON): "
                               "submit the assignment's notebook file as saved by Jupyter") \
            from None
    votes: dict[str, int] = {}
    known = assignment_fingerprints(course)
    for cell in node.get("cells", []):
        target = known.get(nbgrader_meta(cell).get("grade_id"))
        if target and target[0] == assignment:
            votes[target[1]] = votes.get(target[1], 0) + 1
    if not votes:
        raise UploadError(400, f"this notebook is not one of {assignment}'s (none of its "
                               "graded cells is there): submit the notebook you downloaded "
                               f"for {assignment}, with its cells kept")
    return max(votes, key=votes.get)


def check_hand_in(declared: tuple, files: dict[str, bytes]) -> list[str]:
    """The declared hand-in files among ``files`` ({form field: bytes}); UploadError for a
    field the assignment does not declare or a file over the limit."""
    for name, data in files.items():
        if name not in declared:
            expected = ", ".join(declared) or "none"
            raise UploadError(400, f"unexpected form field {name[:80]!r}: send the notebook "
                                   f"as 'notebook' and only the declared hand-in files "
                                   f"(fields: {expected})")
        if len(data) > MAX_HAND_IN_BYTES:
            raise UploadError(413, f"{name} is {len(data)} bytes; the limit is "
                                   f"{MAX_HAND_IN_BYTES}")
    return [name for name in declared if name in files]


def folder(course: Course, submission_id: str) -> Path:
    return database.folder(course) / "uploads" / submission_id


def _write(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def store(course: Course, submission_id: str, notebook: bytes, declared: tuple,
          hand_in: dict[str, bytes]) -> None:
    """Write the upload under the submission's id, on disk (fsync) before it is queued."""
    out = folder(course, submission_id)
    out.mkdir(parents=True, mode=0o700)
    _write(out / "notebook.ipynb", notebook)
    if hand_in:
        (out / "hand_in").mkdir(mode=0o700)
    for name, data in hand_in.items():
        _write(out / "hand_in" / str(declared.index(name)), data)


def place_for(course: Course, student: str, assignment: str, submission_id: str,
              notebook: str, declared: tuple, hand_in: list[str], created: float) -> None:
    """Put a stored upload where ``autograder grade`` finds it, as collect would:
    ``submitted/<student>/<assignment>/`` emptied first, the notebook under the released
    notebook's name, hand-in files under their declared names."""
    source = folder(course, submission_id)
    target = course.submitted / student / assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copyfile(source / "notebook.ipynb", target / notebook)
    stamp = datetime.fromtimestamp(created, tz=timezone.utc)  # nbgrader's timestamp
    (target / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    for name in hand_in:
        shutil.copyfile(source / "hand_in" / str(declared.index(name)), target / name)
