"""The grader's reader of a file a notebook saved (weights as .npz or a state_dict).

Registered as the reference ``"saved_arrays"``: the judges of the saved-file checks
(``check_saved_network_accuracy``, ``check_history_checkpoint``) read the file from the
submission themselves, with this reader, instead of scoring arrays the kernel reported.
The reader never opens the file in the judge's process: the sandboxed artifact inspector
loads it and answers with plain arrays (judge/inspection.py).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ...student.checks.core import StudentError


def saved_arrays(path: Path) -> dict:
    """{key: ndarray} of the regular file at ``path`` (no link; at most
    ``inspection.FILE_LIMIT_BYTES``), loaded as plain arrays (``np.load(allow_pickle=False)``, ``torch.load(weights_only=True)``) by the
    sandboxed inspector."""
    from ..judge.inspection import InspectionError, inspect

    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise StudentError(f"{path.name} was not saved: run the cell that saves it") from None
    if not stat.S_ISREG(info.st_mode):
        raise StudentError(f"{path.name} is not a regular file (a link or a folder)")
    try:
        return inspect(path, "arrays")["arrays"]
    except InspectionError as err:
        if err.unreadable:
            raise StudentError(f"{path.name} cannot be read as plain arrays "
                               f"({err.unreadable})") from None
        raise
