"""The check library that visible and hidden tests call.

Every ``check_*`` function returns a :class:`CheckResult` and, by default, raises
``AssertionError`` with a message naming the problem when the check fails (assert-style,
for nbgrader test cells). Each check is a :class:`Check` with two halves: ``collect``
calls the student's code and returns plain data; ``judge`` compares that data with the
check's own references (torch autograd, the kit's data) and never touches student objects.

No check scores what the kernel merely says about itself: an accuracy is measured by the
judge on a file the notebook saved, a parameter count against the layout the test gives.
A model's total under a cap, its layer types or its eval mode cannot be verified from the
kernel's word, so they are not checks; nor is a hand-written backward compared with a
reference the kernel computes (the saved archive's cap is:
``check_archive_accuracy(..., parameter_cap=...)``).

Layout: the shape every check shares sits here (``core``: Check, run, the replay's
building block; ``result``; ``convert``: student values to arrays; ``evidence``: the
evidence file's encoding; ``compare`` and ``tolerances``); the checks themselves are in
three families, each a subpackage:

* ``numpy_code``: checks on NumPy code (A1, A4); nothing on its import path imports torch;
* ``torch_code``: checks on PyTorch code (A2, A3, A5);
* ``saved_files``: checks judged from a file the notebook saved (weights, archives,
  checkpoints).

Notebooks use the flat namespace only (``checks.check_layer(...)``), which re-exports every
family's checks; importing it does not import torch.
"""
from . import numpy_code, saved_files, torch_code
from .compare import relative_error
from .core import Check, StudentError, run
from .result import CheckResult, rubric

__all__ = ["Check", "CheckResult", "StudentError", "run", "rubric", "relative_error"]
for _family in (numpy_code, torch_code, saved_files):  # the flat namespace notebooks use
    globals().update({_name: getattr(_family, _name) for _name in _family.__all__})
    __all__ += _family.__all__
del _family

from .. import asserts as _asserts

_asserts.install()  # in IPython: a test cell's checks run past a failing plain assert
