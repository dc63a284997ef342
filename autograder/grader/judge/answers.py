"""Reading the artifact inspector's answer: plain data from a process that handled a
student's file, so hostile data too. Regular files only (opened without following links),
size caps, JSON that parses (a 5,000-digit number or 100,000 nested brackets read as no
answer), raw array bytes used only under a header whose dtypes and sizes are checked."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np

from ...student.checks.core import StudentError
from .inspector import ARRAY_DTYPES, ARRAYS_LIMIT_BYTES

ANSWER_LIMIT_BYTES = 4 * 2 ** 20


class InspectionError(StudentError):
    """The saved file could not be inspected; the message says why, for the student.
    ``unreadable``: the exception type the file raised while loading, when not a
    StudentError (the judge then says the file cannot be read)."""

    def __init__(self, message: str, unreadable: str = ""):
        super().__init__(message)
        self.unreadable = unreadable


def read_json(path: Path):
    """The JSON object in the regular file ``path``; None if absent, odd, huge or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = f.read(ANSWER_LIMIT_BYTES + 1)
    if len(text) > ANSWER_LIMIT_BYTES:
        return None
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def read_arrays(path: Path, header) -> dict[str, np.ndarray]:
    """The arrays described by ``header`` ([{"name", "dtype", "shape"}]) from the raw bytes
    at ``path``; InspectionError unless every row is well-formed and the sizes add up."""
    bad = InspectionError("the inspector's answer is malformed; tell the course staff")
    if not isinstance(header, list) or len(header) > 10_000:
        raise bad
    sizes = []
    for row in header:
        shape = row.get("shape") if isinstance(row, dict) else None
        if not (isinstance(shape, list) and len(shape) <= 8 and isinstance(row.get("name"), str)
                and all(isinstance(n, int) and 0 <= n <= ARRAYS_LIMIT_BYTES for n in shape)
                and row.get("dtype") in ARRAY_DTYPES):
            raise bad
        sizes.append(int(np.prod(shape, dtype=object)) * np.dtype(row["dtype"]).itemsize)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise bad from None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or sum(sizes) > ARRAYS_LIMIT_BYTES:
            raise bad
        data = f.read(ARRAYS_LIMIT_BYTES + 1)
    if len(data) != sum(sizes):
        raise bad
    arrays, start = {}, 0
    for row, size in zip(header, sizes):
        dtype = np.dtype(row["dtype"])
        arrays[row["name"]] = np.frombuffer(data, dtype, size // dtype.itemsize,
                                            start).reshape(row["shape"]).copy()
        start += size
    return arrays
