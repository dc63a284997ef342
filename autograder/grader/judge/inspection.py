"""The judge's side of the artifact inspector: run it on a saved file, read its plain answer.

The judge never opens a student's saved model itself. ``inspect`` copies the file's bytes
(opened without following links, size-capped: no parsing) into a fresh scratch folder,
starts ``python -m autograder.grader.judge.inspector`` there and reads back what it
answered, strictly: regular files under size caps, JSON of plain numbers and strings,
raw array bytes described by a header whose dtypes and sizes are checked before use.

Sandbox (the default): ``sandbox.wrap`` with the judge's own slot uid (a lock-file slot
in ``JUDGE_SLOTS``, apart from every kernel's: grade.py gives local kernels slots
0, 1, ... two per worker, cluster.py 32-95), no network, writable only the scratch's
``out`` folder, read-only the copy, the images and the kit's code; ``LIMITS``; killed
past ``seconds`` of wall clock (``INSPECT_SECONDS``, or the judge spec's ``"seconds"``).
With ``--no-sandbox`` (``configure(sandbox=False)``) the inspector is a plain process
with the same rlimits, and every answer says so (``sandboxed``).

A hanging, crashing or over-limit inspection raises ``InspectionError`` with a message
for the student: that submission's check fails, the judge goes on. Answers are cached
by the file's SHA-256, failures included, so a file judged by several checks (and then
fingerprinted) is inspected once.
"""
from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..course import KIT_ROOT
from ..sandbox.limits import GiB, Limits, MiB
from .answers import InspectionError, read_arrays, read_json  # noqa: F401 (re-exported)
from .inspector import ARRAYS_LIMIT_BYTES

# One saved model's evaluation. CPU time decides (the machine's load does not change it):
# a network that can train for an epoch within A5's notebook limit evaluates the 10,000 test
# images in under a minute of CPU (A5's reference: about 10 s); wall clock is the backstop
# for a loaded grader (A5's reference took 25-38 s beside two grading kernels on 2 cores).
INSPECT_CPU_SECONDS = 120
INSPECT_SECONDS = 300
FILE_LIMIT_BYTES = 64 * MiB
CACHED = 16               # answers kept: enough for one submission's checks
JUDGE_SLOTS = range(1000, 1064)
LIMITS = Limits(memory_bytes=4 * GiB, processes=64, file_size_bytes=ARRAYS_LIMIT_BYTES,
                open_files=256, cpu_seconds=INSPECT_CPU_SECONDS,
                total_write_bytes=ARRAYS_LIMIT_BYTES + 16 * MiB, tmpfs_bytes=64 * MiB)
ROOT = KIT_ROOT                                    # for PYTHONPATH
KIT = ROOT / "autograder"                         # the package, read-only in the sandbox

_state = {"sandbox": True, "slot": None, "root": None}
_answers: dict[tuple, dict | Exception] = {}
_prints: dict[tuple, dict] = {}


def configure(sandbox: bool = True) -> None:
    """Inspect in the sandbox (default) or, for ``--no-sandbox``, in a plain process."""
    if not sandbox and _state["sandbox"]:
        print("saved models are inspected WITHOUT the sandbox (--no-sandbox)", file=sys.stderr)
    _state["sandbox"] = bool(sandbox)


def _root() -> Path:
    """The judge process's scratch root (inspections' folders, the image files); the roots
    of judges that were killed before their exit handler ran are removed first."""
    if _state["root"] is None:
        for stale in Path(tempfile.gettempdir()).glob("ag-inspect-*-*"):
            pid = stale.name.split("-")[2]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists() and \
                    stale.lstat().st_uid == os.geteuid():
                subprocess.run(["rm", "-rf", "--one-file-system", str(stale)], check=False,
                               stderr=subprocess.DEVNULL)
        _state["root"] = Path(tempfile.mkdtemp(prefix=f"ag-inspect-{os.getpid()}-"))
        atexit.register(shutil.rmtree, _state["root"], True)
    return _state["root"]


