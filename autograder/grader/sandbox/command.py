"""The command line that runs a program inside a bubblewrap sandbox."""
from __future__ import annotations

import functools
import glob
import json
import os
import re
import shutil
import site
import sys
from pathlib import Path

from . import seccomp
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


# Libraries that differentiate for you (symbolically, automatically or numerically). A
# from-scratch assignment's kernel does without them: its gradients must come from the
# student's own backpropagation. Matched by the top-level name of an installed entry, so
# every folder, single-file module, extension, .dist-info and .pth of theirs is covered;
# scipy goes whole (scipy.differentiate, optimize.approx_fprime/check_grad): the
# from-scratch notebooks need only numpy.
AUTODIFF_PACKAGES = ("functorch", "autograd", "mxnet", "tinygrad", "micrograd", "sympy",
                     "isympy", "mpmath", "gmpy2", "symengine", "casadi", "numdifftools",
                     "findiff", "scipy", "theano", "pytensor", "aesara", "chainer", "paddle",
                     "mindspore", "dynet", "autograd_gamma", "pennylane", "cupy")
AUTODIFF_PREFIXES = ("torch", "jax", "tensorflow", "tf_keras", "keras", "flax", "optax")
# What the sandbox binds over a hidden entry: a module whose import fails and says why.
UNAVAILABLE = Path(__file__).with_name("unavailable-package")


def _top_name(entry: str) -> str:
    """The importable name an installed entry belongs to: ``sympy-1.14.dist-info`` ->
    ``sympy``, ``_cffi.cpython-311.so`` -> ``_cffi``, ``torchvision.libs`` -> ``torchvision``."""
    name = entry.lower()
    for prefix in ("__editable__.", "__editable___"):
        name = name.removeprefix(prefix)
    return re.split(r"[-.]", name, maxsplit=1)[0]


def is_autodiff(entry: str) -> bool:
    name = _top_name(entry)
    return name in AUTODIFF_PACKAGES or name.startswith(AUTODIFF_PREFIXES)


def visible_roots() -> list[str]:
    """Host folders a sandbox sees, so where hidden packages must be looked for."""
    return python_paths() + [p for p in SYSTEM_READONLY if os.path.isdir(p)]


def site_folders() -> list[str]:
    """Every folder from which a sandboxed Python could import an installed package:
    site-packages and dist-packages of the venv, its base interpreter and the system (found
    by name, not from sys.path, which the student's code can change), the user site, the
    system's wheels, and this process's sys.path entries under a visible root."""
    roots = visible_roots()
    found = set()
    for root in roots:  # every alias of a root (a symlinked venv is bound at both paths)
        for pattern in ("lib*/python*/*-packages", "local/lib*/python*/*-packages",
                        "share/python-wheels"):
            found.update(glob.glob(os.path.join(root, pattern)))
    extra = [p for p in sys.path if p] + [site.getusersitepackages()]
    found.update(extra + [os.path.realpath(p) for p in extra])
    kept = set()
    for path in filter(os.path.isdir, found):
        for root in roots:
            if path == root or path.startswith(root + "/"):
                real = os.path.realpath(path)  # lib64 -> lib inside one bound tree: once
                kept.add(real if real == root or real.startswith(root + "/") else path)
    return sorted(kept)


def autodiff_paths() -> list[str]:
    """Every installed entry of an autodiff or symbolic package the sandbox could see
    (folders, modules, extensions, metadata, .pth files, wheels), found without importing
    (once per process: a Dask worker asks for every job)."""
    return list(_autodiff_paths())


@functools.lru_cache(maxsize=1)
def _autodiff_paths() -> tuple[str, ...]:
    found = []
    for folder in site_folders():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, e) for e in entries if is_autodiff(e)]
    return tuple(sorted(set(found)))


def hide_binds(paths) -> list[list[str]]:
    """Binds that put the unavailable stub over each path: a folder becomes a package, a
    file a module, whose import raises ImportError with the reason."""
    binds = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path):  # a link is followed by the mount, as by an import
            binds.append(["ro", str(UNAVAILABLE), path])
        elif os.path.isfile(path):
            binds.append(["ro", str(UNAVAILABLE / "__init__.py"), path])
    return binds


def wrap(argv: list[str], *, writable: list, readonly=(), env=None, limits: Limits | None = None,
         slot: int = 0, status: Path | None = None, cwd=None, hide=(), devices=()) -> list[str]:
    """The command that runs ``argv`` in a sandbox.

    writable: the only host folders the sandbox may change (bound at the same paths);
    readonly: more host paths it may read; hide: installed folders and files whose import
    fails inside (with the reason), for example ``autodiff_paths()``; env: added to
    ``default_env()``; slot: one per concurrent job (the uid outside, when the grader is
    root); status: a file, outside everything the sandbox sees, where the launcher records
    how the sandbox ended; devices: [host node, sandbox path] pairs bound into the
    minimal /dev (a GPU's nodes: gpus.device_binds), nothing else of the host's /dev.
    Every sandbox runs under the seccomp filter (seccomp.py).
    """
    limits = limits or Limits()
    writable = [os.path.abspath(p) for p in writable]
    binds = [["ro", p, p] for p in SYSTEM_READONLY if os.path.exists(p)]
    binds += [["ro", p, p] for p in python_paths()]
    binds += [["ro", os.path.abspath(p), os.path.abspath(p)] for p in readonly]
    binds += [["rw", p, p] for p in writable]
    binds += hide_binds(hide)  # after the installation they cover
    binds += [["dev", os.path.abspath(src), dst] for src, dst in devices]
    # bwrap's root is a tmpfs: read-only, or / would be scratch space outside every limit
    after = ["--remount-ro", "/", "--chdir", str(cwd or writable[0]), "--clearenv"]
    for key, value in {**default_env(), **(env or {})}.items():
        after += ["--setenv", key, str(value)]
    passwd = f"student:x:{SANDBOX_UID}:{SANDBOX_UID}:student:{HOME}:/bin/sh\n"
    spec = {"uid": ROOT_SLOT_UID + slot if os.geteuid() == 0 else None,
            "grader_pid": os.getpid(), "writable": writable, "binds": binds,
            "data_files": [[passwd, "/etc/passwd"], [f"student:x:{SANDBOX_UID}:\n", "/etc/group"]],
            "before": namespaces(limits), "after": after, "prefix": rlimits(limits),
            "bwrap": shutil.which("bwrap") or "/usr/bin/bwrap",
            "status": str(status) if status else None,
            "seccomp": (seccomp.filter_bytes() or b"").hex(),
            "total_write_bytes": limits.total_write_bytes}
    return [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), "--", *argv]
