"""References the judge needs that are answers to exercises: grader side only.

Importing this package registers nothing. ``install()`` registers them with the check
library, and the judge calls it before judging (judge.judge_submission, the judge process,
calibrate), so that a judge running in the grader compares numbers and names mistakes,
while the same check in a student's Jupyter or a grading kernel, where nothing installs
them, decides only what needs no answer. Tests opt in with the ``grader_references``
fixture.
"""
from __future__ import annotations

import runpy
from pathlib import Path

from ...student.checks.core import register_reference, registered_references

COURSE_REFERENCES = "grader_references.py"  # in a course's source/, beside the assignments


def kit_references() -> dict:
    """{kind: reference}: the kit's answers, and the archive judge's strict loaders (a
    saved model read only through the sandboxed inspector, never ``torch.jit.load`` in the
    judge's own process)."""
    from ..judge import archive
    from .layers import conv_backward_mistakes
    from .network import mlp_mistakes
    from .optimisers import adam_mistakes
    from .saved import saved_arrays
    from .training import (checkpoint_scores, reference_evaluate, reference_test_epoch,
                           reference_train_epoch, reference_train_epoch_means)

    return {"adam": adam_mistakes, "mlp_gradients": mlp_mistakes,
            "conv2d_backward": conv_backward_mistakes, "train_one_epoch": reference_train_epoch,
            "test_one_epoch": reference_test_epoch, "train_epoch": reference_train_epoch_means,
            "evaluate_epoch": reference_evaluate, "checkpoint_scores": checkpoint_scores,
            "saved_arrays": saved_arrays, **archive.REFERENCES}


def install(source=None) -> None:
    """Register the kit's references and, given a course's ``source/`` folder, the
    course's own (``source/grader_references.py``). Idempotent: call it before judging."""
    for kind, function in kit_references().items():
        register_reference(kind, function)
    if source is not None:
        for kind, function in course_references(source).items():
            register_reference(kind, function)


def course_references(source) -> dict:
    """{kind: reference} that the course's own ``source/grader_references.py`` registers
    (teacher code, never released: nbgrader releases only the assignment folders); {}
    without one. The file runs once per path; what it registered is kept, so a later
    ``install`` puts it back without running it again."""
    path = (Path(source) / COURSE_REFERENCES).resolve()
    if path not in _COURSE and path.is_file():
        before = registered_references()
        runpy.run_path(str(path), run_name="course_references")
        _COURSE[path] = {kind: function for kind, function in registered_references().items()
                         if before.get(kind) is not function}
    return _COURSE.get(path, {})


_COURSE: dict[Path, dict] = {}  # a course's grader_references.py -> what it registered
