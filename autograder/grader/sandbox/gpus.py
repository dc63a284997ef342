"""NVIDIA GPUs a sandboxed kernel can be given: which there are, and what giving one means.

A GPU is its device node ``/dev/nvidiaN``; CUDA also opens the control nodes
(``nvidiactl``, ``nvidia-uvm``, ``nvidia-uvm-tools``, ``nvidia-modeset``). The sandbox's
``/dev`` is minimal (bwrap ``--dev``), so a kernel sees no GPU unless the grader binds these
nodes into it (``device_binds``): exactly its own GPU's node and the control nodes, never
another GPU's. CUDA enumerates only the GPUs whose nodes it can open, so inside the
sandbox the kernel's GPU is CUDA device 0; ``CUDA_VISIBLE_DEVICES`` is set by the grader
to that GPU's UUID when the driver tells it (``/proc/driver/nvidia/gpus/*/information``),
which names the same GPU however CUDA numbers them, else to ``0``.

Discovery reads the file system only (no CUDA, no nvidia-smi: nothing that could hang or
allocate), below ``root`` (default ``/``), so tests point it at a fake tree whose
``dev/nvidia*`` are links to a real character device such as ``/dev/null``.

What no sandbox option gives: a hard cap on a kernel's GPU memory. The kernels sharing a
GPU (``--workers-per-gpu`` above 1) share its memory; only MIG partitions (an admin's
``nvidia-smi mig`` on A100/H100/H200) cap it in hardware. MPS's
``CUDA_MPS_PINNED_DEVICE_MEM_LIMIT`` is read by the client library from the student's own
environment, so the student's code could lift it: no score may rely on it, and the kit
does not set it. One GPU per kernel (the default) needs no cap: the kernel's job is the
only one on its GPU, and a job that fills its GPU fails only itself. Handing out MIG
instances (their ``/dev/nvidia-caps`` nodes and ``MIG-`` UUIDs) is not done yet: it needs
a MIG-partitioned machine to be tested on.

Not hidden from a kernel given a GPU: ``/proc/driver/nvidia`` (the driver's description of
every GPU of the machine: models, bus ids; procfs shows it in every pid namespace) and
what NVML (``nvidia-smi``) reports through the control node, such as the host pids of
other processes on the same GPU. benchmarks/gpu.sh's hostile probe records both.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
DRIVER = "proc/driver/nvidia"
_NODE = re.compile(r"nvidia(\d+)$")


class GpuError(ValueError):
    """A ``--gpus`` request this machine cannot satisfy (names what exists)."""


@dataclass(frozen=True)
class Gpu:
    """One GPU of this machine: ``index`` N of its node ``/dev/nvidiaN`` (the driver's minor
    number), the node's path below the discovery root, and what the driver says of it."""
    index: int
    node: str
    uuid: str = ""
    model: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Gpu":
        if not isinstance(data, dict) or set(data) != {"index", "node", "uuid", "model"}:
            raise ValueError(f"a Gpu must be an object with index, node, uuid, model: {data!r}")
        return cls(**data)

    def describe(self) -> str:
        return f"GPU {self.index}" + (f" ({self.model})" if self.model else "")


def _is_char_device(path: Path) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)  # follows a link, as the mount will
    except OSError:
        return False


def driver_info(root: str | Path = "/") -> dict[int, dict[str, str]]:
    """{minor: fields} from ``/proc/driver/nvidia/gpus/<bus>/information`` (empty when the
    driver is not loaded)."""
    found = {}
    for info in sorted(Path(root, DRIVER, "gpus").glob("*/information")):
        try:
            lines = info.read_text(errors="replace").splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if fields.get("Device Minor", "").isdigit():
            found[int(fields["Device Minor"])] = fields
    return found


def discover(root: str | Path = "/") -> list[Gpu]:
    """The GPUs whose node ``root/dev/nvidiaN`` is a character device, by index."""
    dev, info = Path(root, "dev"), driver_info(root)
    found = []
    for path in dev.glob("nvidia*") if dev.is_dir() else []:
        match = _NODE.match(path.name)
        if match and _is_char_device(path):
            fields = info.get(int(match.group(1)), {})
            found.append(Gpu(int(match.group(1)), str(path), fields.get("GPU UUID", ""),
                             fields.get("Model", "")))
    return sorted(found, key=lambda gpu: gpu.index)


def control_nodes(root: str | Path = "/") -> list[str]:
    """The control nodes present under ``root/dev`` (``nvidia-uvm`` appears only once a
    privileged ``nvidia-modprobe -u`` or a first CUDA program on the host made it)."""
    return [str(Path(root, "dev", name)) for name in CONTROL_NODES
            if _is_char_device(Path(root, "dev", name))]


