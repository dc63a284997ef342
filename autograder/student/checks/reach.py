"""Which of the notebook's own definitions a check's collect half really called.

The judge adds "this test uses your sigmoid_grad, which failed test_sigmoid" to a failed
cell (grader/judge/diagnose.py). A static call graph would name a function called only
in a branch that never runs; so, in a grading kernel, the collect half records the
top-level names (``relu``, ``Net`` for ``Net.forward``) of the functions defined in
notebook cells that it entered, and the record carries them to the judge.

This is only ever used for a note, never for a point: the student's process could forge
it, so the judge bounds it and repeats only names the teacher's notebook defines.

Cost: ``sys.settrace``'s global function runs once per Python call (never per line: it
returns None, so no frame is traced locally) and looks each code object up once.
"""
from __future__ import annotations

import contextlib
import linecache
import sys

MAX_NAMES = 256   # names one check records; a notebook defines a few dozen


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


@contextlib.contextmanager
def calls_recorded(active: bool = True):
    """Within the block, record in the yielded list the top names of the cell-defined
    functions entered on this thread (each once, at most MAX_NAMES). The trace function
    in place before (a debugger's) is restored after; ``active=False`` records nothing."""
    names: list[str] = []
    if not active:
        yield names
        return
    seen: set = set()

    def hook(frame, event, arg):
        code = frame.f_code
        if code not in seen:
            seen.add(code)
            if is_cell_file(code.co_filename) and len(names) < MAX_NAMES:
                name = top_name(code)
                if name is not None and name not in names:
                    names.append(name)
        return None   # no line events: the frame runs at (almost) full speed

    outer = sys.gettrace()
    sys.settrace(hook)
    try:
        yield names
    finally:
        sys.settrace(outer)
