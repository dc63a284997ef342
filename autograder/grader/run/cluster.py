"""Grading on a Dask cluster: ``autograder grade --scheduler tcp://HOST:PORT``.

The unit of work is the same as on one machine: one submission. The coordinator prepares
the job's scratch course (submission, released helper files, solution-free gradebook)
and sends it as data with the job's ``JobSpec`` (records.py); a Dask worker places the
spec on its machine (its folder, slot, data), unpacks the course in a private folder,
grades it in its own warm worker (a fresh sandboxed kernel per job, as locally) and sends
back, as data, the worker's ``Outcome``, the autograded folder (copied with harvest's
caps), the evidence the kernel filed and the job's gradebook. The coordinator alone
judges and writes the gradebook, once per submission: a Dask worker that dies mid-batch
only makes the scheduler run its jobs again elsewhere.

A Dask worker needs the kit installed (the same version as the coordinator), bubblewrap,
and the course data under its own ``AUTOGRADER_DATA``; it needs no access to the course.

GPUs (``grade --gpus auto --scheduler ...``): a worker with a GPU advertises the Dask
resource ``GPU`` (``dask worker --resources GPU=1``, one worker per GPU, its GPU named by
``AUTOGRADER_GPU=N`` when the machine has several: gpus.worker_gpu), and the jobs that run
on a GPU ask for it (``job_resources``), so the scheduler sends them to GPU workers only;
the other jobs (from-scratch assignments) go to any worker and run on its CPU.
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from ..course import KIT_ROOT
from ..sandbox import gpus, safetree
from ..sandbox.slots import hold_first_free
from .harvest import FILE_LIMIT_BYTES, _copy_regular, harvest
from .jobs import EVIDENCE, place, write_student_kit
from .records import GradingSettings, JobSpec, Outcome
from .warm import WarmWorker

GPU_RESOURCE = "GPU"  # the Dask resource a GPU worker advertises, one per GPU
SLOTS = range(32, 96)  # sandbox slots of cluster workers: apart from a local run's 0, 1, ...
_local = threading.local()
_slot_lock = None


def pack(folder: Path) -> dict[str, bytes]:
    """{relative path: content} of the regular files under ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def unpack(files: dict[str, bytes], folder: Path) -> None:
    for name, content in files.items():
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents:
            continue  # never outside the folder, whatever the name says
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def machine_slot() -> int:
    """A sandbox slot that no other grading process on this machine holds (a lock file
    kept for the life of the process)."""
    global _slot_lock
    if _slot_lock is None:
        _slot_lock = hold_first_free(SLOTS, "autograder-slot")
        if _slot_lock is None:
            raise RuntimeError(f"all {len(SLOTS)} sandbox slots of this machine are in use")
    return _slot_lock[0]


def _worker_state():
    """This thread's warm worker and scratch root (with the student kit), made once."""
    if not hasattr(_local, "worker"):
        root = Path(tempfile.mkdtemp(prefix="ag-"))  # short: the kernel's socket paths
        write_student_kit(KIT_ROOT, root / "kit")
        _local.root, _local.count = root, 0
        _local.worker = WarmWorker()
    return _local


def grade_packed(job: dict) -> dict:
    """On a Dask worker: grade one packed job ({"spec": its JobSpec as JSON, "files": its
    scratch course}, made by ``packed_job``); everything it produced, as data, its outcome
    as an Outcome's JSON.

    Its kernel gets one BLAS thread: start one Dask worker process per core."""
    from .outcome import run_outcome

    state = _worker_state()
    state.count += 1
    jobdir = state.root / f"j{state.count}"
    jobdir.mkdir()
    try:
        spec = JobSpec.from_json(job["spec"])
        spec = place(spec, jobdir, kit=state.root / "kit", slot=machine_slot(), threads=1,
                     gpu=gpus.worker_gpu() if spec.device == "gpu" else None)
        unpack(job["files"], jobdir)
        spec.write()
        outcome = run_outcome(state.worker, spec)
        staged = jobdir / "staged"
        produced = jobdir / "autograded" / spec.student / spec.assignment
        notes = harvest(produced, staged / "autograded", first=spec.wanted) \
            if produced.exists() else []
        evidence = jobdir / "run" / EVIDENCE
        if evidence.exists():
            (staged / "run").mkdir()
            _, note = _copy_regular(evidence, staged / "run" / EVIDENCE, FILE_LIMIT_BYTES,
                                    FILE_LIMIT_BYTES)
            notes += [note] if note else []
        return {"outcome": outcome.to_json(), "notes": notes,
                "autograded": pack(staged / "autograded"), "evidence": pack(staged / "run"),
                "gradebook": (jobdir / "gradebook.db").read_bytes()}
    finally:
        safetree.remove_tree(jobdir, report=True)


