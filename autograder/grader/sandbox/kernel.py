"""A Jupyter kernel inside the sandbox, and the client settings to talk to it.

The sandbox has no network, so kernel and client talk over ZeroMQ ``ipc`` sockets: files
in a folder both can reach (the job's runtime folder, writable for the kernel).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .command import wrap
from .limits import Limits

MAX_SOCKET_PATH = 100  # a unix socket path must be shorter than 108 bytes


def write_kernelspec(kernels: Path, name: str, *, runtime: Path, writable: list,
                     readonly=(), env=None, limits: Limits | None = None, slot: int = 0,
                     status: Path | None = None, python_flags=("-S",), hide=(),
                     devices=()) -> str:
    """Write ``kernels/<name>/kernel.json`` for a sandboxed ipykernel; returns ``name``.

    Put ``kernels.parent`` on JUPYTER_PATH for jupyter_client to find it. The kernel's
    working folder is the first of ``writable``; ``runtime`` (connection file, sockets)
    is writable too; ``devices``: the GPU nodes it may use (command.wrap).
    """
    argv = wrap([sys.executable, *python_flags, "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
                writable=[*writable, runtime], readonly=readonly, env=env, limits=limits,
                slot=slot, status=status, cwd=writable[0], hide=hide, devices=devices)
    folder = Path(kernels) / name
    folder.mkdir(parents=True, exist_ok=True)
    # Interrupt by message: a SIGINT would reach the launcher, not the kernel.
    (folder / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "sandboxed Python", "language": "python",
        "interrupt_mode": "message"}, indent=1))
    return name


def client_config(runtime: Path):
    """traitlets Config for nbclient (and nbgrader's Execute): ipc transport, with the
    connection file and sockets in ``runtime``."""
    from traitlets.config import Config

    runtime = os.path.abspath(runtime)
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.connection_file = os.path.join(runtime, "kernel.json")
    config.KernelManager.ip = os.path.join(runtime, "ipc")
    if len(config.KernelManager.ip) + 8 > MAX_SOCKET_PATH:
        raise ValueError(f"the job folder {runtime} is too deep for unix sockets "
                         f"({MAX_SOCKET_PATH} bytes at most): use a shorter work folder")
    return config
