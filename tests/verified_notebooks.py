"""Teacher notebooks verified once per content (a pytest plugin: ``-p tests.verified_notebooks``).

nbval runs every teacher notebook in source/ from top to bottom, training included: about
eight minutes of the CI budget for five notebooks that rarely change. A notebook whose
every cell passed is recorded under the hash of everything its run depends on:

* the notebook's bytes;
* every file of the kit (``autograder/``: the data loader and checks it imports);
* the course data's file names and sizes (their contents are checksummed by the loader);
* the Python, torch, numpy and nbval versions, and nbval's mode (``--nbval-lax``).

When the same hash was verified before on this machine, its cells are deselected (not
skipped, not counted as passed) and the summary says so, with the date and the time the
verified run took. Any change to one of those inputs runs the notebook again. The records
live outside the checkout (``$XDG_CACHE_HOME/autograder/verified-notebooks``), so a fresh
machine runs every notebook. ``AUTOGRADER_REVERIFY=1`` runs them all regardless.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INPUTS_VERSIONED = ("torch", "numpy", "nbval")


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "autograder" / "verified-notebooks"


def _kit_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "autograder").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _data_digest() -> str:
    from autograder.student import data

    digest = hashlib.sha256()
    root = data.data_root()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = [sys.version]
    for name in INPUTS_VERSIONED:
        try:
            found.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} missing")
    return "\n".join(found)


def notebook_key(notebook: Path, shared: str) -> str:
    """The hash of everything a run of ``notebook`` depends on (``shared``: the part that
    is the same for every notebook)."""
    return hashlib.sha256(shared.encode() + Path(notebook).read_bytes()).hexdigest()


class VerifiedNotebooks:
    def __init__(self, config):
        self.config = config
        self.keys: dict[str, str] = {}      # notebook path -> key
        self.cells: dict[str, int] = {}     # notebook path -> cells collected
        self.passed: dict[str, int] = {}    # notebook path -> cells passed
        self.failed: set[str] = set()
        self.reused: list[dict] = []
        self.started = time.monotonic()

    def _shared(self) -> str:
        lax = bool(getattr(self.config.option, "nbval_lax", False))
        return "\n".join([_kit_digest(), _data_digest(), _versions(), f"lax={lax}"])

    def pytest_collection_modifyitems(self, session, config, items):
        notebooks: dict[str, list] = {}
        for item in items:
            if type(item).__name__ == "IPyNbCell":
                notebooks.setdefault(str(item.path), []).append(item)
        if not notebooks:
            return
        shared, again = self._shared(), os.environ.get("AUTOGRADER_REVERIFY") == "1"
        dropped = []
        for path, cells in notebooks.items():
            key = self.keys[path] = notebook_key(Path(path), shared)
            record = cache_folder() / f"{key}.json"
            if record.is_file() and not again:
                self.reused.append({**json.loads(record.read_text()), "notebook": path})
                dropped += cells
            else:
                self.cells[path] = len(cells)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in set(dropped)]

    def pytest_runtest_logreport(self, report):
        path = report.nodeid.split("::")[0]
        full = str((Path(self.config.rootpath) / path).resolve()) if path.endswith(".ipynb") else ""
        if full not in self.cells:
            return
        if report.failed:
            self.failed.add(full)
        elif report.when == "call" and report.passed:
            self.passed[full] = self.passed.get(full, 0) + 1

    def pytest_sessionfinish(self, session, exitstatus):
        seconds = round(time.monotonic() - self.started)
        for path, count in self.cells.items():
            if path in self.failed or self.passed.get(path, 0) != count:
                continue
            folder = cache_folder()
            folder.mkdir(parents=True, exist_ok=True)
            record = {"verified": date.today().isoformat(), "cells": count,
                      "session_seconds": seconds}
            (folder / f"{self.keys[path]}.json").write_text(json.dumps(record))

    def pytest_terminal_summary(self, terminalreporter):
        for found in self.reused:
            name = os.path.relpath(found["notebook"], self.config.rootpath)
            terminalreporter.write_line(
                f"nbval: {name} not run again: its {found['cells']} cells all passed on "
                f"{found['verified']} with this exact notebook, kit, data and versions "
                "(AUTOGRADER_REVERIFY=1 runs it anyway)")


def pytest_configure(config):
    config.pluginmanager.register(VerifiedNotebooks(config), "verified-notebooks")
