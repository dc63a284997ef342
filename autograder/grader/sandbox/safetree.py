"""Safe operations on a folder tree a student's code could write (stdlib only).

Every walk here goes through directory file descriptors: each folder is opened with
``O_DIRECTORY | O_NOFOLLOW`` relative to its parent's descriptor and checked to be the
folder just listed (device and inode), each entry is handled with ``dir_fd=`` calls, and
no path below the root is ever resolved again, so a link planted anywhere in the tree is
never followed. The walk is iterative (no recursion limit, depth 10^4 is fine) and holds
one descriptor at a time: going back up, it opens ``..`` and checks it is the parent it
left. Anything odd (an unreadable folder, a folder swapped while walking, a FIFO, a
socket) becomes a note, never an exception.

The sandbox launcher (``python -I -S launcher.py``, no package) loads this file by path;
the grader imports it as ``autograder.grader.sandbox.safetree``.
"""
import contextlib
import os
import stat
import sys
import tempfile

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
MAX_NOTES = 20


class Notes(list):
    """Notes on what a walk could not handle: the first MAX_NOTES, then a count."""

    def __init__(self, limit: int = MAX_NOTES):
        super().__init__()
        self.limit, self.more = limit, 0

    def add(self, text: str) -> None:
        if len(self) < self.limit:
            self.append(text)
        else:
            self.more += 1

    def summary(self) -> list:
        return list(self) + ([f"... and {self.more} more"] if self.more else [])


def _short(rel: str) -> str:
    """A path for a note: deep paths keep their first and last parts."""
    return rel if len(rel) <= 120 else f"{rel[:50]}/.../{rel[-60:]}"


def _open_dir(name, dir_fd=None):
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def _same(fd, st) -> bool:
    info = os.fstat(fd)
    return (info.st_dev, info.st_ino) == (st.st_dev, st.st_ino)


def _make_traversable(name, st, dir_fd) -> None:
    """Give a folder its owner's rwx back (a student may chmod 000 a folder), through an
    O_PATH descriptor: never through a link."""
    if st.st_mode & 0o700 == 0o700 or st.st_uid != os.geteuid():
        return
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if _same(fd, st) and stat.S_ISDIR(os.fstat(fd).st_mode):
            os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(st.st_mode) | 0o700)
    finally:
        os.close(fd)


def _fd_budget() -> int:
    """Folder descriptors a walk keeps open at once (a quarter of the soft limit)."""
    import resource

    return max(16, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)


def walk(root, notes=None, topdown=True, fix_modes=False, max_depth=None):
    """Yield ``(dir_fd, name, stat, rel)`` for every entry below ``root``, links not
    followed. ``dir_fd`` is the entry's folder, valid only until the next item; ``stat``
    is the entry's own (``lstat``); ``rel`` its path below root, for notes.

    topdown: a folder comes before its contents (else after: removal); fix_modes: make
    folders we own traversable first; max_depth: folders deeper are yielded, not entered
    (a note says so). ``notes`` (a Notes) collects what could not be read.

    Each folder on the way down keeps its descriptor while the budget allows, so a folder
    renamed meanwhile changes nothing; deeper than that, going up opens ``..`` and checks
    it is the folder left (if not, the walk goes on from the nearest folder held).
    """
    notes = Notes() if notes is None else notes
    try:
        fd = _open_dir(root)
    except OSError as err:
        notes.add(f"{os.path.basename(str(root))}/: not read ({err.strerror.lower()})")
        return
    budget = _fd_budget()
    # a frame: [its fd (None once closed), names left, its stat, rel, its name]
    stack = [[fd, _names(fd, "", notes), os.fstat(fd), "", None]]
    try:
        while stack:
            frame = stack[-1]
            if not frame[1]:
                stack.pop()
                back = not stack or stack[-1][0] is not None or \
                    _reopen_parent(stack, frame[0], notes)
                os.close(frame[0])
                if not stack:
                    break
                if back and not topdown:
                    yield stack[-1][0], frame[4], frame[2], frame[3]
                continue
            fd, name, rel = frame[0], frame[1].pop(), frame[3]
            path = f"{rel}/{name}" if rel else name
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as err:
                notes.add(f"{_short(path)}: not read ({err.strerror.lower()})")
                continue
            if not stat.S_ISDIR(st.st_mode):
                yield fd, name, st, path
                continue
            if topdown:
                yield fd, name, st, path
            child = None
            if max_depth is not None and len(stack) > max_depth:
                notes.add(f"{_short(path)}/: not entered (folders nested deeper than "
                          f"{max_depth})")
            else:
                child = _enter(fd, name, st, path, notes, fix_modes)
            if child is None:
                if not topdown:
                    yield fd, name, st, path
                continue
            if len(stack) >= budget:  # deep: this folder is found again through ".."
                os.close(fd)
                frame[0] = None
            stack.append([child, _names(child, path, notes), st, path, name])
    finally:
        for frame in stack:
            if frame[0] is not None:
                os.close(frame[0])


