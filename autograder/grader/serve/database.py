"""The service's own tables (the queue, the hashed tokens): where they live, connections.

By default they are in ``serve/service.db``, a SQLite file of the course in WAL mode: one
service process per course. Where the course's nbgrader_config.py names a PostgreSQL
``db_url`` (course.Course.db_url), they are in that database, beside the gradebook, and
several service processes (on machines sharing the course folder) serve one course.

One connection per operation, in one transaction, so the web routes and the grading loop
never share a connection across threads. A writing transaction is serialised with every
other one (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-level advisory lock), so a
read-then-write (a claim, a rate-limited insert) never interleaves with another process's.

Each process has an owner key, written on the rows it claims. On PostgreSQL the process
holds a session advisory lock on that key for its whole life, on a connection of its own:
the server releases it when the process dies, so ``alive`` tells a killed process's rows
(free to take back) from a live one's (never stolen), without clocks or leases.
"""
from __future__ import annotations

import secrets
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from ..course import Course

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY, student TEXT NOT NULL, assignment TEXT NOT NULL,
    created REAL NOT NULL, state TEXT NOT NULL, late INTEGER NOT NULL,
    notebook TEXT NOT NULL, hand_in TEXT NOT NULL,
    score REAL, max_score REAL, shown_score REAL, shown_max REAL,
    problem TEXT NOT NULL DEFAULT '', graded REAL, counts INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS by_state ON submissions (state, created);
CREATE INDEX IF NOT EXISTS by_student ON submissions (student, assignment, created);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, who TEXT NOT NULL, role TEXT NOT NULL,
    issued REAL NOT NULL, revoked REAL);
CREATE INDEX IF NOT EXISTS by_who ON tokens (who, role);
"""
# PostgreSQL's REAL has 24 bits: a timestamp would be off by minutes.
POSTGRES_SCHEMA = SCHEMA.replace(" REAL", " DOUBLE PRECISION")
WRITERS = 0x6167_7365_7276_65  # the advisory lock every writing transaction takes ("agserve")

_READY: set[str] = set()  # databases whose schema this process has created or checked
_ENGINES: dict = {}       # PostgreSQL URL -> SQLAlchemy engine (its connection pool)
_OWNERS: dict = {}        # database -> (this process's owner key, the connection holding it)
_GUARD = threading.RLock()


def folder(course: Course) -> Path:
    """``serve/`` in the course: the stored uploads, the feedback snapshots (and the
    SQLite database)."""
    return course.root / "serve"


def path(course: Course) -> Path:
    return folder(course) / "service.db"


def shared(course: Course) -> bool:
    """Whether the tables are in PostgreSQL (several service processes may share them)."""
    return course.db_url.startswith("postgresql")


def where(course: Course) -> str:
    """The database, for messages (a password in the URL is not shown)."""
    if not shared(course):
        return str(path(course))
    from sqlalchemy.engine import make_url

    return make_url(course.db_url).render_as_string(hide_password=True)


def problem(course: Course) -> str | None:
    """Why the service's tables cannot be used, in one line naming what to do; None when
    they can (a connection is opened and the schema made ready)."""
    try:
        with connect(course, write=False) as db:
            db.execute("SELECT COUNT(*) FROM submissions").fetchone()
    except ModuleNotFoundError as err:
        return (f"the PostgreSQL driver is missing ({err}): pip install 'psycopg[binary]' "
                "(make setup installs the kit's requirements)")
    except Exception as err:  # the driver's own errors: unreachable, refused, no database
        return (f"cannot use the database {where(course)} ({type(err).__name__}: "
                f"{str(err).strip()[:300]}): check c.CourseDirectory.db_url in the course's "
                "nbgrader_config.py and that the server runs")
    return None


class _Postgres:
    """A DB-API connection that reads sqlite3's ``?`` placeholders, so each query of the
    service is written once for both databases."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql: str, parameters=()):
        cursor = self.connection.cursor()  # no parameters: the text as it is (the schema)
        cursor.execute(sql.replace("?", "%s"), tuple(parameters) or None)
        return cursor

    def executemany(self, sql: str, rows):
        cursor = self.connection.cursor()
        cursor.executemany(sql.replace("?", "%s"), [tuple(row) for row in rows])
        return cursor


def _engine(url: str):
    with _GUARD:
        if url not in _ENGINES:
            from sqlalchemy import create_engine

            _ENGINES[url] = create_engine(url, pool_pre_ping=True)
        return _ENGINES[url]


@contextmanager
def connect(course: Course, write: bool = True):
    """A connection in one transaction: committed on success, rolled back on error.
    write: serialise with every other writer from the start (a read-then-write, such as
    a claim, must not interleave with another); readers do not wait for writers."""
    if shared(course):
        with _connect_postgres(course.db_url, write) as db:
            yield db
        return
    folder(course).mkdir(mode=0o700, exist_ok=True)
    db = sqlite3.connect(path(course), timeout=60, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=FULL")  # a 202 means the row is on disk
        if str(path(course)) not in _READY:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(submissions)")}
            if "owner" not in columns:  # a service.db of an earlier version
                db.execute("ALTER TABLE submissions ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
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


@contextmanager
def _connect_postgres(url: str, write: bool):
    connection = _engine(url).raw_connection()  # from the pool; close() gives it back
    db = _Postgres(connection)
    try:
        if url not in _READY:  # two processes creating the tables at once would collide
            db.execute("SELECT pg_advisory_xact_lock(?)", (WRITERS,))
            db.execute(POSTGRES_SCHEMA)
            connection.commit()
            _READY.add(url)
        if write:
            db.execute("SELECT pg_advisory_xact_lock(?)", (WRITERS,))
        try:
            yield db
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
    finally:
        connection.close()


def owner(course: Course) -> str:
    """This process's owner key for the rows it claims (on PostgreSQL, held as a session
    advisory lock from the first call until the process ends)."""
    key = course.db_url if shared(course) else str(path(course))
    with _GUARD:
        if key not in _OWNERS:
            number, holder = secrets.randbelow(2 ** 62) + 1, None
            if shared(course):
                holder = _engine(course.db_url).raw_connection()  # never given back
                holder.cursor().execute("SELECT pg_advisory_lock(%s)", (number,))
                holder.commit()
            _OWNERS[key] = (str(number), holder)
        return _OWNERS[key][0]


def alive(course: Course, db, key: str) -> bool:
    """Whether the process of owner ``key`` may still be grading its rows. SQLite: only
    this process (one service per course, so what another left is a stopped one's);
    PostgreSQL: whoever holds the key's lock (``db``: a connection in a transaction)."""
    if key == owner(course):
        return True
    if not shared(course) or not key.isdigit():
        return False
    (taken,) = db.execute("SELECT pg_try_advisory_xact_lock(?)", (int(key),)).fetchone()
    return not taken  # taken: nobody held it (released again when the transaction ends)