def device_binds(gpu: Gpu) -> list[list[str]]:
    """[host path, sandbox path] of every node a kernel given ``gpu`` gets: its own node and
    the control nodes beside it, each at ``/dev/<name>`` inside."""
    root = Path(gpu.node).parent.parent  # the discovery root: <root>/dev/nvidiaN
    return [[path, f"/dev/{os.path.basename(path)}"] for path in [gpu.node, *control_nodes(root)]]


def kernel_env(gpu: Gpu | None, sandboxed: bool = True) -> dict[str, str]:
    """The CUDA variables of a kernel's environment: no GPU, an empty device list (CUDA then
    sees none, even without the sandbox); with one, its UUID (or its number: 0 inside the
    sandbox, which shows CUDA this GPU only; the host's index without it)."""
    if gpu is None:
        return {"CUDA_VISIBLE_DEVICES": ""}
    return {"CUDA_VISIBLE_DEVICES": gpu.uuid or ("0" if sandboxed else str(gpu.index)),
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


def parse_request(text: str) -> str | tuple[int, ...]:
    """``--gpus``: "auto", "none", or indices "0,1" -> (0, 1); ValueError otherwise."""
    text = (text or "").strip().lower()
    if text in ("auto", "none"):
        return text
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise GpuError(f"--gpus {text!r}: expected auto, none, or GPU numbers such as 0,1")
    return tuple(int(p) for p in parts)


def resolve(request: str | tuple[int, ...], root: str | Path = "/") -> tuple[list[Gpu], str]:
    """The GPUs to grade with, and a one-line note (empty when there is nothing to say).

    "none": none. "auto": every GPU found, or none with a note that grading runs on the CPU.
    Numbers: exactly those; GpuError names a missing one and what exists.
    """
    if request == "none":
        return [], ""
    found = discover(root)
    if request == "auto":
        if not found:
            return [], f"--gpus auto: no GPU found ({why_none(root)}); grading on the CPU"
        return found, ""
    by_index = {gpu.index: gpu for gpu in found}
    missing = [i for i in request if i not in by_index]
    if missing:
        have = ", ".join(str(i) for i in by_index) or "none"
        raise GpuError(f"--gpus {','.join(map(str, request))}: no GPU {missing[0]} on this "
                       f"machine (GPUs here: {have}; see `autograder doctor`)")
    return [by_index[i] for i in request], ""


def why_none(root: str | Path = "/") -> str:
    """Why ``discover`` finds no GPU here, in words."""
    if not Path(root, DRIVER).is_dir():
        return f"no NVIDIA driver loaded ({Path(root, DRIVER)} is missing)"
    return f"the driver is loaded but there is no {Path(root, 'dev')}/nvidia<N> device node"


def problems(root: str | Path = "/") -> list[str]:
    """What stops a kernel from using the GPUs found here (empty: nothing)."""
    found = []
    if not discover(root):
        return [why_none(root)]
    present = {os.path.basename(p) for p in control_nodes(root)}
    if "nvidiactl" not in present:
        found.append(f"{Path(root, 'dev', 'nvidiactl')} is missing: CUDA cannot talk to the "
                     "driver")
    if "nvidia-uvm" not in present:
        found.append(f"{Path(root, 'dev', 'nvidia-uvm')} is missing: run `nvidia-modprobe -u "
                     "-c=0` once as root (a sandboxed kernel cannot create it)")
    return found


def assign(gpus: list[Gpu], workers_per_gpu: int) -> list[Gpu]:
    """Worker number -> its GPU: each GPU to ``workers_per_gpu`` consecutive workers."""
    if workers_per_gpu < 1:
        raise GpuError(f"--workers-per-gpu {workers_per_gpu}: give 1 or more")
    return [gpu for gpu in gpus for _ in range(workers_per_gpu)]


def worker_gpu(environ=None, root: str | Path = "/") -> Gpu | None:
    """The GPU of this Dask worker, for the jobs the scheduler sends it because it
    advertises the resource ``GPU``: ``AUTOGRADER_GPU`` (an index) if its environment
    sets it, else Slurm's ``SLURM_JOB_GPUS`` (first), else the machine's only GPU; None
    when it has none. GpuError when the choice is ambiguous or names a missing GPU."""
    environ = os.environ if environ is None else environ
    found = discover(root)
    chosen = environ.get("AUTOGRADER_GPU") or environ.get("SLURM_JOB_GPUS", "").split(",")[0]
    if chosen:
        gpus, _ = resolve(parse_request(chosen), root)
        return gpus[0] if gpus else None
    if len(found) > 1:
        raise GpuError(f"this worker sees {len(found)} GPUs: start it with AUTOGRADER_GPU=<N> "
                       "(one Dask worker per GPU)")
    return found[0] if found else None
