"""``autograder doctor``: can this machine grade? What is missing, and how to get it."""
from __future__ import annotations

import os
import shutil


def checks() -> list[tuple[str, bool, str]]:
    """(what, ok, detail) for everything grading needs."""
    from .sandbox import Limits, sandbox_problem

    found = []
    problem = sandbox_problem()
    who = "root: each job as its own unprivileged uid" if os.geteuid() == 0 else \
        "an ordinary user: user namespaces"
    found.append(("sandbox (bubblewrap)", problem is None,
                  problem or f"{shutil.which('bwrap')} works, as {who}"))
    if problem is None:
        from .sandbox.probe import seccomp_problem

        filtered = seccomp_problem()
        found.append(("seccomp filter", filtered is None, filtered or
                      "active (tried in a sandbox: ptrace, unshare and bpf are refused)"))
    found.append(("setpriv (util-linux)", bool(shutil.which("setpriv")),
                  "stops grading processes when the grader stops"
                  if shutil.which("setpriv") else "missing: apt-get install util-linux"))
    try:
        from ..student import data

        root = data.data_root()
        ok = (root / "MNIST" / "raw").is_dir() and (root / "cifar-10-batches-py").is_dir()
        found.append(("course data", ok, f"{root}" if ok else
                      f"not under {root}: set AUTOGRADER_DATA (MNIST/raw, cifar-10-batches-py)"))
    except Exception as err:  # noqa: BLE001 (report, never crash the doctor)
        found.append(("course data", False, str(err)))
    limits = ", ".join(f"{name} {value}" for name, value in Limits().describe())
    found.append(("default limits per kernel", True, limits))
    return found


def report() -> int:
    """Print the checks; non-zero when grading cannot run sandboxed here."""
    rows = checks()
    for what, ok, detail in rows:
        print(f"{'ok ' if ok else 'NO '} {what:<26} {detail}")
    return 0 if all(ok for _, ok, _ in rows) else 1
