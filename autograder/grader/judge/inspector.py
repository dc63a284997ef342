"""The artifact inspector: the only process that opens a file a student saved.

    python -m autograder.grader.judge.inspector REQUEST.json

It runs sandboxed (inspection.py starts it: unprivileged slot uid, no network, nothing
writable but its ``out`` folder, the artifact and the images read-only, limits on memory,
CPU seconds and processes, killed past a wall-clock limit), never in the judge. It loads
the artifact the careful way (``np.load(allow_pickle=False)``,
``torch.load(weights_only=True)``, or archive.py's scan then ``torch.jit.load``) and
answers with plain data only, for the judge to check and compare with its references:

    out/fingerprint.json   fingerprint.fingerprint(path), written before anything runs
    out/answer.json        {"arrays": [{"name", "dtype", "shape"}, ...]} with the bytes in
                           out/arrays.bin (a .npz or .pt); or {"predictions": [int, ...],
                           "parameters", "hidden"} (a TorchScript archive run on the
                           images); or {"error": message}

REQUEST.json: {"path", "kind": "arrays" | "archive" | "fingerprint", "images": an .npy of
float32 (N, C, H, W) or null, "out"}. The inspector never sees labels: the judge computes
the accuracy from the predictions itself.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .loading import load_arrays

ARRAY_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                "uint8", "uint16", "uint32", "uint64", "bool")
ARRAYS_LIMIT_BYTES = 64 * 2 ** 20  # the arrays of a saved network: a few MB
TORCH_THREADS = 2  # a slow model must not starve the grading beside it


def write_arrays(arrays: dict, out: Path) -> list[dict]:
    """The arrays' bytes into ``out/arrays.bin`` (C order, one after the other); their
    header rows. Arrays of other dtypes (object, strings) are refused, not converted."""
    from ...student.checks.core import StudentError

    total = sum(int(np.asarray(a).nbytes) for a in arrays.values())
    if total > ARRAYS_LIMIT_BYTES:
        raise StudentError(f"the arrays of the saved file hold {total / 2**20:.0f} MB, more "
                           f"than the {ARRAYS_LIMIT_BYTES // 2**20} MB a saved network may have")
    rows = []
    with open(out / "arrays.bin", "wb") as f:
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            if array.dtype.name not in ARRAY_DTYPES:
                raise StudentError(f"array {name!r} has dtype {array.dtype}, not numbers")
            f.write(array.tobytes())
            rows.append({"name": str(name), "dtype": array.dtype.name, "shape": list(array.shape)})
    return rows


def archive_answer(path: Path, images: Path) -> dict:
    """Predictions (N,) and parameter counts of the TorchScript archive at ``path`` on the
    images of the .npy ``images``."""
    import torch

    from ...student.checks.saved_files.archive import archive_counts, archive_predictions
    from .torchscript import load_archive

    torch.set_num_threads(TORCH_THREADS)
    module = load_archive(path)
    x = np.load(images, mmap_mode="r", allow_pickle=False)
    predicted = archive_predictions(module, x)
    return {"predictions": predicted.astype(int).tolist(), **archive_counts(module)}


def answer(request: dict) -> dict:
    """The answer to one request (see the module docstring); raises on any failure."""
    from .fingerprint import fingerprint

    path, out = Path(request["path"]), Path(request["out"])
    if request["kind"] == "archive":
        from .torchscript import _scan_zip

        _scan_zip(path)  # a refused archive needs no fingerprint beyond the judge's hash
    found = fingerprint(path)  # first: before any of the archive's code runs
    (out / "fingerprint.json").write_text(json.dumps(found))
    if request["kind"] == "arrays":
        return {"arrays": write_arrays(load_arrays(path), out)}
    if request["kind"] == "archive":
        return archive_answer(path, Path(request["images"]))
    return {}


def main(argv: list[str]) -> int:
    from ...student.checks.core import StudentError

    request = json.loads(Path(argv[0]).read_text())
    out = Path(request["out"])
    try:
        found = answer(request)
    except StudentError as err:
        found = {"error": str(err)[:1000], "student": True}
    except Exception as err:  # noqa: BLE001 (whatever the file does is the submission's)
        found = {"error": f"{type(err).__name__}: {str(err)[:300]}", "type": type(err).__name__}
    (out / "answer.json").write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
