"""Harvest: copy what a grading job produced into the course, treating it as hostile data.

Only regular files are copied, each opened without following links and checked again
after opening (a file swapped for a link in between is refused); symlinks, hard links,
FIFOs, sockets and devices are skipped. Every file and the whole job have a size cap.
Anything odd becomes a note for the grader's summary, never an exception: one broken or
malicious submission never stops the batch.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

FILE_LIMIT_BYTES = 32 * 2**20   # the course's largest saved model is a few MB
JOB_LIMIT_BYTES = 64 * 2**20
MAX_FILES = 2000
MAX_DEPTH = 8


MAX_NOTES = 10


def _copy_regular(source: Path, target: Path, file_limit: int, room: int) -> tuple[int, str]:
    """(bytes copied, note) for one file; the note says why it was skipped.

    room: what is left of the job's cap."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        return 0, f"{source.name}: not copied ({err.strerror.lower()})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return 0, f"{source.name}: not copied (not a regular file)"
        if info.st_nlink != 1:
            return 0, f"{source.name}: not copied (a hard link to another file)"
        if info.st_size > file_limit:
            return 0, (f"{source.name}: not copied ({info.st_size / 2**20:.0f} MB, over the "
                       f"{file_limit // 2**20} MB cap per file)")
        if info.st_size > room:
            return 0, f"{source.name}: not copied (the job's cap on copied bytes is used up)"
        limit = min(file_limit, room)
        copied = 0
        with open(fd, "rb", closefd=False) as src, open(target, "xb") as dst:
            while chunk := src.read(1 << 20):
                copied += len(chunk)
                if copied > limit:  # the file grew after fstat
                    break
                dst.write(chunk)
        if copied > limit:
            target.unlink()
            return 0, f"{source.name}: not copied (grew over the {limit // 2**20} MB cap)"
        return copied, ""
    finally:
        os.close(fd)


def harvest(source: Path, destination: Path, first=(), file_limit: int = FILE_LIMIT_BYTES,
            job_limit: int = JOB_LIMIT_BYTES) -> list[str]:
    """Replace ``destination`` by the safe part of ``source``; returns the notes (the
    first ten, and how many more).

    first: names in the top folder to copy before anything else (the notebooks and the
    files the judge reads), so that a flood of other files cannot push them out.
    """
    notes = copy_safely(source, destination, first, file_limit, job_limit)
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [f"... and {len(notes) - MAX_NOTES} more files not copied"]
    return notes


def copy_safely(source: Path, destination: Path, first, file_limit: int,
                job_limit: int) -> list[str]:
    """The copy itself; returns every note."""
    notes, total, count = [], 0, 0
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    if source.is_symlink() or not source.is_dir():
        return [f"{source.name}: the job left no folder of results"]
    stack = [(source, destination, 0)]
    while stack:
        folder, target, depth = stack.pop()
        try:
            entries = sorted(os.scandir(folder),
                             key=lambda e: (depth > 0 or e.name not in first, e.name))
        except OSError as err:
            notes.append(f"{folder.name}/: not read ({err.strerror.lower()})")
            continue
        for entry in entries:
            name = entry.name
            if entry.is_symlink():
                notes.append(f"{name}: not copied (a symbolic link)")
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_DEPTH:
                    notes.append(f"{name}/: not copied (folders nested deeper than {MAX_DEPTH})")
                    continue
                (target / name).mkdir()
                stack.append((Path(entry.path), target / name, depth + 1))
            elif count >= MAX_FILES:
                notes.append(f"more than {MAX_FILES} files: the rest were not copied")
                return notes
            else:
                copied, note = _copy_regular(Path(entry.path), target / name, file_limit,
                                             job_limit - total)
                if note:
                    notes.append(note)
                total += copied
                count += 1
    return notes
