"""A4's convolution plumbing: ``im2col`` and ``col2im``.

Every judge uses torch in float64, imported lazily (A4's kernels have no torch):
``F.unfold`` is im2col, ``F.fold`` its adjoint col2im.
A mismatch is explained by trying the other orders of the rows (c, u, v) and columns
(n, i, j) of the layout, and the other usual slips (overwriting, padding kept).
"""
from __future__ import annotations

import itertools

import numpy as np

from ..core import Check, call_student
from ..convert import evidence_array, to_array
from ..judging import first_difference, lazy_torch, same

ROWS, COLUMNS = ("c", "u", "v"), ("n", "i", "j")


def out_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


class _Im2colBase(Check):
    def __init__(self, x_shape, kernel, stride, pad, seed, name, points):
        super().__init__(name, points, seed)
        self.x_shape = tuple(int(s) for s in x_shape)
        self.kernel = tuple(int(k) for k in (kernel if isinstance(kernel, (tuple, list))
                                             else (kernel, kernel)))
        self.stride, self.pad = int(stride), int(pad)

    def dims(self, stride=None, pad=None):
        """(C, HH, WW, N, H_out, W_out): the six axes of the layout."""
        N, C, H, W = self.x_shape
        HH, WW = self.kernel
        s = self.stride if stride is None else stride
        p = self.pad if pad is None else pad
        return C, HH, WW, N, out_size(H, HH, s, p), out_size(W, WW, s, p)

    def cols_shape(self, **kw):
        C, HH, WW, N, Ho, Wo = self.dims(**kw)
        return (C * HH * WW, N * Ho * Wo)

    def layouts(self):
        """(description, permutation of the six axes) for every order of rows and columns."""
        for rows in itertools.permutations(range(3)):
            for cols in itertools.permutations(range(3, 6)):
                text = []
                if rows != (0, 1, 2):
                    text.append(f"rows ordered ({', '.join(ROWS[r] for r in rows)}) instead of (c, u, v)")
                if cols != (3, 4, 5):
                    text.append(f"columns ordered ({', '.join(COLUMNS[c - 3] for c in cols)}) "
                                "instead of (n, i, j)")
                yield " and ".join(text), rows + cols

    def torch_fold(self):
        torch = lazy_torch()
        return torch, torch.nn.functional

    def unfold(self, x):
        """The reference cols (C*HH*WW, N*H_out*W_out) of x, from F.unfold."""
        torch, F = self.torch_fold()
        cols = F.unfold(torch.tensor(x), self.kernel, padding=self.pad, stride=self.stride)
        return cols.permute(1, 0, 2).reshape(self.cols_shape()).numpy()


class Im2colCheck(_Im2colBase):
    """``im2col(x, HH, WW, stride, pad)``: x (N, C, H, W) -> cols (C*HH*WW, N*H_out*W_out),
    compared with torch's F.unfold; kernel is an int or (HH, WW)."""

    kind = "im2col"
    collects = "the columns im2col returns for a seeded input"
    compares_with = "torch's F.unfold"

    def __init__(self, x_shape, kernel=3, stride=1, pad=0, seed=0, name=None, points=1.0):
        super().__init__(x_shape, kernel, stride, pad, seed,
                         name or f"im2col {tuple(x_shape)}, kernel {kernel}, stride {stride}, "
                                 f"pad {pad}", points)

    def inputs(self):
        return {"x": self.rng().normal(size=self.x_shape)}

    def collect(self, im2col):
        cols = call_student(im2col, self.inputs()["x"].copy(), *self.kernel, self.stride, self.pad,
                            what="im2col(x, HH, WW, stride, pad)")
        return {"cols": to_array(cols, "im2col's result", np.float64)}

    def verdict(self, ev):
        cols = evidence_array(ev["cols"], "cols")
        want = self.unfold(self.inputs()["x"])
        if cols.shape != want.shape:
            hint = ""
            if cols.shape == want.shape[::-1]:
                hint = (": rows and columns are swapped; one ROW per (c, u, v) and one COLUMN per "
                        "window (n, i, j)")
            elif cols.shape == self.cols_shape(pad=0) and self.pad:
                hint = ": the padding is missing (pad x with np.pad first)"
            elif cols.shape == self.cols_shape(stride=1) and self.stride != 1:
                hint = ": the stride is ignored (windows start every `stride` pixels)"
            return self.failed(f"im2col returned shape {cols.shape}, expected (C*HH*WW, "
                               f"N*H_out*W_out) = {want.shape}{hint}")
        if same(cols, want, 1e-12):
            return self.passed()
        six = want.reshape(self.dims())
        for text, perm in self.layouts():
            if text and same(cols, six.transpose(perm).reshape(want.shape), 1e-12):
                return self.failed(f"im2col has the right values in the wrong places: {text}. "
                                   "Entry [(c*HH + u)*WW + v, (n*H_out + i)*W_out + j] must be "
                                   "x_pad[n, c, i*stride + u, j*stride + v]")
        if self.stride != 1 and same(cols, self.unstrided(self.inputs()["x"]), 1e-12):
            return self.failed(f"im2col ignores the stride: its windows start at every pixel "
                               f"(x_pad[n, c, i + u, j + v]) instead of every {self.stride} "
                               f"pixels (x_pad[n, c, i*stride + u, j*stride + v])")
        return self.failed(f"im2col is wrong: {first_difference(cols, want, 1e-12)}; entry "
                           "[(c*HH + u)*WW + v, (n*H_out + i)*W_out + j] must be "
                           "x_pad[n, c, i*stride + u, j*stride + v]")

    def unstrided(self, x) -> np.ndarray:
        """The cols of an im2col that sizes the output for the stride but reads the windows
        at stride 1: the first H_out x W_out stride-1 windows, in the reference layout."""
        torch, F = self.torch_fold()
        C, HH, WW, N, Ho, Wo = self.dims()
        _, _, _, _, H1, W1 = self.dims(stride=1)
        cols = F.unfold(torch.tensor(x), self.kernel, padding=self.pad, stride=1)
        six = cols.numpy().reshape(N, C, HH, WW, H1, W1)[:, :, :, :, :Ho, :Wo]
        return six.transpose(1, 2, 3, 0, 4, 5).reshape(self.cols_shape())


