"""A grading job's kernel: written, launched (before its turn, when the worker can), handed
its folder, and stopped.

Most of a kernel's start-up is its own Python importing ipykernel, in its sandbox. A warm
worker that already holds the next job's spec launches that job's kernel while the current
job runs (worker.py), so start-up leaves the critical path. Each kernel is still its own
job's: its sandbox binds only that job's folders, it runs under its own slot uid (grade.py
gives a worker's consecutive jobs alternating slots), and it receives no code before its
job's turn. Every kernel is launched from the worker's main thread: the sandbox launcher
dies with the thread that started it.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import sysconfig
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import run_sync
from traitlets.config import Config

from ..course import Course
from .records import JobSpec

KERNEL = "graded-python3"


def kernel_pythonpath(kit: Path) -> str:
    """The kit's student side first, then site-packages (``python -S`` skips the ``.pth``
    files, among them the editable install's finder that would resolve
    ``autograder.grader`` from the repository)."""
    return os.pathsep.join([str(kit), sysconfig.get_paths()["purelib"]])


def notebook_folder(job: JobSpec, jobdir: Path) -> Path:
    """Where nbgrader writes the autograded notebook: the kernel's working folder."""
    return jobdir / "autograded" / job.student / job.assignment


def write_plain_kernelspec(kernels: Path, env: dict) -> None:
    """The unsandboxed kernel of ``--no-sandbox``: it still dies with the worker."""
    argv = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
            sys.executable, "-S", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    folder = kernels / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "graded notebook (not sandboxed)", "language": "python",
         "env": env}, indent=1))


def job_config(job: JobSpec, jobdir: Path) -> Config:
    """nbgrader's configuration for the job, with the kernel's client settings; writes the
    job's kernelspec under ``jobdir/jupyter/kernels``."""
    from ..sandbox import client_config, write_kernelspec

    config = Course(jobdir).config(kernel=KERNEL, cell=job.limits.cell_seconds)
    kernels = jobdir / "jupyter" / "kernels"
    kit = Path(job.kit)
    env = {**job.kernel_env, "PYTHONPATH": kernel_pythonpath(kit)}
    if not job.sandbox:
        write_plain_kernelspec(kernels, env)
        return config
    runtime = jobdir / "run"
    write_kernelspec(kernels, KERNEL, runtime=runtime, writable=[notebook_folder(job, jobdir)],
                     readonly=[kit, *job.readonly], env=env, limits=job.limits,
                     slot=job.slot, status=jobdir / "sandbox-status.jsonl", hide=job.hide,
                     devices=job.devices)
    config.merge(client_config(runtime))
    return config


def launch(job: JobSpec, jobdir: Path):
    """Start the job's kernel (its process only: the client connects when the job runs);
    returns its kernel manager. Call from the worker's main thread."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    (jobdir / "run").mkdir(exist_ok=True)
    folder = notebook_folder(job, jobdir)
    folder.mkdir(parents=True, exist_ok=True)  # the sandbox binds it: it must exist
    config = job_config(job, jobdir)
    specs = KernelSpecManager(kernel_dirs=[str(jobdir / "jupyter" / "kernels")])
    manager = AsyncKernelManager(kernel_name=KERNEL, config=config, kernel_spec_manager=specs,
                                 client_class=f"{__name__}.ReadyClient")
    run_sync(manager.start_kernel)(cwd=str(folder))
    return manager


class ReadyClient(AsyncKernelClient):
    """jupyter_client's client, without the 0.2 s of every start-up spent draining IOPub
    until it is quiet (nbclient matches each output to its own request, so messages left
    from start-up are ignored anyway)."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)  # IOPub is connected
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


def launcher_pid(manager) -> int | None:
    """The pid of the kernel's process (the sandbox launcher), or None."""
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


def hand_over(job: JobSpec, jobdir: Path) -> None:
    """Give the notebook's folder, as nbgrader filled it, to the job's slot uid (when
    grading as root): the launcher gave it the folder when the kernel started, before
    nbgrader copied the submission's files in, and the notebook must be able to
    overwrite them (weights it saves again)."""
    from ..sandbox.command import ROOT_SLOT_UID
    from ..sandbox.launcher import lchown_tree

    if os.geteuid() == 0 and job.sandbox:
        lchown_tree(notebook_folder(job, jobdir), ROOT_SLOT_UID + job.slot)


def _proc_status(pid: int) -> dict:
    """Fields of /proc/PID/status ({} once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def _sandbox_init(launcher: int) -> tuple[int, str] | None:
    """(pid, start time) of the init of the kernel's pid namespace: the launcher's first
    descendant in a deeper pid namespace (bwrap --unshare-pid), or None (not started yet,
    or not sandboxed). Every process of the sandbox is below it."""
    parents, depth = {}, len(_proc_status(launcher).get("NSpid", "").split())
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents.setdefault(int(fields[1]), []).append((int(entry), fields[19]))
    todo = list(parents.get(launcher, []))
    while todo and depth:
        pid, started = todo.pop(0)
        if len(_proc_status(pid).get("NSpid", "").split()) > depth:
            return pid, started
        todo += parents.get(pid, [])
    return None


def remember_sandbox(manager) -> None:
    """Note the kernel's sandbox (its pid namespace's init) while its launcher lives, so
    that ``stop`` can wait for it even after the launcher is gone."""
    pid = launcher_pid(manager)
    if pid is not None and getattr(manager, "sandbox_init", None) is None:
        found = _sandbox_init(pid)
        if found is not None:  # (another thread may have found it before the launcher died)
            manager.sandbox_init = found


def _wait_dead(init: tuple[int, str] | None, seconds: float = 30.0) -> bool:
    """Kill the sandbox's init and wait until it is a zombie or gone: the kernel then has
    killed and reaped every other process of its pid namespace (zap_pid_ns_processes)."""
    if init is None:
        return True
    pid, started = init
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return True
        if fields[19] != started or fields[0] in ("Z", "X"):
            return True
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.002)
    return False


def stop(manager) -> None:
    """Stop the kernel and its whole sandbox now (its cells are done, or the job failed),
    and return only once every process of it is dead: kill its launcher's process group
    and the sandbox's pid-namespace init, reap the launcher, wait for the init, and remove
    the connection file and sockets (jupyter_client's shutdown would poll every 0.1 s).
    Safe to call twice. Nothing of the kernel runs when nbgrader writes into its folder.
    """
    if manager is None or getattr(manager, "stopped", False):
        return
    remember_sandbox(manager)
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    if process is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its own group: start_new_session
        except OSError:
            pass
        process.wait()
    if not _wait_dead(getattr(manager, "sandbox_init", None)):
        raise RuntimeError("the kernel's sandbox did not stop within 30 s")
    manager.stopped = True
    try:
        run_sync(manager.cleanup_resources)()
    except Exception:  # noqa: BLE001 (nothing left to clean up)
        pass
