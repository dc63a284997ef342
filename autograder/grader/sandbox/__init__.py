"""The sandbox every grading kernel runs in (bubblewrap).

Inside: an unprivileged uid, new user, PID, IPC, UTS and network namespaces (no network),
a private /tmp and $HOME, the system, the Python installation and the student side of
the kit read-only, the job's own folders the only writable places, resource limits
(``Limits``), a seccomp filter, and nothing that survives the job.

    limits      Limits and their defaults from an assignment's budget
    command     wrap(): the command line that runs a program sandboxed
    launcher    the stdlib-only script that starts bwrap (privileges, staging, watchdog)
    seccomp     the system-call filter every sandbox runs under (ptrace, bpf, mount, ...)
    kernel      a sandboxed Jupyter kernelspec and the client's ipc settings
    probe       sandbox_problem(): what is missing here, and how to fix it
"""
from .command import SANDBOX_UID, autodiff_paths, wrap
from .kernel import client_config, write_kernelspec
from .limits import GiB, Limits, MiB
from .probe import sandbox_problem

__all__ = ["Limits", "GiB", "MiB", "SANDBOX_UID", "autodiff_paths", "wrap", "write_kernelspec", "client_config",
           "sandbox_problem"]