check_im2col = Im2colCheck.function("check_im2col", "im2col")


class Col2imCheck(_Im2colBase):
    """``col2im(cols, x_shape, HH, WW, stride, pad)`` -> (N, C, H, W), the adjoint of im2col
    (torch's F.fold): overlapping contributions added, padding dropped."""

    kind = "col2im"
    collects = "the image col2im returns for seeded columns"
    compares_with = "torch's F.fold"

    def __init__(self, x_shape, kernel=3, stride=1, pad=0, seed=0, name=None, points=1.0):
        super().__init__(x_shape, kernel, stride, pad, seed,
                         name or f"col2im {tuple(x_shape)}, kernel {kernel}, stride {stride}, "
                                 f"pad {pad}", points)

    def inputs(self):
        return {"g": self.rng().normal(size=self.cols_shape())}

    def collect(self, col2im):
        out = call_student(col2im, self.inputs()["g"].copy(), self.x_shape, *self.kernel,
                           self.stride, self.pad, what="col2im(cols, x_shape, HH, WW, stride, pad)")
        return {"dx": to_array(out, "col2im's result", np.float64)}

    def fold(self, g):
        """The adjoint of the reference im2col: F.fold of cols (C*HH*WW, N*H_out*W_out)."""
        torch, F = self.torch_fold()
        C, HH, WW, N, Ho, Wo = self.dims()
        per_image = torch.tensor(g).reshape(C * HH * WW, N, Ho * Wo).permute(1, 0, 2)
        return F.fold(per_image, self.x_shape[2:], self.kernel, padding=self.pad,
                      stride=self.stride).numpy()

    def overwritten(self, g, last_offset_wins: bool) -> np.ndarray:
        """What col2im gives when each kernel offset (u, v) overwrites instead of adding."""
        C, HH, WW, N, Ho, Wo = self.dims()
        result = np.zeros(self.x_shape)
        offsets = [(u, v) for u in range(HH) for v in range(WW)]
        for u, v in offsets if last_offset_wins else offsets[::-1]:
            only = np.zeros((C, HH, WW, N * Ho * Wo))
            only[:, u, v] = g.reshape(C, HH, WW, -1)[:, u, v]
            covered = np.zeros_like(only)
            covered[:, u, v] = 1.0
            mask = self.fold(covered.reshape(g.shape)) > 0  # one offset: windows never overlap
            result = np.where(mask, self.fold(only.reshape(g.shape)), result)
        return result

    def verdict(self, ev):
        g = self.inputs()["g"]
        dx = evidence_array(ev["dx"], "dx")
        want = self.fold(g)
        N, C, H, W = self.x_shape
        p = self.pad
        if dx.shape != want.shape:
            hint = (": cut the padding off (return dx_pad[:, :, p:p+H, p:p+W])"
                    if dx.shape == (N, C, H + 2 * p, W + 2 * p) else "")
            return self.failed(f"col2im returned shape {dx.shape}, expected x_shape = "
                               f"{self.x_shape}{hint}")
        if same(dx, want, 1e-9):
            return self.passed()
        shared = self.fold(np.ones_like(g)) > 1
        if shared.any() and ((~shared).any() and same(dx[~shared], want[~shared], 1e-9)
                             or any(same(dx, self.overwritten(g, last), 1e-9)
                                    for last in (True, False))):
            return self.failed("col2im is right where a pixel lies in one window only and wrong "
                               "where windows overlap: add (+=) every contribution, do not "
                               "overwrite")
        six = self.dims()
        for text, perm in self.layouts():
            if not text:
                continue
            canonical = g.reshape([six[a] for a in perm]).transpose(np.argsort(perm))
            if same(dx, self.fold(canonical.reshape(g.shape)), 1e-9):
                return self.failed(f"col2im reads the columns in another layout than im2col's: "
                                   f"{text}")
        return self.failed(f"col2im is not the adjoint of im2col: {first_difference(dx, want, 1e-9)}"
                           "; every entry of cols must be added to the pixel it was copied from")


check_col2im = Col2imCheck.function("check_col2im", "col2im")
