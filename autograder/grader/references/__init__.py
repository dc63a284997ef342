"""References the judge needs that are answers to exercises: grader side only.

Importing this package registers them with the check library, so that a judge running in
the grader (the coordinator, the tests) compares numbers and names mistakes, while the same
check in a student's Jupyter or a grading kernel decides only what needs no answer.
"""
from ...student.checks.core import register_reference
from .optimisers import adam_mistakes
from .saved import saved_arrays
from .training import (checkpoint_scores, reference_evaluate, reference_test_epoch,
                       reference_train_epoch, reference_train_epoch_means)

register_reference("adam", adam_mistakes)
register_reference("train_one_epoch", reference_train_epoch)
register_reference("test_one_epoch", reference_test_epoch)
register_reference("train_epoch", reference_train_epoch_means)
register_reference("evaluate_epoch", reference_evaluate)
register_reference("checkpoint_scores", checkpoint_scores)
register_reference("saved_arrays", saved_arrays)

COURSE_REFERENCES = "grader_references.py"  # in a course's source/, beside the assignments


def load_course_references(source) -> None:
    """Run the course's own ``source/grader_references.py`` (teacher code, never released:
    nbgrader releases only the assignment folders), which registers references for the
    course's exercises with ``register_reference``. Loaded once per path."""
    from pathlib import Path
    import runpy

    path = Path(source) / COURSE_REFERENCES
    if path.is_file() and str(path) not in _LOADED:
        runpy.run_path(str(path), run_name="course_references")
        _LOADED.add(str(path))


_LOADED: set = set()

# The archive judge registers its strict TorchScript loader and its cached per-class
# evaluation ("archive_loader", "archive_per_class") when imported.
from ..judge import archive  # noqa: F401,E402
