"""Execution inside a grading job: nbgrader's Execute, made robust to hostile notebooks.

* Outputs arrive in the grading process as the kernel produces them; past
  ``output_limit`` bytes per notebook they are dropped and one note says so, so that a
  submission printing hundreds of megabytes costs neither the grader's memory nor the
  feedback page. Every IOPub message that can change the notebook counts (streams,
  displays, results, errors, ``update_display_data`` once per output it rewrites, comm
  messages whose state lands in the metadata), as it arrives: clearing outputs frees
  nothing. Past the limit, a cell's first error is still kept (truncated): a failing test
  must still fail.
* A kernel that dies (it exited, or a sandbox limit stopped it) does not fail the whole
  notebook: the cell it died in and every later code cell get an error output, so the
  tests that passed before keep their points and the others score 0.
* After execution, nbgrader (running as the grader) writes the notebook into the folder
  the kernel could write, and chmods every file there: a kernel could plant
  ``f1_tiny.ipynb -> /some/host/file``, and keep planting it, to have the grader write
  there. So the kernel and its whole sandbox are stopped and dead (``hooks["stop"]``,
  kernels.stop) as soon as the last cell has run, before nbgrader touches the folder:
  nothing can race. Then, as a second layer, ``SafeAutograde`` removes everything there
  that is not a plain file or folder, writes the notebook as a new file through the
  folder's descriptor (O_NOFOLLOW, O_EXCL), and chmods through O_PATH descriptors
  (safetree: iterative, any depth, anything there a note, never an exception).
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

from ..sandbox import safetree

KERNEL_DIED = "KernelDied"
NOT_OUTPUT = {"status", "execute_input", "shutdown_reply"}  # never change the notebook
ERROR_KEPT_BYTES = 4000  # of a cell's first error, past the output limit


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
            self.stop_kernel()  # the last cell has run: nothing of the kernel may live on

    def stop_kernel(self, now: bool = False) -> None:
        """Stop the job's kernel and its sandbox, and wait until they are dead (without
        the hook, a kernel nbclient started is its own to stop, unless ``now``)."""
        stop = CappedExecute.hooks.get("stop")
        if stop is not None:
            stop()
        elif now and self.km is not None:
            run_sync(self.km.shutdown_kernel)(now=True)

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
            self.stop_kernel(now=True)
            cell.outputs.append(_died("this cell ran past its wall-clock limit and did not "
                                      "stop when interrupted, so the kernel was stopped"))
            return cell, resources

    def process_message(self, msg, cell, cell_index):
        """nbclient's handling of one IOPub message, once the message's bytes are counted;
        past the limit, the message is dropped (see the module's docstring)."""
        if msg.get("msg_type") in NOT_OUTPUT:
            return super().process_message(msg, cell, cell_index)
        self.output_bytes += message_bytes(msg) * self._outputs_rewritten(msg)
        if self.output_bytes <= self.output_limit:
            return super().process_message(msg, cell, cell_index)
        if not self.output_truncated:
            self.output_truncated = True
            cell.outputs.append(new_output("stream", name="stderr", text=(
                f"[output limit: more than {self.output_limit // 2**20} MB of output in this "
                "notebook; the grader dropped the rest]\n")))
        if msg.get("msg_type") == "error" and not any(
                out.get("output_type") == "error" for out in cell.outputs):
            cell.outputs.append(_small_error(msg.get("content") or {}))
        return None

    def on_cell_executed(self, **kwargs):
        """nbgrader appends an error reply's traceback when no error output matches it:
        past the limit, that traceback is cut too."""
        reply = kwargs.get("execute_reply") or {}
        content = reply.get("content") or {}
        if content.get("status") == "error":
            self.output_bytes += len(json.dumps(content, default=str))
            if self.output_bytes > self.output_limit:
                small = _small_error(content)
                reply["content"] = {**content, "ename": small.ename, "evalue": small.evalue,
                                    "traceback": small.traceback}
        return super().on_cell_executed(**kwargs)

    def _outputs_rewritten(self, msg) -> int:
        """How many outputs the message writes: an update (or a display with a known
        display_id) rewrites every output shown under that id."""
        transient = (msg.get("content") or {}).get("transient") or {}
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        shown = self._display_id_map.get(display_id, {}) if display_id else {}
        return 1 + sum(len(indices) for indices in shown.values())


def message_bytes(msg) -> int:
    """Bytes a message could add to the notebook: its content and binary buffers."""
    size = len(json.dumps(msg.get("content", {}), default=str))
    return size + sum(len(b) for b in msg.get("buffers") or [])


def _small_error(content: dict):
    """A cell's error output, cut to ERROR_KEPT_BYTES (a test that failed still fails)."""
    traceback = [str(line)[:ERROR_KEPT_BYTES // 4] for line in
                 (content.get("traceback") or [])[-3:]]
    return new_output("error", ename=str(content.get("ename", "Error"))[:200],
                      evalue=str(content.get("evalue", ""))[:ERROR_KEPT_BYTES // 4],
                      traceback=traceback)


def _died(message: str):
    return new_output("error", ename=KERNEL_DIED, evalue=message,
                      traceback=[f"{KERNEL_DIED}: {message}"])


def remove_special_files(folder: str) -> list[str]:
    """Delete links, FIFOs, sockets and devices below ``folder``; returns a note on each."""
    return safetree.remove_special(folder)


def write_new_file(folder: str, name: str, data: bytes) -> None:
    """Write ``folder/name`` as a new regular file: through the folder's descriptor, an
    existing entry of that name (whatever it is) removed first, created with O_EXCL and
    O_NOFOLLOW, so no link, FIFO or hard link is ever written through."""
    fd = os.open(folder, safetree.DIR_FLAGS)
    try:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                safetree.remove_tree(f"/proc/self/fd/{fd}/{name}")
            else:
                os.unlink(name, dir_fd=fd)
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o644, dir_fd=fd)
        with open(out, "wb") as f:
            f.write(data)
    finally:
        os.close(fd)


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
        """Written twice: sanitized, before the kernel gets any code (a kernel started
        ahead runs nothing yet), then autograded, once the kernel is dead (stopped after
        its last cell; again here, should execution have failed before). Each time as a
        new plain file."""
        if self.hooks.get("stop") and not getattr(self, "_sanitizing", False):
            self.hooks["stop"]()
        folder = self._format_dest(resources["nbgrader"]["assignment"],
                                   resources["nbgrader"]["student"])
        self.writer.build_directory = folder  # where Autograde looks for the sanitized copy
        self.removed = remove_special_files(folder)
        name = resources["unique_key"] + resources.get("output_extension", ".ipynb")
        write_new_file(folder, name, output.encode() if isinstance(output, str) else output)

    def set_permissions(self, assignment_id, student_id):
        """Plain files only, never through a link (nbgrader's own follows them)."""
        permissions = int(str(self.permissions), 8)
        folder = os.path.normpath(self._format_dest(assignment_id, student_id))
        self.removed += safetree.chmod_files(folder, permissions)


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
