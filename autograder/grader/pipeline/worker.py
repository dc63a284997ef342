"""Grading jobs in a worker process: ``python -m autograder.grader.pipeline.worker JOB`` grades
one job; ``... worker --serve`` is a warm worker grading job after job (spec paths on stdin).

JOB is the job's spec (``job.json``, written by grade.py) in a private copy of the course:
the submission, a gradebook without reference solutions, the released helper files. The
worker runs nbgrader's autograde there; the notebook's kernel runs in the sandbox (or,
with ``--no-sandbox``, as a plain process) and can import only the student side of the
kit. The job's folders as the kernel sees them:

    <job>/autograded/<student>/<assignment>/   the notebook's folder: writable
    <job>/run/                                 connection file, sockets, evidence: writable
    <job>/...                                  gradebook, submission, status: invisible

It prints one JSON line: {"success", "error", "sandbox" (how each sandbox ended),
"wall_clock" (whether the notebook's wall clock stopped the kernel), "removed" (links and
special files the kernel left, deleted before nbgrader wrote there), "worker" (its pid),
"peak_kb" (peak resident memory of the worker and its largest kernel so far)}.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import sysconfig
import threading
import traceback
from pathlib import Path

from traitlets.config import Config

from .course import Course

KERNEL = "graded-python3"
READY = "@@worker-ready"
RESULT = "@@result "


def kernel_pythonpath(kit: Path) -> str:
    """The kit's student side first, then site-packages (``python -S`` skips the ``.pth``
    files, among them the editable install's finder that would resolve
    ``autograder.grader`` from the repository)."""
    return os.pathsep.join([str(kit), sysconfig.get_paths()["purelib"]])


def write_plain_kernelspec(kernels: Path, env: dict) -> None:
    """The unsandboxed kernel of ``--no-sandbox``: it still dies with the worker."""
    argv = ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
            sys.executable, "-S", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    folder = kernels / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "graded notebook (not sandboxed)", "language": "python",
         "env": env}, indent=1))


def prepare_kernel(job: dict, jobdir: Path) -> Config:
    """Write the job's kernelspec; returns the client configuration it needs."""
    from ..sandbox import Limits, client_config, write_kernelspec

    kernels = jobdir / "jupyter" / "kernels"
    os.environ["JUPYTER_PATH"] = str(kernels.parent)  # read by the kernel manager
    kit = Path(job["kit"])
    env = {**job["kernel_env"], "PYTHONPATH": kernel_pythonpath(kit)}
    if not job["sandbox"]:
        write_plain_kernelspec(kernels, env)
        return Config()
    runtime = jobdir / "run"
    notebook_folder = jobdir / "autograded" / job["student"] / job["assignment"]
    write_kernelspec(kernels, KERNEL, runtime=runtime, writable=[notebook_folder],
                     readonly=[kit, *job["readonly"]], env=env, limits=Limits(**job["limits"]),
                     slot=job["slot"], status=jobdir / "sandbox-status.jsonl",
                     hide=job.get("hide", []))
    return client_config(runtime)


def sandbox_endings(jobdir: Path) -> list[dict]:
    """How each sandboxed kernel of the job ended, as its launcher recorded it."""
    path = jobdir / "sandbox-status.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def child_pids() -> list[int]:
    """This process's children (the kernel's launcher, or the kernel itself)."""
    me, found = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me:
                found.append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    return found


def stop_kernel_at(seconds: float, stopped: list) -> threading.Timer:
    """Past the notebook's wall clock, stop the kernel (the launcher takes the whole
    sandbox with it): the cells left get an error, the tests that passed keep their
    points. The coordinator's own limit, a minute later, is only the backstop."""
    def stop():
        stopped.append(seconds)
        for pid in child_pids():  # bwrap's --die-with-parent takes the sandbox along
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    return timer


def grade_job(spec_file: Path) -> dict:
    """Autograde the job described by ``spec_file``; returns its outcome (see above)."""
    from .execute import autograde, autograde_steps

    job = json.loads(spec_file.read_text())
    jobdir = spec_file.parent
    (jobdir / "run").mkdir(exist_ok=True)
    config = Course(jobdir).config(kernel=KERNEL, cell=job["limits"]["cell_seconds"])
    config.merge(prepare_kernel(job, jobdir))
    config.Autograde.autograde_preprocessors = autograde_steps()
    config.CappedExecute.output_limit = job["limits"]["output_bytes"]
    api = Course(jobdir).api(config=config)
    stopped = []
    timer = stop_kernel_at(job["limits"]["notebook_seconds"], stopped)
    try:
        result = autograde(api, job["assignment"], job["student"])
    finally:
        timer.cancel()
    error = "" if result["success"] else "\n".join(
        filter(None, [result.get("log"), result.get("error")]))
    return {"success": bool(result["success"]), "error": error[-4000:],
            "sandbox": sandbox_endings(jobdir), "wall_clock": bool(stopped),
            "removed": result["removed"][:20], "worker": os.getpid(), "peak_kb": peak_kb()}


def peak_kb() -> dict:
    """Peak resident memory so far (kB) of this worker and of its largest kernel."""
    import resource

    return {"worker": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "kernel": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


def serve() -> int:
    """A warm worker: grade the job of each spec path read from stdin, one after the
    other, answering each with one line ``RESULT`` + JSON on stdout.

    nbgrader and the kit are imported once; every job still gets its own kernel (in a
    fresh sandbox) and its own scratch course. The kernels inherit neither channel:
    stdin becomes /dev/null and stdout the log (stderr), so a kernel can neither take
    the next job's line nor forge an answer.
    """
    from .execute import autograde_steps  # noqa: F401 (nbgrader, imported once)

    jobs = os.fdopen(os.dup(0), "r")      # os.dup: not inherited by the kernels
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    answers.write(READY + "\n")
    answers.flush()
    for line in jobs:
        try:
            outcome = grade_job(Path(line.strip()).resolve())
        except Exception:  # noqa: BLE001 (one broken job never stops the worker)
            outcome = {"success": False, "error": traceback.format_exc()[-4000:],
                       "sandbox": [], "wall_clock": False, "removed": []}
        answers.write(RESULT + json.dumps(outcome) + "\n")
        answers.flush()
    return 0


def main(argv=None) -> int:
    argv = argv or sys.argv[1:]
    if argv == ["--serve"]:
        return serve()
    outcome = grade_job(Path(argv[0]).resolve())
    print(json.dumps(outcome))
    return 0 if outcome["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