def judge_slot() -> int:
    """A sandbox slot no other judge on this machine holds, and no kernel ever gets (a lock
    file per slot, held for the process's life). Slots matter only to root, which runs each
    sandbox as ROOT_SLOT_UID + slot; other users' sandboxes all run as themselves."""
    if os.geteuid() != 0:
        return JUDGE_SLOTS[0]
    if _state["slot"] is None:
        for slot in JUDGE_SLOTS:
            lock = os.path.join(tempfile.gettempdir(), f"autograder-judge-slot-{slot}.lock")
            try:
                handle = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            except OSError:
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(handle)
                continue
            _state["slot"] = (slot, handle)
            break
        else:
            raise InspectionError(f"all {len(JUDGE_SLOTS)} sandbox slots of the judge are in "
                                  "use on this machine; tell the course staff")
    return _state["slot"][0]


def images_file(dataset: str, split: str) -> Path:
    """The split's images as the grader feeds them (float32 NCHW), once per process."""
    from ...student.checks.saved_files.accuracy import preprocessed

    path = _root() / f"images-{dataset}-{split}.npy"
    if not path.exists():
        partial = path.with_suffix(".part")
        with open(partial, "wb") as f:
            np.save(f, preprocessed(dataset, split, "image"))
        os.chmod(partial, 0o644)  # read by the slot uid
        partial.rename(path)
    return path


def copy_artifact(path: Path, target: Path) -> str:
    """Copy the bytes of the regular file ``path`` to ``target``; their SHA-256."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise InspectionError(f"{path.name} cannot be opened ({err.strerror.lower()})") from None
    digest = hashlib.sha256()
    with open(fd, "rb") as src, open(target, "xb") as dst:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InspectionError(f"{path.name} is not a regular file")
        while chunk := src.read(1 << 20):
            if dst.tell() + len(chunk) > FILE_LIMIT_BYTES:
                raise InspectionError(f"{path.name} is more than the "
                                      f"{FILE_LIMIT_BYTES // MiB} MB a saved model may have")
            digest.update(chunk)
            dst.write(chunk)
    os.chmod(target, 0o644)
    return digest.hexdigest()


def _rlimits() -> None:
    """The sandbox's rlimits, for the plain process of ``--no-sandbox``."""
    for kind, value in ((resource.RLIMIT_DATA, LIMITS.memory_bytes),
                        (resource.RLIMIT_FSIZE, LIMITS.file_size_bytes),
                        (resource.RLIMIT_CPU, LIMITS.cpu_seconds), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(kind, (value, value))


def command(argv: list[str], scratch: Path, readonly: list[Path],
            status: Path) -> tuple[list, dict]:
    """(argv, env) that runs ``argv`` as the inspector runs: sandboxed (or, with
    ``--no-sandbox``, a plain process), writing only ``scratch/out``."""
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
           "OPENBLAS_NUM_THREADS": "2", "PYTHONDONTWRITEBYTECODE": "1",
           "CUDA_VISIBLE_DEVICES": ""}  # evaluated on the CPU, with or without a GPU here
    if not _state["sandbox"]:
        return argv, {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(scratch)}
    from ..sandbox import wrap

    return wrap(argv, writable=[scratch / "out"], readonly=[*readonly, KIT], env=env,
                limits=LIMITS, slot=judge_slot(), status=status,
                cwd=scratch / "out"), os.environ.copy()


def run_inspector(path: Path, kind: str, images: Path | None, seconds: float) -> tuple:
    """(sha256, fingerprint or None, answer or None, why there is no answer) of one
    inspection; InspectionError when the file cannot even be copied."""
    scratch = Path(tempfile.mkdtemp(dir=_root()))
    status = scratch.parent / f"{scratch.name}.status"
    try:
        for sub in ("in", "out"):
            (scratch / sub).mkdir(mode=0o755)
        copy = scratch / "in" / path.name
        digest = copy_artifact(path, copy)
        request = {"path": str(copy), "kind": kind, "out": str(scratch / "out"),
                   "images": str(images) if images else None}
        (scratch / "in" / "request.json").write_text(json.dumps(request))
        os.chmod(scratch / "in" / "request.json", 0o644)
        readonly = [scratch / "in", *([images] if images else [])]
        program = [sys.executable, "-m", "autograder.grader.judge.inspector",
                   str(scratch / "in" / "request.json")]
        argv, env = command(program, scratch, readonly, status)
        why = _run(argv, env, scratch, seconds, path.name, status)
        found = read_json(scratch / "out" / "fingerprint.json")
        result = None if why.startswith("stopped") else read_json(scratch / "out" / "answer.json")
        if result is not None:  # who wrote it, as the host sees it (the sandbox's slot uid)
            result["uid"] = (scratch / "out" / "answer.json").lstat().st_uid
        if result is not None and "arrays" in result:
            result["arrays"] = read_arrays(scratch / "out" / "arrays.bin", result["arrays"])
        return digest, found, result, why
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(scratch)], check=False)
        status.unlink(missing_ok=True)


