"""Calibrate an assignment's thresholds: run its teacher notebook for several seeds.

    .venv/bin/python benchmarks/calibrate.py a1_numpy_mlp --seeds 0 1 2 3 4

Each run executes source/<id>/<id>.ipynb top to bottom in a fresh kernel (as the grader
does) with COURSE_SEED set, in a scratch copy of the assignment folder, and prints the
wall time and every accuracy the notebook's checks measured (the checks append their
results to $AUTOGRADER_RESULTS). Paste the table into source/CALIBRATION.md.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def run_once(assignment: str, seed: int, timeout: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / assignment
        shutil.copytree(REPO / "source" / assignment, folder,
                        ignore=shutil.ignore_patterns("*.npz", "*.pt", ".ipynb_checkpoints"))
        results = Path(tmp) / "results.jsonl"
        os.environ.update(COURSE_SEED=str(seed), AUTOGRADER_RESULTS=str(results))
        nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
        seconds = time.perf_counter() - start
        accuracies = {}
        if results.exists():
            for line in results.read_text().splitlines():
                record = json.loads(line)
                if "accuracy" in record["details"]:
                    accuracies[record["name"]] = record["details"]["accuracy"]
        return seconds, accuracies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    rows = []
    for seed in args.seeds:
        seconds, accuracies = run_once(args.assignment, seed, args.timeout)
        rows.append((seed, seconds, accuracies))
        shown = ", ".join(f"{k}: {v:.4f}" for k, v in accuracies.items())
        print(f"seed {seed}: {seconds:6.1f} s  {shown}", flush=True)
    for name in rows[0][2]:
        values = [r[2][name] for r in rows if name in r[2]]
        print(f"{name}: min {min(values):.4f} mean {statistics.mean(values):.4f} "
              f"max {max(values):.4f} over {len(values)} seeds")
    print(f"wall time: max {max(r[1] for r in rows):.1f} s")


if __name__ == "__main__":
    main()
