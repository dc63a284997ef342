"""A real PostgreSQL server for a test: initdb in a temporary folder, started on a free
loopback port, stopped and removed afterwards.

PostgreSQL refuses to run as root: as root (CI) the server runs as ``nobody`` (its folder
given to that user); otherwise as the user running the tests. Authentication is ``trust``
on 127.0.0.1 only, for a throwaway cluster.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

INSTALL = ("install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; "
           "`make setup` says the same): the multi-process service test starts a real one")


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, newest version first."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                        else 0, reverse=True)
    found = shutil.which("pg_ctl")
    candidates += [str(Path(found).parent)] if found else []
    for folder in candidates:
        if all(os.access(Path(folder) / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One throwaway cluster; ``url(database)`` for a database created in it."""

    USER = "autograder"

    def __init__(self):
        folder = binaries()
        if folder is None:
            pytest.fail(f"no PostgreSQL server binaries (initdb, pg_ctl, postgres): {INSTALL}")
        self.bin = folder
        self.root = Path(tempfile.mkdtemp(prefix="ag-pg-"))  # not under a 0700 pytest folder
        self.data, self.port = self.root / "data", _free_port()
        self.runas = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self.runas = ["runuser", "-u", "nobody", "--"]

    def _run(self, *command: str, timeout: float = 120) -> str:
        done = subprocess.run(self.runas + list(command), capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {done.stderr[-2000:]}")
        return done.stdout

    def start(self) -> "PostgresServer":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.USER,
                  "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories="
                   f"{self.root} -c fsync=off -c max_connections=100")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def url(self, database: str) -> str:
        """A new database ``database``; its URL."""
        import psycopg

        deadline = time.time() + 30
        while True:
            try:
                admin = psycopg.connect(host="127.0.0.1", port=self.port, user=self.USER,
                                        dbname="postgres", autocommit=True)
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{database}"')
        admin.close()
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def use_database(course_root: Path, url: str) -> None:
    """Point the course's nbgrader_config.py at ``url``: the one line an instructor adds."""
    (course_root / "nbgrader_config.py").write_text(f"c = get_config()  # noqa: F821\n"
                                                    f"c.CourseDirectory.db_url = {url!r}\n")