def packed_job(spec: JobSpec, jobdir: Path) -> dict:
    """The job ``spec`` (not yet placed) and its scratch course in ``jobdir`` (made by
    jobs.prepare), as data for a Dask worker."""
    return {"spec": spec.to_json(), "files": pack(jobdir)}


def job_resources(spec: JobSpec) -> dict[str, int] | None:
    """The Dask resources the job asks for: one GPU for a job on the GPU, none otherwise."""
    return {GPU_RESOURCE: 1} if spec.device == "gpu" else None


def gpu_workers(client) -> int:
    """How many of the cluster's workers advertise a GPU."""
    workers = client.scheduler_info()["workers"].values()
    return sum(1 for w in workers if w.get("resources", {}).get(GPU_RESOURCE, 0) >= 1)


def unpack_result(answer: dict, jobdir: Path, student: str, assignment: str) -> None:
    """Lay out a Dask worker's answer as a local job would have left it."""
    safetree.remove_tree(jobdir, report=True)
    unpack(answer["autograded"], jobdir / "autograded" / student / assignment)
    unpack(answer["evidence"], jobdir / "run")
    (jobdir / "gradebook.db").write_bytes(answer["gradebook"])


def cluster_results(course, pending, scheduler: str, workroot: Path,
                    settings: GradingSettings, window: int = 0):
    """(result, job folder) of every pending job, graded by the Dask cluster at
    ``scheduler``; at most ``window`` jobs (default: 4 per worker thread) are in flight, so
    that the coordinator never holds the whole class in memory."""
    from distributed import Client, as_completed

    from .jobs import prepare
    from .outcome import job_result

    with Client(scheduler, timeout=60) as client:
        if settings.on_gpu and not gpu_workers(client):
            raise RuntimeError(f"no worker of the Dask cluster at {scheduler} advertises a GPU "
                               f"(resource {GPU_RESOURCE}): start GPU workers with "
                               f"`dask worker ... --resources {GPU_RESOURCE}=1`, or grade "
                               "with --gpus none")
        window = window or 4 * max(1, sum(client.nthreads().values())) + 4
        waiting, running, finished = list(enumerate(pending)), {}, as_completed()

        def submit():
            index, (student, assignment) = waiting.pop(0)
            jobdir = workroot / f"j{index}"
            spec = prepare(course, student, assignment, jobdir, settings)
            future = client.submit(grade_packed, packed_job(spec, jobdir), pure=False,
                                   resources=job_resources(spec))
            running[future] = (spec, jobdir)
            finished.add(future)

        while waiting and len(running) < window:
            submit()
        for future in finished:
            spec, jobdir = running.pop(future)
            try:
                answer = future.result()
                outcome = Outcome.from_json(answer["outcome"])
            except Exception as err:  # noqa: BLE001 (e.g. the job killed worker after worker)
                failure = Outcome("error", "the cluster could not grade it: "
                                  f"{type(err).__name__}: {err}"[:2000])
                yield job_result(spec, failure), jobdir
            else:
                unpack_result(answer, jobdir, spec.student, spec.assignment)
                result = job_result(spec, outcome)
                result.notes = answer["notes"] + result.notes
                yield result, jobdir
            if waiting:
                submit()
