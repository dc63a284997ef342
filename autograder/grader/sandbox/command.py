"""The command line that runs a program inside a bubblewrap sandbox."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from .limits import Limits

SANDBOX_UID = 65534          # the uid and gid the student's code sees
ROOT_SLOT_UID = 60000        # as root, each concurrent job runs as ROOT_SLOT_UID + slot
HOME = "/home/student"
LAUNCHER = Path(__file__).with_name("launcher.py")
# System paths, read-only; /etc reduced to what the loader, locale and TLS need (passwd and
# group are made up by the launcher, so no host user name is shown).
SYSTEM_READONLY = ["/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                   "/etc/alternatives", "/etc/localtime", "/etc/ssl", "/etc/nsswitch.conf"]


def python_paths() -> list[str]:
    """The Python installation a kernel needs: the venv, its base interpreter and the real
    folder of the executable, nested paths removed."""
    found = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix,
                                           os.path.dirname(os.path.realpath(sys.executable)))}
    found |= {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix)}
    return [p for p in sorted(found) if not any(p.startswith(q + "/") for q in found if q != p)]


def default_env() -> dict[str, str]:
    """The sandbox's environment; the host's is cleared (it may hold secrets)."""
    threads = str(os.cpu_count() or 1)  # BLAS and OpenMP pools count against processes
    return {"PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": HOME,
            "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def rlimits(limits: Limits) -> list[str]:
    """prlimit run as the sandbox's first command: inside the new user namespace the
    process limit counts only this sandbox's tasks."""
    return ["/usr/bin/prlimit", f"--data={limits.memory_bytes}", f"--nproc={limits.processes}",
            f"--fsize={limits.file_size_bytes}", f"--nofile={limits.open_files}",
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}", "--core=0", "--"]


def namespaces(limits: Limits) -> list[str]:
    size = str(limits.tmpfs_bytes)
    return ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-net", "--unshare-cgroup-try", "--disable-userns",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--hostname", "sandbox", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev",
            "--size", size, "--tmpfs", "/dev/shm", "--size", size, "--tmpfs", "/tmp",
            "--size", size, "--perms", "0700", "--tmpfs", HOME,
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]


# Libraries that differentiate for you. A from-scratch assignment's kernel does without
# them: its gradients must come from the student's own backpropagation.
AUTODIFF_PACKAGES = ("torch", "torchvision", "torchaudio", "torchgen", "functorch", "jax",
                     "jaxlib", "autograd", "tensorflow", "keras", "mxnet", "tinygrad",
                     "micrograd", "sympy", "casadi")


def autodiff_paths() -> list[str]:
    """The installed folders of AUTODIFF_PACKAGES (found without importing them)."""
    from importlib.util import find_spec

    found = []
    for name in AUTODIFF_PACKAGES:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            found.append(os.path.realpath(folder))
    return sorted(set(found))


def wrap(argv: list[str], *, writable: list, readonly=(), env=None, limits: Limits | None = None,
         slot: int = 0, status: Path | None = None, cwd=None, hide=()) -> list[str]:
    """The command that runs ``argv`` in a sandbox.

    writable: the only host folders the sandbox may change (bound at the same paths);
    readonly: more host paths it may read; hide: folders that appear empty (and read-only)
    inside, for example ``autodiff_paths()``; env: added to ``default_env()``; slot: one per
    concurrent job (the uid outside, when the grader is root); status: a file, outside
    everything the sandbox sees, where the launcher records how the sandbox ended.
    """
    limits = limits or Limits()
    writable = [os.path.abspath(p) for p in writable]
    binds = [["ro", p, p] for p in SYSTEM_READONLY if os.path.exists(p)]
    binds += [["ro", p, p] for p in python_paths()]
    binds += [["ro", os.path.abspath(p), os.path.abspath(p)] for p in readonly]
    binds += [["rw", p, p] for p in writable]
    # bwrap's root is a tmpfs: read-only, or / would be scratch space outside every limit
    after = []
    for path in hide:
        after += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
    after += ["--remount-ro", "/", "--chdir", str(cwd or writable[0]), "--clearenv"]
    for key, value in {**default_env(), **(env or {})}.items():
        after += ["--setenv", key, str(value)]
    passwd = f"student:x:{SANDBOX_UID}:{SANDBOX_UID}:student:{HOME}:/bin/sh\n"
    spec = {"uid": ROOT_SLOT_UID + slot if os.geteuid() == 0 else None,
            "grader_pid": os.getpid(), "writable": writable, "binds": binds,
            "data_files": [[passwd, "/etc/passwd"], [f"student:x:{SANDBOX_UID}:\n", "/etc/group"]],
            "before": namespaces(limits), "after": after, "prefix": rlimits(limits),
            "bwrap": shutil.which("bwrap") or "/usr/bin/bwrap",
            "status": str(status) if status else None,
            "total_write_bytes": limits.total_write_bytes}
    return [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), "--", *argv]
