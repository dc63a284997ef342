"""A4's convolution plumbing: ``im2col``, ``col2im`` and the gradients of a whole
``Network`` of the student's layers.

Every judge uses torch in float64, imported lazily (A4's kernels have no torch):
``F.unfold`` is im2col, ``F.fold`` its adjoint col2im, autograd the network's gradients.
A mismatch is explained by trying the other orders of the rows (c, u, v) and columns
(n, i, j) of the layout, and the other usual slips (overwriting, padding kept).
"""
from __future__ import annotations

import itertools

import numpy as np

from . import tolerances
from .compare import compare
from .core import StudentError, call_student, run
from .judging import SafeCheck, array, evidence_array, first_difference, lazy_torch, same

ROWS, COLUMNS = ("c", "u", "v"), ("n", "i", "j")


def out_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


class _Im2colBase(SafeCheck):
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
    kind = "im2col"

    def __init__(self, x_shape, kernel=3, stride=1, pad=0, seed=0, name=None, points=1.0):
        super().__init__(x_shape, kernel, stride, pad, seed,
                         name or f"im2col {tuple(x_shape)}, kernel {kernel}, stride {stride}, "
                                 f"pad {pad}", points)

    def inputs(self):
        return {"x": self.rng().normal(size=self.x_shape)}

    def collect(self, im2col):
        cols = call_student(im2col, self.inputs()["x"].copy(), *self.kernel, self.stride, self.pad,
                            what="im2col(x, HH, WW, stride, pad)")
        return {"cols": array(cols, "im2col's result", np.float64)}

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
        return self.failed(f"im2col is wrong: {first_difference(cols, want, 1e-12)}; entry "
                           "[(c*HH + u)*WW + v, (n*H_out + i)*W_out + j] must be "
                           "x_pad[n, c, i*stride + u, j*stride + v]")


def check_im2col(im2col, x_shape, kernel=3, stride=1, pad=0, seed=0, name=None, points=1.0,
                 raise_on_fail=True):
    """``im2col(x, HH, WW, stride, pad)``: x (N, C, H, W) -> cols (C*HH*WW, N*H_out*W_out),
    compared with torch's F.unfold; kernel is an int or (HH, WW)."""
    return run(Im2colCheck(x_shape, kernel, stride, pad, seed, name, points), im2col,
               raise_on_fail)


class Col2imCheck(_Im2colBase):
    kind = "col2im"

    def __init__(self, x_shape, kernel=3, stride=1, pad=0, seed=0, name=None, points=1.0):
        super().__init__(x_shape, kernel, stride, pad, seed,
                         name or f"col2im {tuple(x_shape)}, kernel {kernel}, stride {stride}, "
                                 f"pad {pad}", points)

    def inputs(self):
        return {"g": self.rng().normal(size=self.cols_shape())}

    def collect(self, col2im):
        out = call_student(col2im, self.inputs()["g"].copy(), self.x_shape, *self.kernel,
                           self.stride, self.pad, what="col2im(cols, x_shape, HH, WW, stride, pad)")
        return {"dx": array(out, "col2im's result", np.float64)}

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


def check_col2im(col2im, x_shape, kernel=3, stride=1, pad=0, seed=0, name=None, points=1.0,
                 raise_on_fail=True):
    """``col2im(cols, x_shape, HH, WW, stride, pad)`` -> (N, C, H, W), the adjoint of im2col
    (torch's F.fold): overlapping contributions added, padding dropped."""
    return run(Col2imCheck(x_shape, kernel, stride, pad, seed, name, points), col2im,
               raise_on_fail)


# ----------------------------------------------------------------------------- network

