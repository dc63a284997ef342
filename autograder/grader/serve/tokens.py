"""Who is asking: per-student and instructor tokens, stored hashed.

A token is 32 random bytes (URL-safe text); the database keeps its SHA-256 only, so a copy
of the database lets nobody log in. Issuing a new token for someone revokes their old
one. ``exports/tokens.csv`` (mode 0600) lists the tokens just issued, for a mail merge;
it is the only place a token is ever written in the clear.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass

from ..course import Course
from . import database

INSTRUCTOR = "instructor"
STUDENT = "student"
# nbgrader student ids the service accepts: they become folder names under submitted/.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    """Whom a valid token belongs to."""

    who: str      # the student id, or "instructor"
    role: str     # STUDENT or INSTRUCTOR

    @property
    def instructor(self) -> bool:
        return self.role == INSTRUCTOR


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_student_id(student: str) -> str:
    if not STUDENT_ID.fullmatch(student) or student == INSTRUCTOR:
        raise TokenError(f"student id {student!r}: use letters, digits and . _ @ - "
                         "(at most 64, starting with a letter or digit)")
    return student


def issue(course: Course, who: str, role: str = STUDENT) -> str:
    """A new token for ``who`` (their older ones revoked); returns it in the clear."""
    if role == STUDENT:
        check_student_id(who)
    token = secrets.token_urlsafe(32)
    now = time.time()
    with database.connect(course) as db:
        db.execute("UPDATE tokens SET revoked = ? WHERE who = ? AND role = ? AND revoked IS NULL",
                   (now, who, role))
        db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, NULL)", (digest(token), who, role, now))
    return token


def revoke(course: Course, who: str, role: str = STUDENT) -> int:
    """Revoke every live token of ``who``; how many were live."""
    with database.connect(course) as db:
        return db.execute("UPDATE tokens SET revoked = ? WHERE who = ? AND role = ? "
                          "AND revoked IS NULL", (time.time(), who, role)).rowcount


def identify(course: Course, token: str | None) -> Identity | None:
    """The identity of a live token, None for anything else."""
    if not token or len(token) > 200:
        return None
    with database.connect(course, write=False) as db:
        row = db.execute("SELECT who, role FROM tokens WHERE digest = ? AND revoked IS NULL",
                         (digest(token),)).fetchone()
    return Identity(*row) if row else None


def with_tokens(course: Course) -> set[str]:
    """The students holding a live token."""
    with database.connect(course, write=False) as db:
        return {who for (who,) in db.execute(
            "SELECT who FROM tokens WHERE role = ? AND revoked IS NULL", (STUDENT,))}


def write_csv(course: Course, issued: dict[str, str]):
    """``exports/tokens.csv``: student,token of the tokens just issued (mode 0600)."""
    course.exports.mkdir(parents=True, exist_ok=True)
    out = course.exports / "tokens.csv"
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "token"])
        writer.writerows(sorted(issued.items()))
    return out
