"""Calibrate an assignment's accuracy thresholds: ``autograder calibrate ID --seeds N``.

Runs the teacher notebook of ``source/ID`` top to bottom N times, in a fresh kernel and a
scratch copy of its folder, with ``COURSE_SEED`` = 0 .. N-1, and measures what the grader
would: every file a test cell's judge spec names (saved weights, a model archive) is
evaluated by the trusted judge, with its own forward pass and data. Writes the table
(min, mean, max, threshold, margin, wall time, machine) to ``calibration/ID.md`` in the
course and fails when a threshold is less than 0.5 percentage points below the worst
seed, or a run takes longer than the assignment's budget on the device it ran on (its
notebook's metadata ``autograder.budget_seconds``, or ``budget_seconds_gpu`` on a GPU:
settings.py); the table says which device that was.
"""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .course import NEVER_RELEASED, Course
from .run.jobs import assignment_budget

MARGIN = 0.005  # a threshold sits at least half a percentage point below the worst seed


@dataclass
class Run:
    seed: int
    seconds: float
    accuracies: dict[str, float] = field(default_factory=dict)  # judged file -> accuracy
    errors: int = 0  # cells that raised


def judge_specs(course: Course, assignment: str) -> dict[str, dict]:
    """{judged file: judge spec} of the assignment's test cells."""
    from .assignment import test_cells

    return {cell.judge_spec["path"]: cell.judge_spec
            for cell in test_cells(course, assignment) if cell.judge_spec}


def run_seed(course: Course, assignment: str, seed: int, specs: dict, timeout: int) -> Run:
    """One top-to-bottom run of the teacher notebook(s), then the judge on what they saved."""
    import nbformat
    from nbclient import NotebookClient

    from . import references
    from .judge.judge import judge_saved_file

    references.install(course.source)  # the judge's own readers of what the run saved
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        folder = Path(tmp) / assignment
        shutil.copytree(course.source / assignment, folder, ignore=shutil.ignore_patterns(
            *NEVER_RELEASED))
        saved = os.environ.get("COURSE_SEED")
        os.environ["COURSE_SEED"] = str(seed)  # the kernel inherits it
        run = Run(seed, 0.0)
        try:
            start = time.perf_counter()
            for path in sorted(folder.glob("*.ipynb")):
                nb = nbformat.read(path, as_version=4)
                NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                               resources={"metadata": {"path": str(folder)}}).execute()
                run.errors += sum(1 for cell in nb.cells if cell.cell_type == "code" and any(
                    out.get("output_type") == "error" for out in cell.get("outputs", [])))
            run.seconds = time.perf_counter() - start
        finally:
            os.environ.pop("COURSE_SEED") if saved is None else os.environ.update(
                COURSE_SEED=saved)
        for name, spec in specs.items():
            result = judge_saved_file(folder, spec)
            run.accuracies[name] = float(result.details.get("accuracy", float("nan")))
    return run


def problems(runs: list[Run], specs: dict, budget: float) -> list[str]:
    """Why the calibration fails: thresholds too close to the worst seed, slow runs."""
    found = []
    for name, spec in specs.items():
        worst = min(run.accuracies[name] for run in runs)
        if not float(spec["threshold"]) <= worst - MARGIN:
            found.append(f"{name}: threshold {spec['threshold']} is not {MARGIN * 100:.1f} "
                         f"percentage points below the worst seed ({worst:.4f})")
    found += [f"seed {run.seed}: {run.seconds:.0f} s, over the budget of {budget:.0f} s"
              for run in runs if run.seconds > budget]
    return found


def device(root="/", environ=None) -> tuple[str, str]:
    """("gpu" or "cpu", in words) for the runs: a kernel started here inherits this
    process's environment, so it uses a GPU when the machine has one and
    ``CUDA_VISIBLE_DEVICES`` does not hide it (the notebooks use CUDA when they see it)."""
    from .sandbox import gpus

    environ = os.environ if environ is None else environ
    found = gpus.discover(root)
    if not found or environ.get("CUDA_VISIBLE_DEVICES") == "":
        return "cpu", f"CPU ({os.cpu_count()} cores)"
    return "gpu", "GPU: " + ", ".join(gpu.describe() for gpu in found)


def machine() -> str:
    return (f"{platform.node()}, {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")


def table(assignment: str, runs: list[Run], specs: dict, budget: float,
          measured_on: str = "CPU") -> str:
    """The calibration table, in Markdown (``measured_on``: the device, in words)."""
    lines = [f"# Calibration of {assignment}", "",
             f"{len(runs)} seeds ({', '.join(str(r.seed) for r in runs)}) on {machine()}.",
             "", f"Device: {measured_on}.",
             "", "| judged file | min | mean | max | threshold | margin (pp) | "
             "worst wall s | budget s |", "|---|---|---|---|---|---|---|---|"]
    slowest = max(run.seconds for run in runs)
    for name, spec in specs.items():
        values = [run.accuracies[name] for run in runs]
        lines.append(f"| {name} | {min(values):.4f} | {statistics.mean(values):.4f} | "
                     f"{max(values):.4f} | {spec['threshold']} | "
                     f"{(min(values) - float(spec['threshold'])) * 100:+.2f} | "
                     f"{slowest:.1f} | {budget:.0f} |")
    lines += ["", "| seed | wall s | cells with errors | " + " | ".join(specs) + " |",
              "|---|---|---|" + "---|" * len(specs)]
    for run in runs:
        lines.append(f"| {run.seed} | {run.seconds:.1f} | {run.errors} | " + " | ".join(
            f"{run.accuracies[name]:.4f}" for name in specs) + " |")
    return "\n".join(lines) + "\n"


def calibrate(course: Course, assignment: str, seeds: int, budget: float | None = None,
              log=print) -> tuple[Path, list[str]]:
    """Run the seeds, write ``calibration/<assignment>.md``; returns it and the problems."""
    specs = judge_specs(course, assignment)
    if not specs:
        raise ValueError(f"{assignment} has no test cell judged from a saved file (a check "
                         "of the file on split=\"test\", whose line is its judge spec): "
                         "nothing to calibrate")
    kind, measured_on = device()
    budget = budget or assignment_budget(course, assignment, kind)
    log(f"device: {measured_on}; budget on this device {budget:g} s")
    runs = []
    for seed in range(seeds):
        runs.append(run_seed(course, assignment, seed, specs, timeout=int(3 * budget) + 60))
        log(f"seed {seed}: {runs[-1].seconds:.1f} s  " + ", ".join(
            f"{name} {value:.4f}" for name, value in runs[-1].accuracies.items()))
    path = course.root / "calibration" / f"{assignment}.md"
    path.parent.mkdir(exist_ok=True)
    found = problems(runs, specs, budget)
    path.write_text(table(assignment, runs, specs, budget, measured_on)
                    + "".join(f"\nFAILED: {p}" for p in found) + ("\n" if found else ""))
    return path, found
