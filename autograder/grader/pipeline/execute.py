"""Execution inside a grading job: nbgrader's Execute, made robust to hostile notebooks.

* Outputs arrive in the grading process as the kernel produces them; past
  ``output_limit`` bytes per notebook they are dropped and one note says so, so that a
  submission printing hundreds of megabytes costs neither the grader's memory nor the
  feedback page.
* A kernel that dies (it exited, or a sandbox limit stopped it) does not fail the whole
  notebook: the cell it died in and every later code cell get an error output, so the
  tests that passed before keep their points and the others score 0.
* After execution, nbgrader (running as the grader) writes the notebook into the folder
  the kernel could write, and chmods every file there, following links: a kernel could
  plant ``f1_tiny.ipynb -> /some/host/file`` and have the grader overwrite that file.
  ``SafeAutograde`` first removes everything there that is not a plain file or folder.
* The kernel may be one the worker started ahead (kernels.py): it arrives in the job's
  hooks (``autograde(..., hooks)``; a worker grades one job at a time), and the job's own
  code stops it, not nbclient. Before each code cell, the hook ``between_cells`` lets the
  worker launch the next job's kernel.
"""
from __future__ import annotations

import json
import os
import stat

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.converters import Autograde
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

KERNEL_DIED = "KernelDied"


class CappedExecute(Execute):
    """nbgrader's Execute preprocessor, keeping at most ``output_limit`` bytes of output."""

    output_limit = Integer(8 * 2**20, help="bytes of output kept per notebook").tag(config=True)
    hooks: dict = {}  # the running job's (set by ``autograde``)

    def preprocess(self, nb, resources, km=None):
        self.output_bytes, self.output_truncated, self.kernel_died = 0, False, False
        hooks = CappedExecute.hooks
        self.between_cells = hooks.get("between_cells") or (lambda: None)
        km = km or hooks.get("kernel")
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            if km is not None and self.kc is not None:  # nbclient stops only its own
                self.kc.stop_channels()
                self.kc = None

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        self.between_cells()
        if self.kernel_died:
            cell.outputs = [_died("not run: the kernel died in an earlier cell")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.kernel_died = True
            cell.outputs.append(_died("the kernel died while running this cell (it exited, "
                                      "or a sandbox limit stopped it)"))
            return cell, resources
        except CellTimeoutError:
            # Interrupted and still busy: later cells would only queue behind it.
            self.kernel_died = True
            run_sync(self.km.shutdown_kernel)(now=True)
            cell.outputs.append(_died("this cell ran past its wall-clock limit and did not "
                                      "stop when interrupted, so the kernel was stopped"))
            return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        self.output_bytes += size
        if self.output_bytes <= self.output_limit or msg.get("msg_type") == "error":
            return super().output(outs, msg, display_id, cell_index)
        if not self.output_truncated:
            self.output_truncated = True
            outs.append(new_output("stream", name="stderr", text=(
                f"[output limit: more than {self.output_limit // 2**20} MB of output in this "
                "notebook; the grader dropped the rest]\n")))
        return None


def _died(message: str):
    return new_output("error", ename=KERNEL_DIED, evalue=message,
                      traceback=[f"{KERNEL_DIED}: {message}"])


def remove_special_files(folder: str) -> list[str]:
    """Delete links, FIFOs, sockets and devices below ``folder``; returns a note on each."""
    removed = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                os.unlink(path)
                what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                removed.append(f"{os.path.relpath(path, folder)}: not kept ({what})")
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(top, d))
                   and not os.path.islink(os.path.join(top, d))]
    return removed


class SafeAutograde(Autograde):
    """nbgrader's autograde, safe against what a kernel left in its writable folder.

    hooks: {"kernel": a started kernel manager, "between_cells": a callable, "hand_over":
    a callable given the notebook's folder once nbgrader has filled it}, all optional.
    """

    hooks = {}

    def init_destination(self, assignment_id, student_id):
        """Always grade, never remove the folder: each job's course is fresh (grade.py),
        and a kernel started ahead already runs in it."""
        return True

    def init_assignment(self, assignment_id, student_id):
        super().init_assignment(assignment_id, student_id)
        if self.hooks.get("hand_over"):
            self.hooks["hand_over"]()

    def write_single_notebook(self, output, resources):
        folder = self._format_dest(resources["nbgrader"]["assignment"],
                                   resources["nbgrader"]["student"])
        self.removed = remove_special_files(folder)
        super().write_single_notebook(output, resources)

    def set_permissions(self, assignment_id, student_id):
        """Plain files only, never through a link (nbgrader's own follows them)."""
        permissions = int(str(self.permissions), 8)
        folder = os.path.normpath(self._format_dest(assignment_id, student_id))
        for top, _, files in os.walk(folder, followlinks=False):
            for name in files:
                path = os.path.join(top, name)
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.chmod(path, permissions, follow_symlinks=False)


def autograde(api, assignment: str, student: str, hooks: dict | None = None) -> dict:
    """``api.autograde`` with ``SafeAutograde``: {"success", "error", "log", "removed"}."""
    from nbgrader.utils import capture_log, temp_attrs

    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
        app = SafeAutograde(coursedir=api.coursedir, parent=api)
        app.force, app.create_student, app.removed = True, True, []
        app.hooks = CappedExecute.hooks = hooks or {}
        try:
            return {**capture_log(app), "removed": app.removed}
        finally:
            CappedExecute.hooks = {}


def autograde_steps() -> list:
    """nbgrader's autograde preprocessors, with CappedExecute in place of Execute."""
    from nbgrader.converters.autograde import Autograde

    return [CappedExecute if step is Execute else step
            for step in Autograde.class_traits()["autograde_preprocessors"].default()]
