"""The sandbox launcher: ``python -I -S launcher.py SPEC -- COMMAND...`` (stdlib only).

Runs on the host, just before the sandbox, the few steps that cannot be bwrap options:

1. As root: give the writable folders to the job's slot uid, and, in a private mount
   namespace, stage every bind source on a world-readable tmpfs (after dropping root,
   bwrap could no longer reach sources such as /root/.pyenv, /root being 0700).
2. Open the status file (a grader-owned folder the sandbox cannot see) while still
   privileged, then drop to the slot uid: RLIMIT_NPROC does not apply to root, and a
   sandbox escape lands on an unprivileged uid.
3. Die with the grading process (PR_SET_PDEATHSIG, set after the uid change, which would
   clear it), start bwrap, and watch the bytes the job writes; past the limit, kill the
   sandbox. bwrap's --die-with-parent and the pid namespace take every process with it.
4. Write one JSON line to the status file: how the sandbox ended and which limit, if any,
   stopped it. The grader reads it; the student cannot forge it.
"""
import ctypes
import json
import os
import signal
import sys
import time

def _safetree():
    """safetree.py next to this file: imported as part of the package, loaded by path
    when run as ``python -I -S launcher.py`` (the same trusted folder)."""
    if __package__:
        from . import safetree
        return safetree
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetree.py")
    spec = importlib.util.spec_from_file_location("autograder_safetree", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


safetree = _safetree()
_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 4096, 1 << 14, 1 << 18
PR_SET_PDEATHSIG = 1
STAGE = "/tmp/.autograder-sandbox-stage"
POLL_SECONDS = 0.2


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def lchown_tree(path, uid):
    """chown -R without following symlinks (the folder holds student data); returns
    notes on what could not be changed (safetree: iterative, through folder fds)."""
    return safetree.chown_tree(path, uid, uid)


def _stage_binds(binds):
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make-rprivate /")
    os.makedirs(STAGE, mode=0o755, exist_ok=True)
    _check(_libc.mount(b"stage", STAGE.encode(), b"tmpfs", 0, b"mode=0755"), "mount stage")
    staged = []
    for i, (kind, src, dst) in enumerate(binds):
        target = f"{STAGE}/{i}"
        if os.path.isdir(src):
            os.mkdir(target)
        else:
            open(target, "w").close()
        _check(_libc.mount(src.encode(), target.encode(), None, MS_BIND | MS_REC, None),
               f"bind {src}")
        staged.append([kind, target, dst])
    return staged


def _data_fd(text):
    """A pipe holding ``text`` (str or bytes), for bwrap --ro-bind-data or --seccomp (small
    data only: it must fit the pipe)."""
    r, w = os.pipe()
    os.write(w, text.encode() if isinstance(text, str) else text)
    os.close(w)
    os.set_inheritable(r, True)
    return r


def folder_bytes(paths):
    """Bytes allocated below ``paths``, symlinks not followed, each inode once (any depth,
    any number of files: safetree)."""
    return safetree.tree_bytes(paths)


def kill_sandbox(pid):
    """Kill bwrap (``pid``) and its child, the sandbox's pid-namespace init, and return
    bwrap's wait status only once that init is dead: the kernel has then killed and
    reaped every process of the sandbox, so none outlives the launcher."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            inits = [int(p) for p in f.read().split()]
    except OSError:
        inits = []
    for target in [pid, *inits]:
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    for init in inits:  # now reparented; dead once a zombie or gone
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{init}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                        break
            except OSError:
                break
            time.sleep(0.002)
    return status


def _ended(status):
    """A waitpid status in words: exit code, or the signal that stopped the sandbox."""
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"exit": os.WEXITSTATUS(status)}


def launch(spec, command):
    binds, watched = spec["binds"], spec["writable"]
    status_file = None
    if spec.get("status"):
        status_file = os.open(spec["status"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if spec["uid"] is not None:
        uid = spec["uid"]
        for path in spec["writable"]:
            lchown_tree(path, uid)
        binds = _stage_binds(binds)
        # the slot uid may not traverse the grader's folders: watch the staged copies
        watched = [src for kind, src, dst in binds if kind == "rw"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if os.getppid() != spec["grader_pid"]:
        os._exit(1)  # the grader died before the death signal was armed
    mounts = []
    flags = {"rw": "--bind", "ro": "--ro-bind", "dev": "--dev-bind"}  # dev: a device node
    for kind, src, dst in binds:
        mounts += [flags[kind], src, dst]
    for text, target in spec["data_files"]:
        mounts += ["--ro-bind-data", str(_data_fd(text)), target]
    if spec.get("seccomp"):  # the compiled filter (seccomp.py), hex in the spec
        mounts += ["--seccomp", str(_data_fd(bytes.fromhex(spec["seccomp"])))]
    bwrap = spec["bwrap"]
    pid = os.fork()
    if pid == 0:
        os.execv(bwrap, [bwrap, *spec["before"], *mounts, *spec["after"], "--",
                         *spec["prefix"], *command])
    # Forward the kernel manager's signals to the sandbox (a plain kill would leave it).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda number, _frame: os.kill(pid, signal.SIGKILL))
    limit, stopped_by = spec["total_write_bytes"], None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        started = time.monotonic()
        if limit and folder_bytes(watched) > limit:
            stopped_by = f"total bytes written (more than {limit // 2**20} MB)"
            status = kill_sandbox(pid)
            break
        # a folder of 10^5 files takes a while to measure: never more than a third of a core
        time.sleep(max(POLL_SECONDS, 2 * (time.monotonic() - started)))
    if status_file is not None:
        os.write(status_file, (json.dumps({**_ended(status), "limit": stopped_by}) + "\n").encode())
    sys.exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


if __name__ == "__main__":
    launch(json.loads(sys.argv[1]), sys.argv[3:])
