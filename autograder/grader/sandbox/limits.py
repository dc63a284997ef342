"""What one sandboxed kernel may use, with defaults derived from the assignment's budget."""
from __future__ import annotations

import dataclasses
import os

GiB, MiB = 1 << 30, 1 << 20


@dataclasses.dataclass
class Limits:
    """Resource limits of one sandboxed kernel.

    memory_bytes       RLIMIT_DATA of each process. Not RLIMIT_AS: CPU torch maps about
                       3.2 GB of address space for 0.8 GB of data (measured), so an
                       address-space limit would have to be four times the memory meant,
                       and a CUDA context reserves tens to hundreds of GB of address space
                       (unified addressing), which any RLIMIT_AS a kernel could live with
                       refuses. RLIMIT_DATA counts private writable mappings only: CUDA's
                       reservations are PROT_NONE and its device and pinned memory are
                       shared mappings of /dev/nvidia*, so a kernel on a GPU is limited on
                       the host memory it allocates, as on the CPU (GPU memory: gpus.py).
    processes          RLIMIT_NPROC, counted inside the sandbox's user namespace (Linux
                       5.14+), threads included (torch and OpenBLAS pools, DataLoader
                       workers); a fork bomb stops there.
    file_size_bytes    RLIMIT_FSIZE: the largest single file.
    open_files         RLIMIT_NOFILE.
    cpu_seconds        RLIMIT_CPU of each process (soft; the hard limit is 5 s later).
    total_write_bytes  bytes the job may have on disk in its writable folders, polled by
                       the launcher, which stops the sandbox past it.
    tmpfs_bytes        size of each private in-memory folder (/tmp, $HOME, /dev/shm).
    output_bytes       notebook outputs kept per notebook; later outputs are dropped with
                       a note before the grader writes the notebook (see the worker).
    cell_seconds       wall clock per cell: the cell is interrupted, the next ones run.
    notebook_seconds   wall clock for grading the whole submission: the job is stopped.
    """

    memory_bytes: int = 4 * GiB
    processes: int = 256
    file_size_bytes: int = 256 * MiB
    open_files: int = 1024
    cpu_seconds: int = 3600
    total_write_bytes: int = 1 * GiB
    tmpfs_bytes: int = 256 * MiB
    output_bytes: int = 8 * MiB
    cell_seconds: int = 360
    notebook_seconds: int = 600

    @classmethod
    def for_budget(cls, budget_seconds: int, cores: int | None = None) -> "Limits":
        """Defaults for an assignment whose notebook should run in ``budget_seconds``.

        Time grows with the budget. A training cell may use the whole budget, and a grader
        running several jobs at once (or a CI machine) is slower than a student's idle
        laptop: three budgets per cell (measured: A1's training cell took 20 s alone and
        120 s+ beside two other trainings on 2 cores), four budgets plus kernel start-up
        for the notebook, and every core busy for four budgets of CPU time. Memory,
        processes and bytes are what the course's notebooks need with a wide margin: the
        reference solutions train in one process and save a few MB of weights.
        """
        cores = cores or os.cpu_count() or 1
        budget = int(budget_seconds)
        return cls(cpu_seconds=max(60, 4 * budget * cores), cell_seconds=3 * budget,
                   notebook_seconds=4 * budget + 120)

    def to_json(self) -> dict:
        """The limits as plain JSON (they travel inside a job's spec: records.JobSpec)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Limits":
        """Limits from ``to_json``'s output; a ValueError names a missing, unknown or
        non-numeric limit (a spec written by another version of the kit)."""
        if not isinstance(data, dict):
            raise ValueError(f"Limits must be a JSON object, not {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        missing, unknown = sorted(set(names) - data.keys()), sorted(data.keys() - set(names))
        if missing or unknown:
            raise ValueError(f"Limits: missing {missing}, unknown {unknown}: written by "
                             "another version of the kit?")
        wrong = [n for n in names if type(data[n]) not in (int, float)]  # nor bool
        if wrong:
            raise ValueError(f"Limits: {wrong} must be numbers")
        return cls(**data)

    def describe(self) -> list[tuple[str, str]]:
        """(limit, value) rows for the summary and the README."""
        return [("memory per process", f"{self.memory_bytes / GiB:g} GiB"),
                ("processes and threads", str(self.processes)),
                ("largest file", f"{self.file_size_bytes // MiB} MiB"),
                ("bytes written by the job", f"{self.total_write_bytes // MiB} MiB"),
                ("open files", str(self.open_files)),
                ("CPU time per process", f"{self.cpu_seconds} s"),
                ("/tmp, $HOME, /dev/shm", f"{self.tmpfs_bytes // MiB} MiB each"),
                ("notebook outputs", f"{self.output_bytes // MiB} MiB per notebook"),
                ("wall clock", f"{self.cell_seconds} s per cell, {self.notebook_seconds} s "
                               "per notebook")]
