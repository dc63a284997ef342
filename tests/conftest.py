"""Shared test setup: point the kit at the course data, never download."""
import os
from pathlib import Path

import pytest

# The tests judge as the grader does: with its references, which name the mistakes that
# only an answer to the exercise can recognise (a grading kernel never has them).
import autograder.grader.references  # noqa: F401,E402

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
