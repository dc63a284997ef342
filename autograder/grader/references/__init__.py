"""References the judge needs that are answers to exercises: grader side only.

Importing this package registers them with the check library, so that a judge running in
the grader (the coordinator, the tests) compares numbers and names mistakes, while the same
check in a student's Jupyter or a grading kernel decides only what needs no answer.
"""
from ...student.checks.core import register_reference
from .optimisers import adam_mistakes
from .training import reference_test_epoch, reference_train_epoch

register_reference("adam", adam_mistakes)
register_reference("train_one_epoch", reference_train_epoch)
register_reference("test_one_epoch", reference_test_epoch)

# The archive judge registers its strict TorchScript loader and its cached per-class
# evaluation ("archive_loader", "archive_per_class") when imported.
from ..pipeline import archive  # noqa: F401,E402
