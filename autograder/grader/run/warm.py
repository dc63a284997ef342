"""Warm workers: long-lived grading processes, each grading job after job.

A job used to pay for a fresh Python process that imported nbgrader and the kit (over a
second) before its kernel even started. A warm worker (``worker.py --serve``) imports
them once and reads job spec paths on stdin; every job still gets a fresh sandboxed
kernel and a fresh scratch course. The coordinator may send the next jobs' specs while the
current job runs (``run(spec, limit, then=[...])``), so that the worker launches the next
job's kernel ahead; answers come back in the order the specs were sent. The coordinator waits
for each answer no longer than the job's wall-clock limit: past it, or when the worker
dies, it kills the worker's whole process group (worker, kernels, sandboxes) and starts a
new worker, sending it again the specs the old one had not answered.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .worker import RESULT

JOBS_PER_WORKER = 200  # then a fresh process, so that nothing grows without bound


class WorkerTimeout(RuntimeError):
    pass


class WorkerDied(RuntimeError):
    pass


def worker_command() -> list[str]:
    """The worker dies with the coordinator's thread that started it, and takes its kernel
    along."""
    return ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
            sys.executable, "-m", "autograder.grader.run.worker", "--serve"]


class WarmWorker:
    """One warm worker process, started on first use and restarted after a failure."""

    def __init__(self, command: list[str] | None = None, env: dict | None = None):
        self.command = command or worker_command()
        self.env = env  # the process's environment (None: the coordinator's)
        self.process = None
        self.buffer = b""
        self.jobs = 0
        self.log = b""  # the end of what the worker logged during the current job
        self.drain = None
        self.sent: list[str] = []  # specs the current process has not answered yet

    def _start(self) -> None:
        # stderr: a pipe read as it comes (the kernels inherit it), so that nothing they
        # print piles up in a file or in memory
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True, env=self.env)
        self.buffer, self.jobs, self.sent = b"", 0, []
        self.drain = threading.Thread(target=self._keep_log, args=(self.process.stderr,),
                                      daemon=True)
        self.drain.start()

    def _keep_log(self, pipe) -> None:
        """Read the worker's log as it comes, keeping its last 4 kB."""
        while chunk := os.read(pipe.fileno(), 65536):
            self.log = (self.log + chunk)[-4096:]

    def _read_line(self, deadline: float) -> str:
        """The worker's next line on stdout, waiting until ``deadline`` at most."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise WorkerDied(self._log_tail())
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def _log_tail(self) -> str:
        """What the worker logged during the current job (the end of it)."""
        self.process.wait()
        self.drain.join(timeout=5)
        return self.log.decode(errors="replace").strip()[-2000:]

    def ensure_started(self) -> None:
        """A running process: a new one after a failure, or when this one is due."""
        if self.process is None or self.process.poll() is not None or \
                (self.jobs >= JOBS_PER_WORKER and not self.sent):
            self.stop()
            self._start()

    def _send(self, spec: Path) -> None:
        self.process.stdin.write(f"{spec}\n".encode())
        self.process.stdin.flush()
        self.sent.append(str(spec))

    def send(self, spec: Path) -> None:
        """Send the job ``spec`` now (the worker starts it when it is free); ``run``
        collects its outcome. A worker that dies meanwhile gets it again from ``run``."""
        self.ensure_started()
        if str(spec) in self.sent:
            return
        try:
            self._send(spec)
        except BrokenPipeError:
            self.kill()

    def run(self, spec: Path, limit: float, then=()) -> dict:
        """The answer to the job ``spec``, as JSON data (a grading worker's is a
        ``records.Outcome``, read by outcome.run_outcome); raises WorkerTimeout past
        ``limit`` seconds (the worker is then killed) and WorkerDied when the worker exits
        during the job or answers no JSON.
        ``then``: the specs of the next jobs, sent now so that their kernels start ahead
        (not when this worker is due for a fresh process)."""
        self.ensure_started()
        deadline = time.monotonic() + limit
        self.log = b""
        try:
            if str(spec) not in self.sent:
                self._send(spec)
            for upcoming in then:
                if str(upcoming) not in self.sent and \
                        self.jobs + len(self.sent) < JOBS_PER_WORKER:
                    self._send(upcoming)
            line = self._read_line(deadline)
            while not line.startswith(RESULT):  # READY, once the imports are done
                line = self._read_line(deadline)
        except WorkerTimeout:
            self.kill()
            raise
        except (WorkerDied, BrokenPipeError) as err:
            message = str(err) if isinstance(err, WorkerDied) else self._log_tail()
            self.kill()
            raise WorkerDied(message) from None
        self.jobs += 1
        answered = self.sent.pop(0)
        if answered != str(spec):  # never expected: the specs were not run in order
            self.kill()
            raise WorkerDied(f"the worker answered {answered}, not {spec}")
        try:
            return json.loads(line[len(RESULT):])
        except ValueError:  # never expected either: the worker is the kit's own
            self.kill()
            raise WorkerDied(f"the worker's answer is not JSON: {line[:200]!r}") from None

    def kill(self) -> None:
        """Kill the worker with its kernel and sandbox; the next job starts a new one."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
            self.sent = []

    def stop(self) -> None:
        """Let an idle worker finish (end of its input), killing it if it lingers."""
        if self.process is None:
            return
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            pass
        self.kill()
