"""The records a grading job crosses process boundaries as: its ``JobSpec`` (coordinator ->
warm worker as ``job.json``, coordinator -> Dask worker in the job's message) and its
``Outcome`` (worker -> coordinator, one ``RESULT`` line or the Dask answer); and the
batch's ``GradingSettings``, which stay in the coordinator and become each job's spec.

Each record is a dataclass with ``to_json()`` (plain JSON data) and a strict
``from_json()``: a missing or unknown field, or another ``version``, raises a ValueError
that says so. A Dask worker running another version of the kit, or a stale spec, then
fails its job with that message instead of grading it on a misread field.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..sandbox.gpus import Gpu
from ..sandbox.limits import Limits

JOB_FILE = "job.json"  # the job's spec, in its folder (invisible to its kernel)
BACKSTOP_SECONDS = 60  # the coordinator's wait past the notebook's wall clock


def checked(cls, data) -> dict:
    """``data`` if it holds exactly the fields of the record class ``cls``, at its version;
    otherwise a ValueError naming what is wrong."""
    name = cls.__name__
    if not isinstance(data, dict):
        raise ValueError(f"a {name} must be a JSON object, not {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    version = fields["version"].default
    if "version" in data and data["version"] != version:
        raise ValueError(f"a {name} of version {data['version']!r}; this kit reads version "
                         f"{version}: use the same version of the kit on every machine")
    missing, unknown = sorted(fields.keys() - data.keys()), sorted(data.keys() - fields.keys())
    if missing:
        raise ValueError(f"a {name} without {', '.join(missing)}: written by another "
                         "version of the kit?")
    if unknown:
        raise ValueError(f"a {name} with unknown field(s) {', '.join(unknown)}: written by "
                         "another version of the kit?")
    return data


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to grade one submission.

    The first fields are the job's, decided by the coordinator (jobs.prepare); the ones
    after ``wanted`` say where it runs, and are filled by ``jobs.place`` on the machine
    that grades it (locally, or on a Dask worker with its own folders, slot and data).

    hide_autodiff  the assignment is graded from scratch: its kernel sees no autodiff library
    wanted         files of the submission harvested first (notebooks, judged files)
    device         "cpu" or "gpu": where the job's kernel runs (its limits are that
                   device's budget's: settings.py); a Dask job on "gpu" asks for a worker
                   with the resource GPU (cluster.job_resources)
    jobdir         the job's private scratch course (its spec is ``jobdir/job.json``)
    kit            the student side of the kit, the only part a kernel may import
    slot           the sandbox slot (a uid when grading as root) of the job's kernel
    readonly       folders the sandbox shows read-only: the data and its decoded cache
    hide           folders the sandbox shows empty (the autodiff libraries, if hidden)
    kernel_env     the kernel's environment: nonce, evidence file, data, BLAS threads,
                   CUDA_VISIBLE_DEVICES (empty on the CPU)
    gpu            the GPU of this machine the kernel is given (None on the CPU)
    devices        [host node, sandbox path] of the device nodes bound into its sandbox
    """
    student: str
    assignment: str
    nonce: str  # the seed of the checks' hidden inputs (jobs.job_nonce)
    sandbox: bool
    hide_autodiff: bool
    limits: Limits
    wanted: list[str]
    device: str = "cpu"
    jobdir: str = ""
    kit: str = ""
    slot: int = 0
    readonly: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)
    kernel_env: dict[str, str] = field(default_factory=dict)
    gpu: Gpu | None = None
    devices: list[list[str]] = field(default_factory=list)
    version: int = 1

    DEVICES = ("cpu", "gpu")

    def __post_init__(self):
        if self.device not in self.DEVICES:
            raise ValueError(f"a JobSpec's device is one of {self.DEVICES}, not {self.device!r}")

    @property
    def file(self) -> Path:
        """Where the spec is written, in the job's folder."""
        return Path(self.jobdir) / JOB_FILE

    @property
    def backstop_seconds(self) -> float:
        """How long the coordinator waits for the job's outcome: the worker stops the
        kernel at the notebook's wall clock, this is the backstop."""
        return self.limits.notebook_seconds + BACKSTOP_SECONDS

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "limits": self.limits.to_json(),
                "gpu": self.gpu.to_json() if self.gpu else None}

    @classmethod
    def from_json(cls, data) -> "JobSpec":
        data = checked(cls, data)
        return cls(**{**data, "limits": Limits.from_json(data["limits"]),
                      "gpu": Gpu.from_json(data["gpu"]) if data["gpu"] is not None else None})

    def write(self) -> Path:
        """Write the spec to ``self.file``; returns that path."""
        self.file.write_text(json.dumps(self.to_json(), indent=1))
        return self.file

    @classmethod
    def read(cls, path: Path) -> "JobSpec":
        return cls.from_json(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class Outcome:
    """What became of one job, as its worker reports it (status "graded" or "error"), or as
    the coordinator records a job no worker answered for ("timeout", "error").

    status      "graded" (nbgrader autograded the notebook), "error" or "timeout"
    error       why it was not graded (the end of nbgrader's log, or the failure)
    sandbox     how each sandboxed kernel ended, as its launcher recorded it
    wall_clock  whether the notebook's wall clock stopped the kernel
    removed     links and special files the kernel left, deleted before nbgrader wrote
                there, and anything there the grader could not read
    worker      the pid of the worker that graded it (0: none answered)
    peak_kb     peak resident memory (kB) so far of the worker and of its largest kernel
    seconds     the job's time, as the coordinator measured it
    """
    status: str
    error: str = ""
    sandbox: list[dict] = field(default_factory=list)
    wall_clock: bool = False
    removed: list[str] = field(default_factory=list)
    worker: int = 0
    peak_kb: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    version: int = 1

    STATUSES = ("graded", "error", "timeout")

    def __post_init__(self):
        if self.status not in self.STATUSES:
            raise ValueError(f"an Outcome's status is one of {self.STATUSES}, not "
                             f"{self.status!r}")

    @property
    def graded(self) -> bool:
        return self.status == "graded"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> "Outcome":
        return cls(**checked(cls, data))


@dataclass(frozen=True)
class GradingSettings:
    """How the coordinator grades a batch, one typed value per setting; each job's spec is
    made from them (jobs.prepare). They stay in the coordinator (the JSON form is for
    logs and tests, as strict as the other records').

    sandbox       every kernel runs in the sandbox
    threads       BLAS/OpenMP threads of each local kernel (a Dask worker's get one)
    limits        assignment -> its kernels' limits
    from_scratch  the assignments whose kernels see no autodiff library
    wanted        assignment -> the files of a submission harvested first
    gpus          this machine's GPUs the local workers are given (none: all on the CPU)
    workers_per_gpu  local workers sharing each GPU (worker n has gpus[n // this])
    on_gpu        the assignments whose jobs run on a GPU (limits: their GPU budget)
    """
    sandbox: bool
    threads: int
    limits: dict[str, Limits]
    from_scratch: frozenset[str] = frozenset()
    wanted: dict[str, list[str]] = field(default_factory=dict)
    gpus: tuple[Gpu, ...] = ()
    workers_per_gpu: int = 1
    on_gpu: frozenset[str] = frozenset()
    version: int = 1

    def device(self, assignment: str) -> str:
        """Where the jobs of ``assignment`` run: "gpu" or "cpu"."""
        return "gpu" if assignment in self.on_gpu else "cpu"

    def worker_gpu(self, number: int) -> Gpu | None:
        """The GPU of local worker ``number`` (None: no GPUs)."""
        if not self.gpus:
            return None
        return self.gpus[(number // self.workers_per_gpu) % len(self.gpus)]

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self),
                "limits": {a: l.to_json() for a, l in self.limits.items()},
                "from_scratch": sorted(self.from_scratch), "on_gpu": sorted(self.on_gpu),
                "gpus": [gpu.to_json() for gpu in self.gpus]}

    @classmethod
    def from_json(cls, data) -> "GradingSettings":
        data = checked(cls, data)
        return cls(**{**data, "limits": {a: Limits.from_json(l) for a, l in data["limits"].items()},
                      "from_scratch": frozenset(data["from_scratch"]),
                      "on_gpu": frozenset(data["on_gpu"]),
                      "gpus": tuple(Gpu.from_json(g) for g in data["gpus"])})
