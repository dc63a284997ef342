"""Sandbox slots held apart by the processes of one machine.

As root each sandbox runs as ``ROOT_SLOT_UID + slot``, so two processes that grade at
once must never use the same slot. A process holds its slot (or range of slots) by an
exclusive lock on a file in the temp folder, kept for the life of the process: the lock
goes with the process however it ends.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from typing import Iterable


def hold_first_free(candidates: Iterable[int], prefix: str) -> tuple[int, object] | None:
    """(the first candidate whose lock file ``<temp>/<prefix>-<candidate>.lock`` this
    process could lock, its open handle: keep it referenced), or None when others hold
    every one."""
    for candidate in candidates:
        handle = open(os.path.join(tempfile.gettempdir(), f"{prefix}-{candidate}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return candidate, handle
    return None
