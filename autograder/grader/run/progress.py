"""Progress of a grading run, on stderr, for an instructor planning around it.

Per assignment: submissions done out of the total and failures so far; for the run: time
elapsed and an estimate of the time left (from the pace of this run's jobs). On a
terminal, one line rewritten in place; otherwise (a log file, CI) a line every
``every`` seconds. At the end, a table of the slowest submissions and why (a timeout, a
sandbox limit, an error).
"""
from __future__ import annotations

import sys
import time

SLOWEST = 5


def clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def why_slow(result) -> str:
    """Why a job ended the way it did: its status, or the note on a limit that stopped it."""
    if result.status != "graded":
        return f"{result.status}: {result.message.splitlines()[0][:80] if result.message else ''}"
    limits = [note for note in result.notes if "limit" in note or "stopped" in note]
    return limits[0][:90] if limits else ""


class Progress:
    """Counts finished jobs and reports them on ``stream``."""

    def __init__(self, jobs, done=(), stream=None, every: float = 30.0, tty=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        # None until the first line: the monotonic clock starts at boot, so a 0.0 here would
        # hold back the first line on a machine up for less than ``every`` seconds
        self.every, self.start, self.shown = every, time.monotonic(), None
        self.total, self.done, self.failed = {}, {}, {}
        for _, assignment in jobs:
            self.total[assignment] = self.total.get(assignment, 0) + 1
            self.done.setdefault(assignment, 0)
            self.failed.setdefault(assignment, 0)
        for _, assignment in done:  # graded by an earlier run that stopped half-way
            self.done[assignment] += 1
        self.left = sum(self.total.values()) - sum(self.done.values())
        self.finished = 0
        self.results = []

    def line(self) -> str:
        parts = []
        for assignment, total in self.total.items():
            failed = f" ({self.failed[assignment]} failed)" if self.failed[assignment] else ""
            parts.append(f"{assignment} {self.done[assignment]}/{total}{failed}")
        elapsed = time.monotonic() - self.start
        eta = "?"
        if self.finished:
            eta = clock(elapsed / self.finished * (self.left - self.finished))
        return f"grading: {', '.join(parts)} | elapsed {clock(elapsed)}, ETA {eta}"

    def update(self, result) -> None:
        self.done[result.assignment] += 1
        self.failed[result.assignment] += result.status != "graded"
        self.finished += 1
        self.results.append(result)
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
        elif (self.shown is None or now - self.shown >= self.every
              or self.finished == self.left):
            self.shown = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        slowest = sorted(self.results, key=lambda r: -r.seconds)[:SLOWEST]
        if slowest:
            width = max(len(f"{r.student}/{r.assignment}") for r in slowest)
            print("slowest submissions:", file=self.stream)
            for r in slowest:
                print(f"  {f'{r.student}/{r.assignment}':<{width}}  {r.seconds:7.1f} s  "
                      f"{why_slow(r)}".rstrip(), file=self.stream)
        self.stream.flush()
