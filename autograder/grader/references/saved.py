"""The grader's reader of a file a notebook saved (weights as .npz or a state_dict).

Registered as the reference ``"saved_arrays"``: the judges of the saved-file checks
(``check_saved_network_accuracy``, ``check_history_checkpoint``) read the file from the
submission themselves, with this reader, instead of scoring arrays the kernel reported.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ...student.checks.core import StudentError

MAX_BYTES = 256 * 2 ** 20  # far above any network of the course; a bigger file is refused


def saved_arrays(path: Path) -> dict:
    """{key: ndarray} of the regular file at ``path`` (no link, at most MAX_BYTES), loaded as
    plain arrays (``np.load(allow_pickle=False)``, ``torch.load(weights_only=True)``)."""
    from ..pipeline.judge import load_arrays

    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise StudentError(f"{path.name} was not saved: run the cell that saves it") from None
    if not stat.S_ISREG(info.st_mode):
        raise StudentError(f"{path.name} is not a regular file (a link or a folder)")
    if info.st_size > MAX_BYTES:
        raise StudentError(f"{path.name} has {info.st_size:,} bytes, more than the "
                           f"{MAX_BYTES:,} a saved network may have")
    try:
        return load_arrays(path)
    except StudentError:
        raise
    except Exception as err:  # noqa: BLE001 (any unreadable file is the submission's)
        raise StudentError(f"{path.name} cannot be read as plain arrays "
                           f"({type(err).__name__})") from None
