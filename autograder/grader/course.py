"""Where a course lives and how nbgrader is configured for it.

A course directory holds ``source/``, ``assignments/`` (nbgrader's release directory),
``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db`` and the kit's exports.
The repository itself is a course directory (see nbgrader_config.py).
"""
from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

# The repository of the kit itself (holding the ``autograder`` package), whatever the course.
KIT_ROOT = Path(__file__).resolve().parents[2]

# nbgrader's course id: the configuration's and every gradebook's.
COURSE_ID = "dl-course"

# Files a teacher's run of a notebook leaves behind (trained weights, checkpoints, model
# archives: a5_model.ts is the teacher's trained network) are never released to students,
# copied into a grading job or into a calibration run.
NEVER_RELEASED = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.npz", "*.npy",
                  "*.pt", "*.pth", "*.pt2", "*.ts", "*.ckpt", "data")

# nbgrader runs the `alembic` and `jupyter` commands of its own environment; make sure
# they are found even when this Python was started without activating its venv.
_BIN = os.path.dirname(os.path.abspath(__import__("sys").executable))
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

class CourseError(ValueError):
    """The course directory cannot be used (one line: what is wrong, what to do)."""


def _user(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


@dataclass
class Course:
    """An nbgrader course directory."""

    root: Path

    def __post_init__(self):
        self.root = Path(self.root).resolve()

    def problem(self) -> str | None:
        """What keeps this folder from serving as the course, in one line naming it and
        what to do; None when every command may use it. Checked before any command
        touches the folder: a wrong ``--course`` would otherwise end in a gradebook
        created in an arbitrary folder or a traceback from deep inside nbgrader."""
        root, me = self.root, os.geteuid()
        if not root.is_dir():
            return (f"{root} is {'not a directory' if root.exists() else 'missing'}: pass "
                    "--course with the course directory (the folder holding source/), or "
                    "run autograder inside it")
        if not (self.source.is_dir() or self.gradebook.exists()
                or (root / "nbgrader_config.py").exists()):
            return (f"{root} is not a course: it has no source/, gradebook.db or "
                    "nbgrader_config.py; pass --course with the folder holding "
                    "source/<assignment>/ (to start a course, create source/ there)")
        if not os.access(root, os.W_OK | os.X_OK):
            return (f"{root} is not writable by {_user(me)}: the commands write the "
                    "gradebook, releases and reports there; run autograder as the course's "
                    "owner or make the folder writable")
        if self.gradebook.exists():
            owner = self.gradebook.stat().st_uid
            if owner != me:
                return (f"{self.gradebook} belongs to {_user(owner)}, not {_user(me)}: run "
                        f"autograder as its owner (or chown -R the course to {_user(me)})")
            if not os.access(self.gradebook, os.R_OK | os.W_OK):
                return (f"{self.gradebook} is not readable and writable by {_user(me)}: "
                        "chmod u+rw it")
        try:
            self.db_url
        except CourseError as err:
            return str(err)
        return None

    def check(self) -> "Course":
        """This course, or CourseError with ``problem()``."""
        problem = self.problem()
        if problem:
            raise CourseError(problem)
        return self

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "assignments"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @functools.cached_property
    def db_url(self) -> str:
        """Where the gradebook is: the SQLite file ``gradebook.db``, unless the course's
        nbgrader_config.py sets ``c.CourseDirectory.db_url`` to a PostgreSQL URL. That line
        is the one fact: nbgrader, every command of the kit and ``autograder serve`` (whose
        queue and tokens then live in the same database, so that several service processes
        can share them) all read it from there."""
        return configured_db_url(self.root) or f"sqlite:///{self.gradebook}"

    def assignments(self) -> list[str]:
        """Assignment ids: folders of source/ that hold a notebook, sorted."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir()
                      if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.source / assignment).glob("*.ipynb"))

    def directory_config(self, release_directory: str = "assignments") -> Config:
        """nbgrader's settings for this course directory: the one definition, which the
        repository's nbgrader_config.py loads too (so `nbgrader` run at the repository root
        and the autograder cannot disagree).

        release_directory: where ``generate_assignment`` writes (the release stages its
        output elsewhere until the leak check has passed).
        """
        c = Config()
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.source_directory = "source"
        c.CourseDirectory.release_directory = release_directory
        c.CourseDirectory.submitted_directory = "submitted"
        c.CourseDirectory.autograded_directory = "autograded"
        c.CourseDirectory.feedback_directory = "feedback"
        c.CourseDirectory.db_url = f"sqlite:///{self.gradebook}"
        c.CourseDirectory.course_id = COURSE_ID
        # Hidden tests stay in source/ only.
        c.ClearHiddenTests.enforce_metadata = True
        c.CourseDirectory.ignore = list(NEVER_RELEASED)
        # A deleted or de-tagged test cell is put back and run from the source version.
        c.OverwriteCells.add_missing_cells = True
        return c

    def config(self, release_directory: str = "assignments", kernel: str = "python3",
               **timeouts) -> Config:
        """``directory_config`` and a grading run's settings: the kernel, and the cell
        timeout (``cell=`` seconds) where given."""
        c = self.directory_config(release_directory)
        c.CourseDirectory.db_url = self.db_url
        if "cell" in timeouts:
            c.Execute.timeout = int(timeouts["cell"])
        c.Execute.kernel_name = kernel
        return c

    def api(self, release_directory: str = "assignments", config: Config | None = None):
        """An ``NbGraderAPI`` for this course, logging quietly (``config``: one built by
        ``self.config`` with more settings)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = config or self.config(release_directory)
        coursedir = CourseDirectory(config=config)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        api.log.setLevel(logging.WARNING)
        return api


def configured_db_url(root: Path) -> str | None:
    """The PostgreSQL URL the course's nbgrader_config.py names as the gradebook's
    ``db_url``; None where it names none or the default SQLite file. The file is the
    instructor's (nbgrader runs it too); no student writes there."""
    path = root / "nbgrader_config.py"
    if not path.is_file():
        return None
    from traitlets.config.loader import PyFileConfigLoader

    try:
        config = PyFileConfigLoader(path.name, path=str(root)).load_config()
    except Exception as err:
        raise CourseError(f"{path} could not be read ({type(err).__name__}: {err}): fix it "
                          "(nbgrader reads it too)") from None
    url = config.CourseDirectory.get("db_url") if "CourseDirectory" in config else None
    if not url or url == f"sqlite:///{root / 'gradebook.db'}":
        return None
    if not str(url).startswith(("postgresql://", "postgresql+psycopg://")):
        raise CourseError(f"{path} sets c.CourseDirectory.db_url = {str(url)[:60]!r}: the "
                          "kit keeps its gradebook in gradebook.db or in PostgreSQL; name a "
                          "postgresql://user@host/database URL or remove the line")
    return str(url)


def read_notebook(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}
