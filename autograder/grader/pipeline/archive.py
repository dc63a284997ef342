"""The trusted judge of a student-designed network: a TorchScript archive, its parameter
cap, its accuracy on the grader's data, and fingerprints that flag copied models.

Why TorchScript and not ``torch.export``
----------------------------------------
Both turn a student's ``BetterCNN`` into a file that runs without the student's class.
But ``torch.export.load`` (torch 2.14) unpickles weights and constants with
``torch.load(weights_only=False)`` and ``pickle.loads``: loading an untrusted ``.pt2``
can run arbitrary Python. ``torch.jit.load`` reads ``data.pkl`` with TorchScript's own
restricted unpickler (tensors and TorchScript types only) and compiles the archive's
``code/`` with the TorchScript compiler, which can only call registered operators. torch
marks ``torch.jit`` deprecated (a FutureWarning) but it works on CPU in 2.14.1 and needs no
example input for ``torch.jit.script``; the notebook falls back to ``torch.jit.trace``.

What this module refuses before running anything
------------------------------------------------
* a path that leaves the submission, a link, anything but a regular file, a file over
  ``ARCHIVE_LIMIT_BYTES``;
* a file that is not a zip, has too many entries, unpacks to more than
  ``UNPACKED_LIMIT_BYTES`` or names entries outside its folder;
* code that defines ``__setstate__`` (TorchScript runs it while loading), calls
  ``from_file`` (file access) or operators outside the ``aten``/``prim`` namespaces;
* after loading, a ``forward`` graph with a node outside ``aten``/``prim`` or in
  ``FORBIDDEN_OPERATORS``.

Residual risk (documented, not removed): the archive's graph runs in the judging process.
It can loop for long or allocate much memory (``prim::Loop``, huge ``aten::empty``), and
the TorchScript loader and interpreter are C++ code that a crafted archive might crash.
Run ``judge_archive`` in a worker process with a time and memory limit (the grading worker
does); the judge uses at most ``TORCH_THREADS`` threads so a slow model cannot starve the
coordinator.
"""
from __future__ import annotations

import functools
import hashlib
import re
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ...student.checks.accuracy import labels, preprocessed, score
from ...student.checks.archive import (accuracy_message, archive_counts, archive_predictions,
                                       cap_message)
from ...student.checks.core import Check, StudentError, register_reference
from ...student.checks.result import CheckResult
from .fingerprint import file_sha256, fingerprint, near_duplicates  # noqa: F401 (re-exported)

ARCHIVE_LIMIT_BYTES = 32 * 1024 * 1024
UNPACKED_LIMIT_BYTES = 128 * 1024 * 1024
MAX_ENTRIES = 4000
TORCH_THREADS = 2
FORBIDDEN_OPERATORS = {"aten::from_file", "aten::save", "aten::_save_for_mobile"}
FORBIDDEN_CODE = re.compile(r"__setstate__|from_file|\bops\.(?!aten\.|prim\.)\w+\.")


class ArchiveError(StudentError):
    """The archive was refused or cannot be loaded; the message says why."""


class ArchiveCheck(Check):
    kind = "archive_judge"

    def __init__(self, spec: dict):
        super().__init__(f"trusted re-check of {spec['path']}", 1.0, 0)


# ----------------------------------------------------------------------------- loading

