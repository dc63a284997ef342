"""Where a course lives and how nbgrader is configured for it.

A course directory holds ``source/``, ``assignments/`` (nbgrader's release directory),
``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db`` and the kit's exports.
The repository itself is a course directory (see nbgrader_config.py).
"""
from __future__ import annotations

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

# Budgets of COURSE_SPEC: seconds for the whole notebook on 2 CPU cores without GPU.
BUDGET_SECONDS = {
    "a1_numpy_mlp": 120,
    "a2_torch_mlp": 180,
    "a3_torch_cnn": 180,
    "a4_numpy_cnn": 300,
    "a5_cifar10": 420,
}
DEFAULT_BUDGET_SECONDS = 120


@dataclass
class Course:
    """An nbgrader course directory."""

    root: Path

    def __post_init__(self):
        self.root = Path(self.root).resolve()

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

    def assignments(self) -> list[str]:
        """Assignment ids: folders of source/ that hold a notebook, sorted."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir()
                      if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.source / assignment).glob("*.ipynb"))

    def from_scratch(self, assignment: str) -> bool:
        """True when a source notebook says ``"autograder": {"from_scratch": true}`` in its
        metadata: the students differentiate by hand, so grading kernels get no autodiff
        library (see sandbox.autodiff_paths)."""
        return any(read_notebook(p).get("metadata", {}).get("autograder", {})
                   .get("from_scratch") for p in self.notebooks(assignment))

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


def read_notebook(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}
