"""A4's im2col convolution (the reference solution) against torch.nn.functional.conv2d.

    .venv/bin/python benchmarks/conv.py [--out BENCHMARKS.md]   (appends to --out)

Forward + backward (dx, dW, db) on A4's shapes, float32, one thread each (grading kernels
get one BLAS thread per job); best of 5 after a warm-up; the two must agree.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from report import publish  # noqa: E402 (benchmarks/report.py)

REPO = Path(__file__).resolve().parents[1]
CELLS = ("conv_base", "im2col", "conv_fast")  # grade ids of the reference code in A4
SHAPES = [(64, 3, 32, 32, 16), (64, 16, 16, 16, 32), (64, 32, 8, 8, 64)]  # N, C, H, W, F


def reference_conv():
    """A4's Conv2D (im2col), from the teacher notebook's cells."""
    nb = json.loads((REPO / "source/a4_numpy_cnn/a4_numpy_cnn.ipynb").read_text())
    namespace = {"np": np}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") in CELLS:
            exec("".join(cell["source"]), namespace)  # noqa: S102 (the course's own code)
    return namespace["Conv2D"]


def best_of(function, repeats: int = 5) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    import torch
    import torch.nn.functional as F

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="append the table to this Markdown file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    Conv2D = reference_conv()
    rng = np.random.default_rng(0)
    lines = ["", "A4 convolution, 3x3, stride 1, pad 1, float32, forward + backward, "
             "1 thread, best of 5:", "",
             "| N, C, H, W -> F | im2col (NumPy) ms | torch conv2d ms | ratio | max abs diff |",
             "|---|---|---|---|---|"]
    for n, c, h, w, f in SHAPES:
        layer = Conv2D(c, f, 3, stride=1, pad=1, rng=rng, dtype=np.float32)
        x = rng.normal(size=(n, c, h, w)).astype(np.float32)
        dout = rng.normal(size=(n, f, h, w)).astype(np.float32)
        ours = best_of(lambda: (layer.forward(x), layer.backward(dout)))
        weight = torch.tensor(layer.params["W"], requires_grad=True)
        bias = torch.tensor(layer.params["b"], requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)

        def with_torch():
            out = F.conv2d(tx, weight, bias, padding=1)
            out.backward(torch.from_numpy(dout))
            return out

        theirs = best_of(with_torch)
        tx.grad = None
        out = with_torch().detach().numpy()
        forward = layer.forward(x)
        dx = layer.backward(dout)
        diff = max(float(np.abs(forward - out).max()), float(np.abs(dx - tx.grad.numpy()).max()))
        lines.append(f"| {n}, {c}, {h}, {w} -> {f} | {ours * 1e3:.1f} | {theirs * 1e3:.1f} | "
                     f"{ours / theirs:.1f}x | {diff:.1e} |")
    publish("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