def _regular_file(path: Path) -> int:
    """The size of ``path``, a regular file that is not a link; else ArchiveError."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise ArchiveError(f"{path.name} was not saved by the notebook") from None
    if stat.S_ISLNK(info.st_mode):
        raise ArchiveError(f"{path.name} is a link, not the saved model")
    if not stat.S_ISREG(info.st_mode):
        raise ArchiveError(f"{path.name} is not a regular file")
    if info.st_size > ARCHIVE_LIMIT_BYTES:
        raise ArchiveError(f"{path.name} is {info.st_size / 2**20:.1f} MB, more than the "
                           f"{ARCHIVE_LIMIT_BYTES // 2**20} MB an archive may have")
    return info.st_size


def _scan_zip(path: Path) -> None:
    """Refuse archives that are not TorchScript zips or whose code could act on loading."""
    if not zipfile.is_zipfile(path):
        raise ArchiveError(f"{path.name} is not a TorchScript archive (not a zip file; "
                           "a pickled model or a state_dict is not accepted)")
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ArchiveError(f"{path.name} has {len(entries)} entries, more than {MAX_ENTRIES}")
        if sum(e.file_size for e in entries) > UNPACKED_LIMIT_BYTES:
            raise ArchiveError(f"{path.name} unpacks to more than "
                               f"{UNPACKED_LIMIT_BYTES // 2**20} MB")
        names = [e.filename for e in entries]
        if any(n.startswith("/") or ".." in n.split("/") for n in names):
            raise ArchiveError(f"{path.name} names files outside the archive")
        if not any(n.endswith("/data.pkl") for n in names) or \
                not any("/code/" in n for n in names):
            raise ArchiveError(f"{path.name} is a zip but not a TorchScript archive (no code/ "
                               "and data.pkl): save it with torch.jit.script(model).save(...)")
        for entry in entries:
            if "/code/" in entry.filename and entry.filename.endswith(".py"):
                found = FORBIDDEN_CODE.search(archive.read(entry).decode("utf-8", "replace"))
                if found:
                    raise ArchiveError(f"{path.name} is refused: its code uses "
                                       f"{found.group(0)!r}, which a CIFAR-10 network never needs")


def _graph_nodes(block):
    for node in block.nodes():
        yield node
        for inner in node.blocks():
            yield from _graph_nodes(inner)


def _check_graph(module, name: str) -> None:
    try:
        graph = module.inlined_graph
    except Exception as err:  # noqa: BLE001
        raise ArchiveError(f"{name} has no forward method ({type(err).__name__})") from None
    for node in _graph_nodes(graph):
        kind = node.kind()
        if kind.split("::")[0] not in ("aten", "prim") or kind in FORBIDDEN_OPERATORS:
            raise ArchiveError(f"{name} is refused: its forward uses the operator {kind}")


def load_archive(path: Path):
    """The TorchScript module at ``path``, refused with an ArchiveError unless it passes the
    checks of this module's docstring. Output: a ``torch.jit.ScriptModule`` on the CPU."""
    import torch

    path = Path(path)
    _regular_file(path)
    _scan_zip(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001 (any load failure is the submission's)
        raise ArchiveError(f"{path.name} cannot be loaded as a TorchScript archive "
                           f"({type(err).__name__}: {str(err)[:300]})") from None
    _check_graph(module, path.name)
    return module


@functools.lru_cache(maxsize=64)
def _evaluation(digest: str, path: str, dataset: str, split: str) -> dict:
    """Predictions of the archive (keyed by its content hash, so a judged file is evaluated
    once even when several checks need it). Output: score() of the predictions."""
    import torch

    module = load_archive(Path(path))
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, TORCH_THREADS))
    try:
        predicted = archive_predictions(module, preprocessed(dataset, split, "image"))
    finally:
        torch.set_num_threads(threads)
    return {**score(predicted, labels(dataset, split)), **archive_counts(module)}


def evaluate_archive(path: Path, dataset: str, split: str) -> dict:
    """{"accuracy", "per_class", "n", "parameters", "hidden"} of the archive at ``path``."""
    _regular_file(Path(path))
    return _evaluation(file_sha256(Path(path)), str(path), dataset, split)


def archive_per_class(path: Path, dataset: str, split: str) -> list:
    return evaluate_archive(path, dataset, split)["per_class"]


register_reference("archive_loader", load_archive)
register_reference("archive_per_class", archive_per_class)
register_reference("archive_evaluation", evaluate_archive)


# ----------------------------------------------------------------------------- judging

def judge_archive(folder: Path, spec: dict) -> CheckResult:
    """The verdict on the archive ``spec["path"]`` in a submission ``folder``.

    spec: {"check": "archive_accuracy", "path": "a5_model.ts", "dataset": "cifar10",
    "threshold": 0.7, "parameter_cap": 1000000, "split": "test"}. Never raises: a refused,
    unreadable or failing archive is a failed result with a message.
    """
    check = ArchiveCheck(spec)
    folder = Path(folder)
    target = folder / spec["path"]
    if folder.resolve() not in target.resolve().parents and not target.is_symlink():
        return check.failed(f"the judge spec's path {spec['path']!r} leaves the submission")
    dataset, split = spec.get("dataset", "cifar10"), spec.get("split", "test")
    try:
        result = evaluate_archive(target, dataset, split)
    except StudentError as err:
        return check.failed(str(err))
    except Exception as err:  # noqa: BLE001 (never let a submission crash the judge)
        return check.failed(f"{spec['path']} could not be evaluated ({type(err).__name__}: "
                            f"{str(err)[:300]})")
    cap = spec.get("parameter_cap")
    details = {k: result[k] for k in ("accuracy", "per_class", "n", "parameters", "hidden")}
    if cap is not None:
        ok, text = cap_message(result, int(cap))
        if not ok:
            return check.failed(text, **details)
    ok, text = accuracy_message(result, dataset, split, float(spec["threshold"]))
    return check.passed(text, **details) if ok else check.failed(text, **details)
