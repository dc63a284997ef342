"""Loading a student's TorchScript archive, refusing what could act outside its job.

What ``load_archive`` refuses before running anything
------------------------------------------------
* a path that leaves the submission, a link, anything but a regular file, a file over
  ``ARCHIVE_LIMIT_BYTES``;
* a file that is not a zip, has too many entries, unpacks to more than
  ``UNPACKED_LIMIT_BYTES`` or names entries outside its folder;
* code (every file of the archive's ``code/``: all compiled functions, reached or not)
  that defines ``__setstate__`` (TorchScript runs it while loading), names a file or
  remote operator (``FORBIDDEN_NAMES``: ``save``, ``from_file``, ...) or calls operators
  outside the ``aten``/``prim`` namespaces;
* after loading, any method of the module or of a submodule (so a method reached through
  a TorchScript interface too), with every function it calls inlined, and every graph
  that ``torch.jit.fork`` runs (a node's subgraph, inlined in turn), holding a node
  outside ``aten``/``prim``, a call left unresolved, or an operator in
  ``FORBIDDEN_OPERATORS`` (``aten::save``, every operator with a ``filename`` argument,
  remote calls).

Only the artifact inspector (inspector.py, in the sandbox) and the fingerprints it
takes call this; the judge never loads an archive (archive.py).
"""
from __future__ import annotations

import re
import stat
import warnings
import zipfile
from pathlib import Path

from ...student.checks.core import StudentError

ARCHIVE_LIMIT_BYTES = 32 * 1024 * 1024
UNPACKED_LIMIT_BYTES = 128 * 1024 * 1024
MAX_ENTRIES = 4000
# File and remote operators; operators with a ``filename`` argument are added on loading.
FORBIDDEN_OPERATORS = {"aten::from_file", "aten::save", "aten::_save_for_mobile",
                       "prim::rpc_async", "prim::rpc_sync", "prim::rpc_remote",
                       "aten::dist_backward"}
FORBIDDEN_NAMES = {"__setstate__", "save", "_save_for_mobile", "from_file", "rpc_async",
                   "rpc_sync", "rpc_remote"}
FORBIDDEN_CODE = re.compile(r"\b(?:" + "|".join(sorted(FORBIDDEN_NAMES)) + r")\b")
FOREIGN_OPS = re.compile(r"\bops\s*\.\s*(?!aten\b|prim\b)\w+\s*\.")


class ArchiveError(StudentError):
    """The archive was refused or cannot be loaded; the message says why."""


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
                found = forbidden_code(archive.read(entry).decode("utf-8", "replace"))
                if found:
                    raise ArchiveError(f"{path.name} is refused: its code uses "
                                       f"{found!r}, which a CIFAR-10 network never needs")


def forbidden_code(text: str) -> str:
    """The first forbidden name (a whole word, wherever it stands: code, string or comment)
    or foreign operator namespace in the archive's code ``text``; empty if none."""
    found = FORBIDDEN_CODE.search(text) or FOREIGN_OPS.search(text)
    return re.sub(r"\s+", "", found.group(0)) if found else ""


def forbidden_operators() -> set[str]:
    """FORBIDDEN_OPERATORS and every registered operator that takes a file name."""
    import torch

    named = {schema.name for schema in torch._C._jit_get_all_schemas()
             if any(a.name in ("filename", "file_name", "path_name") for a in schema.arguments)}
    return FORBIDDEN_OPERATORS | named


def check_graph(graph, where: str, forbidden: set[str]) -> None:
    """Refuse a graph with a foreign or forbidden operator or an unresolved call, searching
    nested blocks and the subgraphs of nodes (``prim::fork`` runs one), inlined first."""
    import torch

    pending = [graph]
    while pending:
        block = pending.pop()
        for node in block.nodes():
            kind = node.kind()
            if kind.split("::")[0] not in ("aten", "prim") or kind in forbidden:
                raise ArchiveError(f"{where} uses the operator {kind}")
            if kind == "prim::CallFunction":
                raise ArchiveError(f"{where} calls a function the judge cannot check")
            pending.extend(node.blocks())
            for attribute in node.attributeNames():
                kinds = node.kindOf(attribute)
                inner = [node.g(attribute)] if kinds == "g" else \
                    list(node.gs(attribute)) if kinds == "gs" else []
                for subgraph in inner:
                    torch._C._jit_pass_inline(subgraph)  # a forked function's calls
                    pending.append(subgraph)


def check_methods(module, name: str) -> None:
    """Check every method of ``module`` and of each of its submodules (not only
    ``forward``: a method reached through an interface or a fork is checked too)."""
    forbidden = forbidden_operators()
    try:
        module.forward.graph
    except Exception as err:  # noqa: BLE001
        raise ArchiveError(f"{name} has no forward method ({type(err).__name__})") from None
    for prefix, submodule in module.named_modules():
        for method in submodule._c._method_names():
            graph = submodule._c._get_method(method).inlined_graph
            where = f"{prefix}.{method}" if prefix else method
            check_graph(graph, f"{name} is refused: its {where}", forbidden)


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
    check_methods(module, path.name)
    return module
