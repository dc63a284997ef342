"""GPU measurements in the grading sandbox, for a machine with an NVIDIA GPU (benchmarks/gpu.sh).

    python3 benchmarks/gpu_probe.py host [--subset .gpu/subset/cifar10_subset.npz]

runs on the host and starts each step below in the kit's real sandbox (sandbox.wrap, with
the GPU's nodes bound as ``grade --gpus`` binds them), printing one line per result:

1. doctor: the GPU rows of ``autograder doctor`` (discovery, control nodes, torch, CUDA
   inside a sandbox);
2. victim: a sandboxed process on the GPU fills 1 GiB of GPU memory with a marker, exits;
3. hostile: a sandboxed process given the GPU lists /dev and /proc, reads
   /proc/driver/nvidia, opens other GPUs' nodes, widens CUDA_VISIBLE_DEVICES, runs
   nvidia-smi, allocates 1 GiB uninitialised and counts the victim's marker bytes in it,
   and reports its RLIMIT_DATA (a CUDA context must start under it);
4. throughput: the A5 reference BetterCNN (its code read from source/a5_cifar10, solution
   markers removed) trained for one pass over the subset of real CIFAR-10 images in
   ``--subset`` (written by ``gpu.sh prep``: the first N images of data_batch_1), in the
   sandbox on the GPU and on the CPU: images per second, and the seconds one pass over
   A5's 45,000 training images would take at that rate.

``python3 gpu_probe.py inside STEP`` is what runs inside the sandbox.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = 0x5A
A5_CELLS = ("fit_helpers", "baseline", "make_optimizer", "augmentation", "better_model")


# ---------------------------------------------------------------- inside ---
def inside_victim() -> dict:
    import torch

    x = torch.full((1 << 30,), MARKER, dtype=torch.uint8, device="cuda")
    torch.cuda.synchronize()
    return {"filled_bytes": x.numel()}


def inside_hostile() -> dict:
    import resource
    import glob

    seen = {"dev": sorted(os.listdir("/dev")), "proc_pids": sorted(
        int(p) for p in os.listdir("/proc") if p.isdigit()),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "rlimit_data": resource.getrlimit(resource.RLIMIT_DATA)[0]}
    driver = {}
    for path in sorted(glob.glob("/proc/driver/nvidia/**", recursive=True))[:40]:
        if os.path.isfile(path):
            try:
                driver[path] = open(path, errors="replace").read(200)
            except OSError as err:
                driver[path] = f"refused: {err.strerror}"
    seen["proc_driver_nvidia"] = driver
    opened = {}
    for n in range(16):
        path = f"/dev/nvidia{n}"
        if not os.path.exists(path):
            continue
        try:
            os.close(os.open(path, os.O_RDWR))
            opened[path] = "opened"
        except OSError as err:
            opened[path] = f"refused: {err.strerror}"
    seen["gpu_nodes"] = opened
    counts = {}
    for value in ("", "0", "0,1,2,3,4,5,6,7", "1", "GPU-00000000-0000-0000-0000-000000000000"):
        code = "import torch; print(torch.cuda.device_count())"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "CUDA_VISIBLE_DEVICES": value}, timeout=120)
        counts[value or "(empty)"] = done.stdout.strip() or done.stderr.strip()[-200:]
    seen["device_count_when_set"] = counts
    try:
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60)
        seen["nvidia_smi"] = (smi.stdout + smi.stderr)[-1500:]
    except (OSError, subprocess.TimeoutExpired) as err:
        seen["nvidia_smi"] = f"not run: {err}"
    import torch

    start = time.perf_counter()
    try:
        leftover = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
        seen["victim_marker_bytes_found"] = int((leftover == MARKER).sum().item())
        seen["cuda_start_and_1GiB_seconds"] = round(time.perf_counter() - start, 2)
        seen["device_name"] = torch.cuda.get_device_name(0)
    except RuntimeError as err:  # no CUDA here: what the rest saw still counts
        seen["cuda"] = f"failed: {str(err)[:300]}"
    return seen


def a5_namespace() -> dict:
    """The A5 reference's helpers and models, run from the source notebook's cells."""
    notebook = json.loads((REPO / "source/a5_cifar10/a5_cifar10.ipynb").read_text())
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
             for c in notebook["cells"] if c["cell_type"] == "code"}
    setup = "\n".join(line for line in cells["setup"].splitlines() if not line.startswith("%"))
    namespace: dict = {}
    exec(setup, namespace)
    for name in A5_CELLS:
        code = "\n".join(line for line in cells[name].splitlines()
                         if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
        exec(code, namespace)
    return namespace


def inside_throughput(subset: str, images: int) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from autograder.student import data

    ns = a5_namespace()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with np.load(subset) as arrays:
        x = torch.from_numpy(arrays["images"][:images]).permute(0, 3, 1, 2).float() / 255
        y = torch.from_numpy(arrays["labels"][:images]).long()
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (data.CIFAR10_MEAN, data.CIFAR10_STD))
    x, y = ((x - mean) / std).to(device), y.to(device)
    torch.manual_seed(0)
    model = ns["BetterCNN"]().to(device, memory_format=torch.channels_last).train()
    optimizer = ns["make_optimizer"]("sgd", model.parameters(), 0.05)
    augment = ns["RandomCropFlip"](4, 0.5)
    order = torch.randperm(len(x), device=device)
    batches = [order[i:i + 128] for i in range(0, len(x), 128)]
    for step, batch in enumerate([batches[0], *batches]):
        if step == 1:  # the first batch (cuDNN's choices, allocator) is not timed
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        inputs = augment(x[batch]).contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), y[batch])
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"device": str(device), "images": len(x), "seconds": round(seconds, 2),
            "images_per_second": round(len(x) / seconds, 1),
            "seconds_per_45000_image_pass": round(45000 * seconds / len(x), 1),
            "threads": torch.get_num_threads(), "final_loss": round(loss.item(), 4)}


# ------------------------------------------------------------------ host ---
def sandboxed(step: str, *args, gpu=None, limits=None) -> dict:
    """Run ``inside STEP`` in the kit's sandbox (given ``gpu``'s nodes, or none)."""
    from autograder.grader.sandbox import Limits, gpus, wrap

    env = {**gpus.kernel_env(gpu), "PYTHONPATH": str(REPO)}
    args = [os.path.abspath(a) if isinstance(a, str) and os.path.exists(a) else a for a in args]
    readonly = [str(REPO)] + [os.path.dirname(a) for a in args
                              if isinstance(a, str) and os.path.exists(a)]
    with tempfile.TemporaryDirectory(prefix="ag-gpu-") as folder:
        argv = wrap([sys.executable, "-u", str(Path(__file__).resolve()), "inside", step,
                     *map(str, args)], writable=[folder], readonly=readonly, env=env,
                    limits=limits or Limits.for_budget(300), devices=gpus.device_binds(gpu)
                    if gpu else ())
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        answer = {"error": f"exit {done.returncode}: {done.stderr.strip()[-800:]}"}
    answer["wall_seconds"] = round(time.perf_counter() - started, 1)
    return answer


def host(subset: str, cpu_images: int) -> int:
    sys.path.insert(0, str(REPO))
    from autograder.grader import doctor
    from autograder.grader.sandbox import gpus

    for what, ok, detail in doctor.gpu_checks():
        print(f"doctor {'ok' if ok else 'NO'}: {what}: {detail}", flush=True)
    found = gpus.discover()
    if not found:
        print("no GPU found: nothing more to measure")
        return 1
    gpu = found[0]
    print("victim:", json.dumps(sandboxed("victim", gpu=gpu)), flush=True)
    print("hostile:", json.dumps(sandboxed("hostile", gpu=gpu), indent=1), flush=True)
    if subset and os.path.exists(subset):
        print("throughput gpu:", json.dumps(sandboxed("throughput", os.path.abspath(subset),
                                                      10 ** 9, gpu=gpu)), flush=True)
        print("throughput cpu:", json.dumps(sandboxed("throughput", os.path.abspath(subset),
                                                      cpu_images)), flush=True)
    else:
        print(f"throughput: no subset at {subset} (run `benchmarks/gpu.sh prep` first)")
    return 0


def main(argv) -> int:
    if argv[:1] == ["inside"]:
        step, args = argv[1], argv[2:]
        sys.path.insert(0, str(REPO))
        if step == "throughput":
            answer = inside_throughput(args[0], int(args[1]))
        else:
            answer = {"victim": inside_victim, "hostile": inside_hostile}[step]()
        print(json.dumps(answer))
        return 0
    subset = argv[argv.index("--subset") + 1] if "--subset" in argv else ""
    cpu_images = int(argv[argv.index("--cpu-images") + 1]) if "--cpu-images" in argv else 2048
    return host(subset, cpu_images)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