class NetworkGradientCheck(SafeCheck):
    """conv(3 filters, 3x3, pad 1) - relu - maxpool 2 - flatten - linear, in float64."""

    kind = "network_gradients"
    NAMES = (("conv", "W"), ("conv", "b"), ("fc", "W"), ("fc", "b"))

    def __init__(self, x_shape, n_classes=4, seed=0, name=None, points=1.0):
        super().__init__(name or f"Network gradients, input {tuple(x_shape)}", points, seed)
        self.x_shape, self.n_classes = tuple(int(s) for s in x_shape), int(n_classes)

    def inputs(self):
        rng = self.rng()
        N, C, H, W = self.x_shape
        shapes = {"conv_W": (3, C, 3, 3), "conv_b": (3,), "fc_W": (3 * (H // 2) * (W // 2),
                                                                   self.n_classes),
                  "fc_b": (self.n_classes,)}
        return {"params": {k: rng.normal(0, 0.5, s) for k, s in shapes.items()},
                "x": rng.normal(size=self.x_shape), "G": rng.normal(size=(N, self.n_classes))}

    def collect(self, student):
        Network, Conv2D, ReLU, MaxPool2D, Flatten, Linear = student
        inp = self.inputs()
        N, C, H, W = self.x_shape
        rng = np.random.default_rng(0)
        layers = [("conv", call_student(lambda: Conv2D(C, 3, 3, stride=1, pad=1, rng=rng),
                                        what="Conv2D(C, 3, 3, stride=1, pad=1)")),
                  ("relu", call_student(ReLU, what="ReLU()")),
                  ("pool", call_student(MaxPool2D, 2, 2, what="MaxPool2D(2, 2)")),
                  ("flat", call_student(Flatten, what="Flatten()")),
                  ("fc", call_student(lambda: Linear(3 * (H // 2) * (W // 2), self.n_classes,
                                                     rng=rng), what="Linear(D, K)"))]
        by_name = dict(layers)
        for layer, key in self.NAMES:
            by_name[layer].params[key] = inp["params"][f"{layer}_{key}"].copy()
        net = call_student(Network, layers, what="Network(layers)")
        scores = array(call_student(net.forward, inp["x"].copy(), what="Network.forward(x)"),
                       "the scores", np.float64)
        try:  # a wrong forward pass is the first thing to report, even if backward crashes
            dx = call_student(net.backward, inp["G"].copy(), what="Network.backward(dscores)")
            pairs = call_student(net.parameters, what="Network.parameters()")
        except StudentError as err:
            return {"scores": scores, "backward_error": str(err)}
        listed = []
        for k, pair in enumerate(pairs if isinstance(pairs, (list, tuple)) else []):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise StudentError(f"parameters()[{k}] is not a (param, grad) pair")
            param, grad = pair
            owner = [f"{l}_{key}" for l, key in self.NAMES if param is by_name[l].params[key]]
            swapped = any(grad is by_name[l].params[key] for l, key in self.NAMES)
            listed.append({"param": owner[0] if owner else "", "swapped": swapped,
                           "grad": array(grad, f"the gradient of pair {k}", np.float64)})
        return {"scores": scores, "dx": array(dx, "dx", np.float64), "pairs": listed}

    def reference(self):
        torch = lazy_torch()
        F = torch.nn.functional
        inp = self.inputs()
        t = {k: torch.tensor(v, requires_grad=True) for k, v in inp["params"].items()}
        x = torch.tensor(inp["x"], requires_grad=True)
        h = F.max_pool2d(torch.relu(F.conv2d(x, t["conv_W"], t["conv_b"], padding=1)), 2)
        scores = h.reshape(len(h), -1) @ t["fc_W"] + t["fc_b"]
        (scores * torch.tensor(inp["G"])).sum().backward()
        grads = {k: v.grad.numpy() for k, v in t.items()}
        return scores.detach().numpy(), x.grad.numpy(), grads

    def verdict(self, ev):
        scores, dx_ref, grads = self.reference()
        got = evidence_array(ev["scores"], "scores")
        layers_hint = ("; this test uses your Conv2D, ReLU, MaxPool2D, Flatten and Linear: if "
                       "one of their tests failed, fix it first")
        if got.shape != scores.shape or not same(got, scores, 1e-9):
            return self.failed("Network.forward's scores differ from running the layers in order "
                               f"(conv, relu, pool, flatten, fc){layers_hint}")
        if "backward_error" in ev:
            return self.failed(str(ev["backward_error"])[:2000])
        pairs = ev["pairs"]
        if any(bool(p["swapped"]) for p in pairs):
            return self.failed("parameters() lists (grad, param): return (param, grad) pairs")
        names = [str(p["param"]) for p in pairs]
        if not all(names):
            return self.failed("parameters() lists arrays that are not the layers' params (copies?): "
                               "Adam updates them in place, so the update would never reach the "
                               "layers; list layer.params[key] itself")
        if len(pairs) != 4 or sorted(names) != sorted(grads):
            missing = sorted(set(grads) - set(names))
            return self.failed(f"parameters() lists {len(pairs)} pairs ({names}), expected the 4 "
                               f"parameters of this network" + (f"; missing: {missing}" if missing else ""))
        for pair in sorted(pairs, key=lambda p: not str(p["param"]).startswith("fc")):
            key = str(pair["param"])
            problem = compare(f"the gradient of {key}", evidence_array(pair["grad"], key),
                              grads[key], tolerances.NETWORK)
            if problem:
                cause = ""
                if key.startswith("conv"):
                    cause = ("; the fc gradients are right, so the gradient passed back to the "
                             "earlier layers is not: backward runs the layers in reverse, each "
                             "layer's dx feeding the layer before" + layers_hint)
                return self.failed(problem + cause)
        problem = compare("dx", evidence_array(ev["dx"], "dx"), dx_ref, tolerances.NETWORK)
        if problem:
            return self.failed(problem + ": Network.backward must return the first layer's dx")
        return self.passed()


def check_network_gradients(Network, Conv2D, ReLU, MaxPool2D, Flatten, Linear, x_shape,
                            n_classes=4, seed=0, name=None, points=1.0, raise_on_fail=True):
    """A float64 Network(conv 3x3 pad 1 - relu - maxpool 2 - flatten - linear) of the
    student's layers: the scores, every parameter gradient listed by ``parameters()`` and
    dx of ``backward(G)`` for a random upstream G (N, n_classes), against torch autograd."""
    check = NetworkGradientCheck(x_shape, n_classes, seed, name, points)
    return run(check, (Network, Conv2D, ReLU, MaxPool2D, Flatten, Linear), raise_on_fail)
