"""What typical wrong layer backward passes return, computed by the judge from the check's
own inputs, so that a layer check names the cause only when the student's array equals one.

* an elementwise layer's backward that returns its local derivative f'(x) without
  multiplying it by the upstream gradient dout;
* the bias gradient averaged instead of summed (over the batch, or the output positions);
* max pooling that decodes the flat argmax of each window wrongly (row and column swapped,
  the window's offset forgotten) or that overwrites instead of adding where overlapping
  windows share a maximum. (Decoding with the stride instead of the kernel size sends some
  gradients outside the image, so that code raises an IndexError before any check.)
* a convolution whose forward reshapes its matrix product straight to (N, F, H', W')
  without the transpose; its wrong backward passes (dW assigned, not added; the stride
  ignored) walk the padded input's windows, close to the answer, so they are grader side
  (autograder/grader/references/layers.py) and named only at grading.
"""
from __future__ import annotations

import numpy as np

from ..core import grader_reference

SUM_AXES = "sum dout over the batch and every output position (axes 0, 2, 3)"


def bias_mistakes(reference: str, dout: np.ndarray) -> dict:
    """{message: the bias gradient a known mistake gives} for a linear or conv2d layer."""
    dout = np.asarray(dout, dtype=np.float64)
    if reference == "linear" and dout.ndim == 2:
        return {"it was averaged over the batch; sum dout over axis 0 (the loss's gradient "
                "already holds the 1/N)": dout.mean(axis=0)}
    if reference != "conv2d" or dout.ndim != 4:
        return {}
    return {
        "it was averaged (dout.mean) instead of summed: the bias is added at every position "
        f"of every image, so {SUM_AXES}": dout.mean(axis=(0, 2, 3)),
        f"it was divided by the batch size N={len(dout)}; {SUM_AXES} (the loss's gradient "
        "already holds the 1/N)": dout.sum(axis=(0, 2, 3)) / len(dout),
        f"it was averaged over the output positions; {SUM_AXES}": dout.mean(axis=(2, 3)).sum(0),
    }


def elementwise_mistakes(reference: str, x: np.ndarray) -> dict:
    """{message: f'(x)}: the dx of a relu/sigmoid/tanh backward that forgot dout."""
    x = np.asarray(x, dtype=np.float64)
    slope = {"relu": lambda: (x > 0).astype(np.float64),
             "sigmoid": lambda: (1 / (1 + np.exp(-x))) * (1 - 1 / (1 + np.exp(-x))),
             "tanh": lambda: 1 - np.tanh(x) ** 2}.get(reference)
    if slope is None:
        return {}
    return {f"it is the local derivative {reference}'(x) alone: multiply it by the upstream "
            "gradient dout (chain rule)": slope()}


def _route(dout, shape, rows, cols, accumulate=True):
    """dx of shape ``shape`` with dout[n, c, i, j] sent to (rows[n,c,i,j], cols[n,c,i,j]);
    None when a position falls outside the image (that code would have crashed)."""
    n, c, h, w = shape
    if rows.min() < 0 or cols.min() < 0 or rows.max() >= h or cols.max() >= w:
        return None
    dx = np.zeros(shape)
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    nn, cc = nn[:, :, None, None] + 0 * rows, cc[:, :, None, None] + 0 * rows
    if accumulate:
        np.add.at(dx, (nn, cc, rows, cols), dout)
    else:  # window by window in row-major order, the last write wins
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[nn[:, :, i, j], cc[:, :, i, j], rows[:, :, i, j], cols[:, :, i, j]] = dout[:, :, i, j]
    return dx


def maxpool_mistakes(x: np.ndarray, dout: np.ndarray, kernel: int, stride: int) -> dict:
    """{message: the dx a wrong decoding of each window's flat argmax gives} for max pooling."""
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    k, s = int(kernel), int(stride)
    h_out, w_out = dout.shape[2:]
    if x.ndim != 4 or (h_out - 1) * s + k > x.shape[2] or (w_out - 1) * s + k > x.shape[3]:
        return {}
    windows = np.stack([x[:, :, u:u + s * h_out:s, v:v + s * w_out:s]
                        for u in range(k) for v in range(k)], axis=-1)
    a = windows.argmax(axis=-1)  # flat index over the k x k window, row by row
    top = (np.arange(h_out) * s)[None, None, :, None]
    left = (np.arange(w_out) * s)[None, None, None, :]
    flat = "for the flat index a of a k x k window the row is a // k and the column a % k"
    candidates = {
        f"the argmax's row and column are swapped: {flat}": (top + a % k, left + a // k, True),
        "the argmax's position inside its window was used as a position in the image: add the "
        "window's offset (i*stride, j*stride)": (0 * top + a // k, 0 * left + a % k, True),
    }
    if s < k:  # (a // stride, a % stride) leaves the image near its edge: that code crashes
        candidates["the gradient of a window overwrote that of an overlapping window with the "
                   "same maximum: add it (+=, or np.add.at), do not assign it"] = (
                       top + a // k, left + a % k, False)
    found = {}
    for message, (rows, cols, accumulate) in candidates.items():
        dx = _route(dout, x.shape, rows + 0 * a, cols + 0 * a, accumulate)
        if dx is not None:
            found[message] = dx
    return found


def backward_mistakes(reference: str, x, params: dict, dout, options: dict) -> dict:
    """{"dx": {message: dx}, <parameter name>: {message: gradient}} of the typical wrong
    backward passes of a ``reference`` layer (bias gradients: :func:`bias_mistakes`)."""
    if reference in ("relu", "sigmoid", "tanh"):
        return {"dx": elementwise_mistakes(reference, x)}
    if reference == "conv2d":  # near-answers of the loop convolution: grader side only
        diagnose = grader_reference("conv2d_backward")
        return diagnose(x, params["W"], dout, options.get("stride", 1),
                        options.get("pad", 0)) if diagnose else {}
    if reference != "maxpool2d":
        return {}
    k = options.get("kernel", 2)
    decoded = maxpool_mistakes(x, dout, k, options.get("stride", 2))
    spread = np.asarray(dout).repeat(k, axis=2).repeat(k, axis=3)
    if spread.shape != np.shape(x):
        return {"dx": decoded}
    return {"dx": {
        "the gradient went to every position of each window; send it only to the position "
        "of the max (the argmax)": spread,
        "the gradient was averaged over each window (that is average pooling); send it only "
        "to the position of the max": spread / (k * k), **decoded}}


def conv_forward_mistakes(out: np.ndarray) -> dict:
    """{message: forward output} of an im2col convolution that reshapes its matrix product
    straight to (N, F, H', W'), from the right output ``out`` (N, F, H', W')."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim != 4:
        return {}
    transpose = ("then transpose it to (N, F, H', W') (.transpose(1, 0, 2, 3)): a reshape "
                 "never moves entries between axes")
    return {
        "the (F, N*H'*W') product was reshaped straight to (N, F, H', W'), which mixes "
        "filters and images: its rows are the filters, so reshape it to (F, N, H', W') and "
        + transpose: out.transpose(1, 0, 2, 3).reshape(out.shape),
        "the (N*H'*W', F) product was reshaped straight to (N, F, H', W'), which mixes "
        "positions and filters: reshape it to (N, H', W', F) and then transpose it to "
        "(N, F, H', W') (.transpose(0, 3, 1, 2))": out.transpose(0, 2, 3, 1).reshape(out.shape),
    }