def _reopen_parent(stack, child_fd, notes) -> bool:
    """Open the folder above ``child_fd`` through its ``..``, checked to be the folder
    the walk came down through; if it moved, drop the frames up to the nearest one still
    held (with a note), so the walk goes on there."""
    parent = stack[-1]
    try:
        fd = _open_dir("..", child_fd)
    except OSError:
        fd = None
    if fd is not None and _same(fd, parent[2]):
        parent[0] = fd
        return True
    if fd is not None:
        os.close(fd)
    notes.add(f"{_short(parent[3]) or '.'}/: moved while being walked; the rest of it "
              "was not walked")
    while stack and stack[-1][0] is None:
        stack.pop()
    return False


def _enter(fd, name, st, path, notes, fix_modes):
    """The folder ``name`` of ``fd``, opened and checked to be ``st``; None (with a note)
    when it cannot be."""
    try:
        if fix_modes:
            _make_traversable(name, st, fd)
        child = _open_dir(name, fd)
    except OSError as err:
        notes.add(f"{_short(path)}/: not read ({err.strerror.lower()})")
        return None
    if not _same(child, st):
        os.close(child)
        notes.add(f"{_short(path)}/: replaced while being walked; not entered")
        return None
    return child


def _names(fd, rel, notes) -> list:
    """The names in the folder ``fd`` (read through a duplicate: listdir closes it)."""
    try:
        return os.listdir(fd)
    except OSError as err:
        notes.add(f"{_short(rel) or '.'}/: not listed ({err.strerror.lower()})")
        return []


def remove_tree(root, notes=None, report=False) -> list:
    """Delete ``root`` and everything below it, whatever it holds; returns notes on what
    could not be deleted (report: also print them on stderr). A link at ``root`` itself
    is deleted, not followed."""
    notes = Notes() if notes is None else notes
    if report:
        found = remove_tree(root, notes)
        for note in found:
            print(f"autograder: {os.path.basename(str(root))}: {note}", file=sys.stderr)
        return found
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return notes.summary()
    except OSError as err:
        notes.add(f"{root}: not removed ({err.strerror.lower()})")
        return notes.summary()
    if not stat.S_ISDIR(st.st_mode):
        _try(notes, str(root), os.unlink, root)
        return notes.summary()
    if st.st_mode & 0o700 != 0o700 and st.st_uid == os.geteuid():
        _try(notes, str(root), os.chmod, root, stat.S_IMODE(st.st_mode) | 0o700)
    for dir_fd, name, info, rel in walk(root, notes, topdown=False, fix_modes=True):
        if stat.S_ISDIR(info.st_mode):
            _try(notes, rel, os.rmdir, name, dir_fd=dir_fd)
        else:
            _try(notes, rel, os.unlink, name, dir_fd=dir_fd)
    _try(notes, str(root), os.rmdir, root)
    return notes.summary()


def _try(notes, rel, call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except FileNotFoundError:
        pass
    except OSError as err:
        notes.add(f"{_short(rel)}: not removed ({err.strerror.lower()})")


def remove_special(root, notes=None) -> list:
    """Delete every link, FIFO, socket and device below ``root``; returns a note on each
    (and on anything that could not be read)."""
    notes = Notes() if notes is None else notes
    for dir_fd, name, st, rel in walk(root, notes):
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            continue
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        try:
            os.unlink(name, dir_fd=dir_fd)
            notes.add(f"{_short(rel)}: not kept ({what})")
        except OSError as err:
            notes.add(f"{_short(rel)}: {what}, not removed ({err.strerror.lower()})")
    return notes.summary()


def chmod_files(root, mode: int, notes=None) -> list:
    """chmod every regular file below ``root`` (never through a link: each file is opened
    with O_PATH | O_NOFOLLOW and changed through that descriptor)."""
    notes = Notes() if notes is None else notes
    for dir_fd, name, st, rel in walk(root, notes):
        if not stat.S_ISREG(st.st_mode):
            continue
        try:
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError as err:
            notes.add(f"{_short(rel)}: mode not set ({err.strerror.lower()})")
            continue
        try:
            if _same(fd, st):
                os.chmod(f"/proc/self/fd/{fd}", mode)
        except OSError as err:
            notes.add(f"{_short(rel)}: mode not set ({err.strerror.lower()})")
        finally:
            os.close(fd)
    return notes.summary()


def chown_tree(root, uid: int, gid: int, notes=None) -> list:
    """chown -R, links changed themselves, never followed."""
    notes = Notes() if notes is None else notes
    try:
        os.chown(root, uid, gid, follow_symlinks=False)
    except OSError as err:
        notes.add(f"{root}: owner not set ({err.strerror.lower()})")
    for dir_fd, name, _, rel in walk(root, notes):
        try:
            os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as err:
            notes.add(f"{_short(rel)}: owner not set ({err.strerror.lower()})")
    return notes.summary()


def tree_bytes(roots) -> int:
    """Bytes allocated below ``roots`` (the roots included), each inode once."""
    seen, total = set(), 0
    for root in roots:
        try:
            entries = [os.lstat(root)]
        except OSError:
            continue
        for st in entries:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
        for _, _, st, _ in walk(root, Notes(0)):
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


@contextlib.contextmanager
def temporary_folder(prefix: str):
    """tempfile.TemporaryDirectory, removed with remove_tree: on Python 3.11
    shutil.rmtree recurses, and a deep folder a kernel left there would raise."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        remove_tree(folder, report=True)
