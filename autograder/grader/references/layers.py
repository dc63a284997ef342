"""Wrong convolution backward passes, each with its cause: grader side only.

Computing them walks the windows of the padded input with the stride, which is most of
the answer to A4's loop convolution, so they are not in the student kit (the release's
leak check refuses them there). ``check_layer`` (student/checks/numpy_code/layers.py)
reaches them through ``grader_reference("conv2d_backward")``: at grading, where the judge
installs them, it names the cause; in a student's Jupyter it states the symptom.
"""
from __future__ import annotations

import numpy as np


def conv_backward_mistakes(x, weight, dout, stride: int, pad: int) -> dict:
    """{"dx": {message: dx}, "W": {message: dW}} of typical wrong convolution backward
    passes, from the check's x (N, C, H, W), W (F, C, HH, WW) and dout (N, F, H', W')."""
    x, weight, dout = (np.asarray(a, dtype=np.float64) for a in (x, weight, dout))
    if x.ndim != 4 or weight.ndim != 4 or dout.ndim != 4:
        return {"dx": {}, "W": {}}
    s, p = int(stride), int(pad)
    hh, ww = weight.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out_size = dout.shape[2:]
    top, left = (out_size[0] - 1) * s, (out_size[1] - 1) * s
    last = x_pad[:, :, top:top + hh, left:left + ww]  # the last window, of every image
    found = {"dx": {}, "W": {
        "each window's contribution was assigned (dW[f] = ...), so only the last window's "
        "is left: add every window's contribution (dW[f] += dout[n, f, i, j] * window)":
            dout[-1, :, -1, -1, None, None, None] * last[-1][None],
        "each output position's contribution was assigned (dW = ...), so only the last "
        "position's is left: add every position's contribution (+=)":
            np.einsum("nf,nchw->fchw", dout[:, :, -1, -1], last)}}
    if s == 1:
        return found
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(weight)
    for i, j in np.ndindex(*out_size):  # window (i, j): the stride forgotten
        dx_pad[:, :, i:i + hh, j:j + ww] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], weight)
        dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], x_pad[:, :, i:i + hh, j:j + ww])
    where = (f"with stride {s}, output position (i, j) reads the input window starting at "
             "(i*stride, j*stride), not (i, j)")
    found["dx"][f"each output's gradient went back to the window at (i, j): {where}; send "
                "its gradient back to that same window"] = dx_pad[:, :, p:p + x.shape[2],
                                                                  p:p + x.shape[3]]
    found["W"][f"it multiplies each output's gradient by the window at (i, j): {where}; "
               "multiply by that same window"] = dw
    return found
