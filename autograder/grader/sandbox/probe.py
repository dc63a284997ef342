"""Can a sandbox be set up here? What is missing, and how to get it."""
from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile

from . import seccomp
from .command import wrap


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def sandbox_problem() -> str | None:
    """None when a sandbox works here, else what is missing and how to fix it.

    Starts one real sandbox (once per process), so every failure mode is caught.
    """
    if not shutil.which("bwrap"):
        return ("bubblewrap is not installed: `apt-get install bubblewrap` (Debian/Ubuntu) "
                "or `dnf install bubblewrap`; then run `autograder doctor` again")
    if not os.path.exists("/usr/bin/prlimit"):
        return "prlimit is missing: `apt-get install util-linux`"
    with tempfile.TemporaryDirectory(prefix="ag-probe-") as job:
        try:
            run = subprocess.run(wrap(["/bin/true"], writable=[job]), capture_output=True,
                                 text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            return f"could not start bubblewrap: {err}"
    if run.returncode == 0:
        return None
    hints = []
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        hints.append("user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=1")
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        hints.append("user namespaces are disabled: sysctl user.max_user_namespaces=15000")
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        hints.append("AppArmor blocks unprivileged user namespaces: sysctl "
                     "kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile "
                     "for bwrap")
    error = run.stderr.strip()
    if "proc" in error:
        hints.append("a fresh /proc cannot be mounted (a container with a masked /proc?): "
                     "grade outside such a container")
    if os.geteuid() == 0 and ("unshare" in error or "mount" in error):
        hints.append("root without CAP_SYS_ADMIN (a container?): give it CAP_SYS_ADMIN or "
                     "grade as an ordinary user")
    return (f"the sandbox does not start ({error or f'exit {run.returncode}'})"
            + ("; " + "; ".join(hints) if hints else ""))


# Run in the sandbox: is a seccomp filter installed, and does it refuse what it should?
# ptrace is tried in a child (were it allowed, only that child would be traced).
SECCOMP_PROBE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def tried(nr, *args):
    return "allowed" if libc.syscall(nr, *args) >= 0 else os.strerror(ctypes.get_errno())
mode = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")]
r, w = os.pipe()
if os.fork() == 0:
    os.write(w, tried(NUMBERS["ptrace"], 0, 0, 0, 0).encode())
    os._exit(0)
os.close(w)
print("mode", *mode, "|", "ptrace", os.read(r, 200).decode(), "|",
      "unshare", tried(NUMBERS["unshare"], 0x10000000), "|", "bpf", tried(NUMBERS["bpf"], 0, 0, 0))
"""


def seccomp_problem() -> str | None:
    """None when sandboxed code runs under the seccomp filter (ptrace, unshare and bpf
    refused with EPERM), else what is wrong. Starts one real sandbox."""
    if seccomp.filter_bytes() is None:
        return (f"no seccomp filter is defined for this architecture ({platform.machine()}); "
                "the sandbox runs without one")
    numbers = seccomp.ARCHES[platform.machine()][1]
    code = f"NUMBERS = {numbers!r}\n" + SECCOMP_PROBE
    with tempfile.TemporaryDirectory(prefix="ag-probe-") as job:
        try:
            run = subprocess.run(wrap([sys.executable, "-I", "-S", "-c", code], writable=[job]),
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            return f"could not start the sandbox: {err}"
    seen = run.stdout.strip()
    denied = os.strerror(1)  # EPERM
    if run.returncode == 0 and seen.startswith("mode 2 ") and \
            seen.count(f" {denied}") == 3:
        return None
    return f"the seccomp filter is not in force in the sandbox ({seen or run.stderr.strip()})"