def _run(argv: list, env: dict, scratch: Path, seconds: float, name: str, status: Path) -> str:
    """Run the inspector, killed (its whole process group) past ``seconds``; how it ended."""
    with open(scratch / "stderr", "wb") as log:  # a file: a chatty archive fills no memory
        process = subprocess.Popen(argv, env=env, cwd=scratch / "out", stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
                                   preexec_fn=None if _state["sandbox"] else _rlimits)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # bwrap's --die-with-parent takes the rest
        process.wait()
        _await_gone(scratch)
        return (f"stopped: evaluating {name} was stopped after the limit of {seconds:g} s "
                "(a network for this assignment evaluates in seconds: does its forward "
                "loop for long?)")
    ended = read_json(status) if status.exists() else None
    if ended and ended.get("limit"):
        return f"stopped by the limit on {ended['limit']}"
    if process.returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return (f"stopped: evaluating {name} was stopped after the limit of "
                f"{LIMITS.cpu_seconds} s of CPU time (a network for this assignment "
                "evaluates in seconds: does its forward loop for long?)")
    if process.returncode:
        with open(scratch / "stderr", "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 2000))
            sys.stderr.write(log.read().decode("utf-8", "replace"))
    return (f"signal {-process.returncode}" if process.returncode < 0
            else f"exit code {process.returncode}")


def _await_gone(scratch: Path, seconds: float = 10) -> None:
    """Wait until no process names ``scratch`` any more (the sandbox's processes, in a
    session of their own, die with bwrap a moment after it), killing what lingers."""
    deadline = time.monotonic() + seconds
    while (left := _processes_naming(scratch)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _processes_naming(scratch: Path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(scratch).encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def inspect(path: Path, kind: str, images: tuple[str, str] | None = None,
            seconds: float | None = None) -> dict:
    """The inspector's answer on the saved file ``path``: ``kind`` "arrays" ({"arrays":
    {name: array}}), "archive" ({"predictions", "parameters", "hidden"} on ``images``:
    (dataset, split)) or "fingerprint" ({}). Every answer also has "sha256", "sandboxed"
    and "uid" (the owner of the answer file on the host: the uid the inspector ran as).
    Raises InspectionError (a StudentError) with the reason."""
    path = Path(path)
    seconds = float(seconds or INSPECT_SECONDS)
    file = _file_key(path)
    key = (file, kind, images, _state["sandbox"])
    if key not in _answers:
        digest, found, result, why = run_inspector(
            path, kind, images_file(*images) if images else None, seconds)
        _prints[file] = {**({k: v for k, v in found.items() if isinstance(k, str)}
                            if isinstance(found, dict) else {"error": "not fingerprinted"}),
                         "sha256": digest}
        if result is None:
            _answers[key] = InspectionError(
                why[len("stopped: "):] if why.startswith("stopped: ") else
                f"{path.name} could not be evaluated: the process that loads it ended "
                f"without an answer ({why})")
        elif "error" in result:
            _answers[key] = InspectionError(str(result["error"])[:1000],
                                            "" if result.get("student") else
                                            str(result.get("type", "Exception"))[:100])
        else:
            _answers[key] = {**result, "sha256": digest, "sandboxed": _state["sandbox"]}
    for cache in (_answers, _prints):  # a submission's files, not the whole batch's
        while len(cache) > CACHED:
            cache.pop(next(iter(cache)))
    answer = _answers[key]
    if isinstance(answer, InspectionError):
        raise answer
    return answer


def _file_key(path: Path) -> tuple:
    """The file's identity for the cache (its bytes are hashed when copied)."""
    info = path.lstat()
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def fingerprint(path: Path) -> dict:
    """The fingerprint of a saved file (plain JSON data from the inspector, its sha256 the
    judge's own), from an inspection already made when there was one."""
    path = Path(path)
    file = _file_key(path)
    if file not in _prints:
        try:
            inspect(path, "fingerprint")
        except InspectionError as err:
            return {"error": str(err)[:300]}
    return _prints.get(file) or {"error": "the inspector gave no fingerprint"}
