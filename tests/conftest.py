"""Shared test setup: point the kit at the course data, never download."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests never download. CI sets AUTOGRADER_DATA itself; a developer checkout beside
# ../shared gets the same data without setting anything.
os.environ.setdefault("AUTOGRADER_OFFLINE", "1")
if "AUTOGRADER_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["AUTOGRADER_DATA"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data root; fails (never skips) when the data is missing."""
    from autograder.student import data

    root = data.data_root()
    assert (root / "MNIST" / "raw").is_dir() and (root / "cifar-10-batches-py").is_dir(), (
        f"course data not found under {root}: set AUTOGRADER_DATA to a folder holding "
        "MNIST/raw/*.gz and cifar-10-batches-py/ (CI uses ../shared/data)")
    return root


@pytest.fixture(autouse=True)
def _no_grader_references():
    """Each test starts as a student's process does, with no grader references installed,
    and leaves none for the next: a test that judges as the grader does opts in with
    ``grader_references``."""
    from autograder.student.checks.core import forget_references

    forget_references()
    yield
    forget_references()


@pytest.fixture
def grader_references():
    """The grader's references installed, as in the judge: with them the checks compare
    numbers and name the mistakes only an answer to the exercise recognises (a student's
    Jupyter and a grading kernel never have them)."""
    from autograder.grader import references

    references.install()
