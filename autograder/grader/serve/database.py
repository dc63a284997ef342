"""The service's own database: ``serve/service.db`` in the course directory.

It holds the queue of submissions and the hashed tokens; the gradebook stays the system of
record for scores. One connection per operation (SQLite in WAL mode, a busy timeout), so
the web routes and the grading loop never share a connection across threads.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from ..course import Course

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY, student TEXT NOT NULL, assignment TEXT NOT NULL,
    created REAL NOT NULL, state TEXT NOT NULL, late INTEGER NOT NULL,
    notebook TEXT NOT NULL, hand_in TEXT NOT NULL,
    score REAL, max_score REAL, shown_score REAL, shown_max REAL,
    problem TEXT NOT NULL DEFAULT '', graded REAL, counts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS by_state ON submissions (state, created);
CREATE INDEX IF NOT EXISTS by_student ON submissions (student, assignment, created);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, who TEXT NOT NULL, role TEXT NOT NULL,
    issued REAL NOT NULL, revoked REAL);
CREATE INDEX IF NOT EXISTS by_who ON tokens (who, role);
"""


def folder(course: Course) -> Path:
    """``serve/`` in the course: the database, the stored uploads, the feedback snapshots."""
    return course.root / "serve"


def path(course: Course) -> Path:
    return folder(course) / "service.db"


_READY: set[str] = set()  # databases whose schema this process has created or checked


@contextmanager
def connect(course: Course, write: bool = True):
    """A connection in one transaction: committed on success, rolled back on error.
    write: take the write lock at the start (a read-then-write, such as a claim, must not
    interleave with another); readers do not wait for writers (WAL)."""
    folder(course).mkdir(mode=0o700, exist_ok=True)
    db = sqlite3.connect(path(course), timeout=60, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=FULL")  # a 202 means the row is on disk
        if str(path(course)) not in _READY:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            _READY.add(str(path(course)))
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()
