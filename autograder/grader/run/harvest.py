"""Harvest: copy what a grading job produced into the course, treating it as hostile data.

Only regular files are copied, each opened without following links and checked again
after opening (a file swapped for a link in between is refused); symlinks, hard links,
FIFOs, sockets and devices are skipped. The folders are walked through their descriptors
(``openat`` with O_NOFOLLOW, each checked to be the folder listed): no path below the
job's folder is resolved again. The walk recurses, never deeper than MAX_DEPTH. Every
file and the whole job have a size cap. Anything odd becomes a note for the grader's
summary, never an exception: one broken or malicious submission never stops the batch.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..sandbox import safetree

FILE_LIMIT_BYTES = 32 * 2**20   # the course's largest saved model is a few MB
JOB_LIMIT_BYTES = 64 * 2**20
MAX_FILES = 2000
MAX_DEPTH = 8


MAX_NOTES = 10


def _copy_regular(source, target: Path, file_limit: int, room: int,
                  dir_fd: int | None = None) -> tuple[int, str]:
    """(bytes copied, note) for one file; the note says why it was skipped.

    source: a path, or a name in the folder ``dir_fd``; room: what is left of the job's cap."""
    name = os.path.basename(str(source))
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except OSError as err:
        return 0, f"{name}: not copied ({err.strerror.lower()})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return 0, f"{name}: not copied (not a regular file)"
        if info.st_nlink != 1:
            return 0, f"{name}: not copied (a hard link to another file)"
        if info.st_size > file_limit:
            return 0, (f"{name}: not copied ({info.st_size / 2**20:.0f} MB, over the "
                       f"{file_limit // 2**20} MB cap per file)")
        if info.st_size > room:
            return 0, f"{name}: not copied (the job's cap on copied bytes is used up)"
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
            return 0, f"{name}: not copied (grew over the {limit // 2**20} MB cap)"
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


class _Full(Exception):
    """MAX_FILES copied: the walk stops."""


def copy_safely(source: Path, destination: Path, first, file_limit: int,
                job_limit: int) -> list[str]:
    """The copy itself; returns every note."""
    notes = []
    safetree.remove_tree(destination)
    destination.mkdir(parents=True)
    try:
        fd = os.open(source, safetree.DIR_FLAGS)
    except OSError:
        return [f"{source.name}: the job left no folder of results"]
    budget = {"bytes": job_limit, "files": MAX_FILES}
    try:
        _copy_folder(fd, destination, 0, set(first), notes, budget, file_limit)
    except _Full:
        notes.append(f"more than {MAX_FILES} files: the rest were not copied")
    finally:
        os.close(fd)
    return notes


def _copy_folder(fd: int, target: Path, depth: int, first: set, notes: list, budget: dict,
                 file_limit: int) -> None:
    """Copy the folder ``fd`` into ``target`` (``first`` names first at the top)."""
    try:
        names = sorted(os.listdir(fd), key=lambda n: (depth > 0 or n not in first, n))
    except OSError as err:
        notes.append(f"{target.name}/: not read ({err.strerror.lower()})")
        return
    for name in names:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as err:
            notes.append(f"{name}: not copied ({err.strerror.lower()})")
            continue
        if stat.S_ISLNK(st.st_mode):
            notes.append(f"{name}: not copied (a symbolic link)")
        elif stat.S_ISDIR(st.st_mode):
            if depth + 1 > MAX_DEPTH:
                notes.append(f"{name}/: not copied (folders nested deeper than {MAX_DEPTH})")
                continue
            _copy_subfolder(fd, name, st, target, depth, first, notes, budget, file_limit)
        elif budget["files"] <= 0:
            raise _Full
        else:
            copied, note = _copy_regular(name, target / name, file_limit, budget["bytes"], fd)
            if note:
                notes.append(note)
            budget["bytes"] -= copied
            budget["files"] -= 1


def _copy_subfolder(fd, name, st, target, depth, first, notes, budget, file_limit) -> None:
    """Open ``name`` of ``fd`` (checked to be the folder listed) and copy it."""
    try:
        child = os.open(name, safetree.DIR_FLAGS, dir_fd=fd)
    except OSError as err:
        notes.append(f"{name}/: not copied ({err.strerror.lower()})")
        return
    try:
        if (os.fstat(child).st_dev, os.fstat(child).st_ino) != (st.st_dev, st.st_ino):
            notes.append(f"{name}/: not copied (replaced while being copied)")
            return
        (target / name).mkdir()
        _copy_folder(child, target / name, depth + 1, first, notes, budget, file_limit)
    finally:
        os.close(child)
