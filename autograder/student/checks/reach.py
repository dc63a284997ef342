"""Which of the notebook's own definitions a check's collect half really called.

The judge adds "this test uses your sigmoid_grad, which failed test_sigmoid" to a failed
cell (grader/judge/diagnose.py). A static call graph would name a function called only
in a branch that never runs; so, in a grading kernel, the collect half records the
top-level names (``relu``, ``Net`` for ``Net.forward``) of the functions defined in
notebook cells that it entered, and the record carries them to the judge.

This is only ever used for a note, never for a point: the student's process could forge
it, so the judge bounds it and repeats only names the teacher's notebook defines.

Cost: while ``sys.settrace`` is on, Python runs without its specialised instructions
(about 1.6x slower for NumPy-heavy loops; the hook itself runs once per call, never per
line, and looks each code object up once). So the trace is cut after TRACE_SECONDS of a
check and TOTAL_SECONDS of a kernel: a cut trace is not filed, and the judge falls back to
its static call graph for that check (a correct submission never runs out of time for a
note).
"""
from __future__ import annotations

import contextlib
import linecache
import sys
import time

MAX_NAMES = 256        # names one check records; a notebook defines a few dozen
TRACE_SECONDS = 0.5    # of one check's collect half traced, at most
TOTAL_SECONDS = 5.0    # of all the checks of one kernel traced, at most
_spent = [0.0]         # seconds traced in this kernel so far


def is_cell_file(filename: str) -> bool:
    """True for the file name IPython gives a cell's code: it files the cell's lines in
    ``linecache`` with no modification time (IPython.core.compilerop), which no module
    on disk gets."""
    entry = linecache.cache.get(filename)
    return entry is not None and len(entry) == 4 and entry[1] is None


def top_name(code) -> str | None:
    """The notebook-level name a code object belongs to: ``Net`` for ``Net.forward``,
    ``train`` for ``train.<locals>.step``; None for a lambda, comprehension or module."""
    name = getattr(code, "co_qualname", code.co_name).split(".")[0]
    return None if name.startswith("<") else name


class Recorded:
    """What one collect half entered: ``names`` (top names, in order), and whether the
    trace saw the whole collect (``complete``; else the judge must not rely on it)."""

    def __init__(self):
        self.names: list[str] = []
        self.complete = False

    def filed(self) -> list[str] | None:
        """The names to file with the evidence, or None when the trace was cut."""
        return self.names if self.complete else None


@contextlib.contextmanager
def calls_recorded(active: bool = True):
    """Within the block, record the top names of the cell-defined functions entered on
    this thread (each once, at most MAX_NAMES) in the yielded :class:`Recorded`. The
    trace function in place before (a debugger's) is restored after; ``active=False``, or
    a kernel past TOTAL_SECONDS of tracing, records nothing (not complete)."""
    recorded = Recorded()
    limit = min(TRACE_SECONDS, TOTAL_SECONDS - _spent[0])
    if not active or limit <= 0:
        yield recorded
        return
    seen: set = set()
    start, events, cut = time.perf_counter(), [0], [False]

    def hook(frame, event, arg):
        code = frame.f_code
        if code not in seen:
            seen.add(code)
            if is_cell_file(code.co_filename) and len(recorded.names) < MAX_NAMES:
                name = top_name(code)
                if name is not None and name not in recorded.names:
                    recorded.names.append(name)
        events[0] += 1
        if events[0] % 128 == 0 and time.perf_counter() - start > limit:
            cut[0] = True
            sys.settrace(None)   # full speed again for the rest of this collect
        return None   # no line events: the frame runs at (almost) full speed

    outer = sys.gettrace()
    sys.settrace(hook)
    try:
        yield recorded
    finally:
        sys.settrace(outer)
        elapsed = time.perf_counter() - start
        _spent[0] += min(elapsed, limit)
        recorded.complete = not cut[0] and elapsed <= limit
