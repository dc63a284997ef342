"""Checks for NumPy layer objects with a forward/backward API (CS231n style).

A layer has ``params`` (dict name -> float array, empty for ReLU), ``forward(x)``,
``backward(dout)`` returning ``dx``, and after backward ``grads`` (same keys as params).
The check overwrites the parameters in place with seeded values, so its inputs depend
only on the check's seed, and compares against torch autograd in float64.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import to_array
from ..compare import compare
from ..core import Check, StudentError, call_student
from .layer_mistakes import backward_mistakes, bias_mistakes, conv_forward_mistakes
from .sketch import (failure_record, large_run_problem, sample_indices, sketch,
                     student_sketch)

REFERENCES = ("linear", "relu", "sigmoid", "tanh", "flatten", "conv2d", "maxpool2d")
PARAMETERS = {"linear": ("W", "b"), "conv2d": ("W", "b")}

# Entries of the large input x every check of these layers also runs (sketch.py says why).
# Numerical differentiation of the student's forward costs 2 passes per entry of x and of
# the parameters (4 for fourth order), and a pass costs about c seconds per entry, so
# 2 c E^2 in all. c, measured with A4's solution on one core of the 2-core development
# machine (benchmarks/numerical_gradients.py): 1 ns (Linear, memory-bound), 28 ns (3x3
# convolution, stride 1) to 80 ns (5x5), 14-22 ns (max pooling); a convolution with stride
# s reads each entry about s^2 times less, so it gets s^2 times the entries. Per check that
# is 8,800 s (linear), 15,000 s (3x3) to 44,000 s (5x5) for conv2d, 8,000-12,000 s for
# maxpool2d (quiet machine), and about 500,000 s for the 2x2 convolution with stride 3
# (the same script with the machine loaded 5 times over: 24,000-160,000 s for the
# others), against A4's cell limit of 3 x 300 s for a whole cell; forward and backward
# take 0.01 s (linear) to 0.15 s (5x5 convolution) on a quiet machine. Elementwise layers
# and flatten get none: their Jacobian is diagonal (a permutation), so one perturbation of
# every entry at once gives the whole gradient, whatever the size. A convolution written
# with loops is given a smaller input in its check call (A4's test_conv_loop), as its
# honest passes are some 100 times slower.
LARGE_ENTRIES = {"linear": 2 ** 21, "conv2d": 2 ** 19, "maxpool2d": 2 ** 19}
LARGE_SIDE = 32  # images of the large input: CIFAR-10's size


def default_large(reference: str, x_shape, stride: int = 1) -> tuple:
    """The large input's shape: x_shape's features (linear) or channels (conv, pool) with
    LARGE_SIDE x LARGE_SIDE images, and as many samples as make LARGE_ENTRIES (times
    stride^2 for a convolution); () for none."""
    if reference not in LARGE_ENTRIES:
        return ()
    per_sample = ((x_shape[1],) if reference == "linear"
                  else (x_shape[1], LARGE_SIDE, LARGE_SIDE))
    entries = LARGE_ENTRIES[reference] * (int(stride) ** 2 if reference == "conv2d" else 1)
    return (-(-entries // int(np.prod(per_sample))), *per_sample)


def reference_forward(reference: str, x, params: dict, options: dict):
    """The layer as a torch function of x and its parameters (tensors)."""
    import torch
    import torch.nn.functional as F
    if reference == "linear":
        return x @ params["W"] + params["b"]
    if reference == "relu":
        return torch.relu(x)
    if reference == "sigmoid":
        return torch.sigmoid(x)
    if reference == "tanh":
        return torch.tanh(x)
    if reference == "flatten":
        return torch.flatten(x, 1)
    if reference == "conv2d":
        return F.conv2d(x, params["W"], params["b"], stride=options.get("stride", 1),
                        padding=options.get("pad", 0))
    if reference == "maxpool2d":
        return F.max_pool2d(x, options.get("kernel", 2), options.get("stride", 2))
    raise ValueError(f"unknown reference {reference!r}; choose one of {REFERENCES}")


def reference_gradients(reference, x, params, dout, options):
    """Oracle output, dx and parameter gradients (NumPy float64)."""
    import torch
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    pt = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    out = reference_forward(reference, xt, pt, options)
    if dout is None:
        return out.detach().numpy(), None, None
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return (out.detach().numpy(), xt.grad.numpy(),
            {k: (t.grad.numpy() if t.grad is not None else np.zeros_like(params[k]))
             for k, t in pt.items()})


def _student_params(layer, expected_names) -> dict:
    params = getattr(layer, "params", None)
    if not isinstance(params, dict):
        raise StudentError("the layer has no `params` dict (name -> array); set "
                           "self.params = {} in __init__ for a layer without parameters")
    missing = [n for n in expected_names if n not in params]
    if missing:
        raise StudentError(f"layer.params lacks {missing} (it has {sorted(params)})")
    return params


def _seed_params(params: dict, names, rng) -> dict:
    """Overwrite the named parameters in place with seeded values; return copies."""
    values = {}
    for name in names:
        current = params[name]
        if not isinstance(current, np.ndarray):
            raise StudentError(f"layer.params[{name!r}] is a {type(current).__name__}, "
                               "expected a NumPy array")
        value = rng.normal(0, 0.5, current.shape)
        if current.dtype != np.float64:
            params[name] = current.astype(np.float64)
            current = params[name]
        current[...] = value
        values[name] = value.copy()
    return values


def _run_layer(layer, x, dout_rng):
    """forward then backward with a seeded upstream gradient; plain data out."""
    out = to_array(call_student(layer.forward, x.copy(), what="layer.forward(x)"),
                   "layer.forward(x)")
    dout = dout_rng.normal(0, 1, out.shape)
    dx = to_array(call_student(layer.backward, dout.copy(), what="layer.backward(dout)"),
                  "layer.backward(dout)")
    grads = getattr(layer, "grads", None)
    return out, dout, dx, grads


class LayerCheck(Check):
    """A layer's forward, dx and parameter gradients vs torch autograd in float64.

    reference: linear (W (D, M), b (M,), x (N, D)), relu, sigmoid, tanh, flatten,
    conv2d (W (F, C, HH, WW), b (F,); options stride, pad), maxpool2d (kernel, stride).
    Linear, conv2d and maxpool2d layers then run on a ``large`` input (default:
    :func:`default_large`), whose gradients only backprop computes in time; a slow layer
    (a convolution with loops) is given a smaller one in its check call.
    """

    kind = "layer"
    collects = (
        "the layer's forward output, dx and parameter gradients on seeded x and upstream "
        "gradient")
    compares_with = "the named reference layer in torch, float64 autograd"

    def __init__(self, reference, x_shape, seed=0, name=None, points=1.0, large=None,
                 **options):
        if reference not in REFERENCES:
            raise ValueError(f"reference must be one of {REFERENCES}")
        super().__init__(name or f"{reference} layer forward and backward", points, seed)
        self.reference, self.x_shape, self.options = reference, tuple(x_shape), options
        self.large = tuple(int(s) for s in (
            default_large(reference, self.x_shape, options.get("stride", 1))
            if large is None else large))

    def inputs(self):
        return {"x": self.rng("x").normal(0, 1, self.x_shape)}

    def collect(self, layer):
        names = PARAMETERS.get(self.reference, ())
        params = _student_params(layer, names)
        values = _seed_params(params, names, self.rng("params"))
        x = self.inputs()["x"]
        out, dout, dx, grads = _run_layer(layer, x, self.rng("dout"))
        if names and not isinstance(grads, dict):
            raise StudentError("after backward, layer.grads should be a dict with keys "
                               f"{list(names)}; found {type(grads).__name__}")
        missing = [n for n in names if n not in grads]
        if missing:
            raise StudentError(f"no gradient stored for parameter(s) {missing}: set "
                               f"layer.grads[{missing[0]!r}] in backward "
                               f"(layer.grads has keys {sorted(grads)})")
        evidence = {"params": values, "out": out, "dout": dout, "dx": dx,
                    "grads": {n: to_array(grads[n], f"layer.grads[{n!r}]") for n in names}}
        if self.large:
            try:  # a failure here must not hide what the small input shows
                evidence["large"] = self.collect_large(layer, params, names)
            except StudentError as err:
                evidence["large"] = failure_record(err)
        return evidence

    def large_inputs(self, shapes: dict) -> dict:
        """The large run's parameters (names -> shapes given), x, and sampled entries."""
        params = {n: self.rng("large params").normal(0, 0.5, shapes[n]) for n in shapes}
        x = self.rng("large x").normal(0, 1, self.large)
        wanted = {"dx": self.large, **shapes}
        return {"params": params, "x": x, "shapes": wanted,
                "indices": sample_indices(self.rng("large sample"), wanted)}

    def collect_large(self, layer, params: dict, names) -> dict:
        """forward and backward on the large x; a sketch of dx and the parameter gradients."""
        shapes = {n: np.shape(params[n]) for n in names}
        inp = self.large_inputs(shapes)
        for name in names:  # rewrite the seeded values: the layer keeps the new arrays' dtype
            params[name][...] = inp["params"][name]
        what = f"forward and backward on an input of shape {self.large}"
        out, dout, dx, grads = _run_layer(layer, inp["x"], self.rng("large dout"))
        got = {"dx": dx, **{n: (grads or {}).get(n) for n in names}}
        return {"out_shape": list(out.shape),
                "sketch": student_sketch(got, inp["shapes"], inp["indices"], what)}

    def judge_large(self, ev) -> str | None:
        """None when the large run's sketch matches autograd's, else the problem."""
        def want():
            shapes = {n: np.shape(ev["params"][n]) for n in PARAMETERS.get(self.reference, ())}
            inp = self.large_inputs(shapes)
            out, _, _ = reference_gradients(self.reference, inp["x"], inp["params"], None,
                                            self.options)
            dout = self.rng("large dout").normal(0, 1, out.shape)
            _, dx, grads = reference_gradients(self.reference, inp["x"], inp["params"], dout,
                                               self.options)
            return sketch({"dx": dx, **(grads or {})}, inp["indices"])

        return large_run_problem(ev.get("large"), want, "input",
                                 f"on an input of shape {self.large}")

    def verdict(self, ev):
        x = self.inputs()["x"]
        params = {k: np.asarray(v, dtype=np.float64) for k, v in ev["params"].items()}
        out, _, _ = reference_gradients(self.reference, x, params, None, self.options)
        if np.shape(ev["out"]) != out.shape:
            return self.failed(self._shape_message("forward(x)", np.shape(ev["out"]), out.shape))
        problem = compare("forward(x)", ev["out"], out, tolerances.VALUE,
                          mistakes=self._forward_mistakes(x, params, out))
        if problem:
            return self.failed(problem)
        _, dx, grads = reference_gradients(self.reference, x, params, np.asarray(ev["dout"]),
                                           self.options)
        if np.shape(ev["dx"]) != dx.shape:
            return self.failed(self._shape_message("dx", np.shape(ev["dx"]), dx.shape))
        known = backward_mistakes(self.reference, x, params, ev["dout"], self.options)
        problem = compare("dx", ev["dx"], dx, tolerances.LAYER, batch=x.shape[0],
                          mistakes=known.get("dx"), hint=self._hint())
        for name, expected in (grads or {}).items():
            # the bias gradient reads no input window, so the stride hint is not for it
            bias = name == "b"
            problem = problem or compare(
                f"gradient of {name}", ev["grads"][name], expected, tolerances.LAYER,
                batch=x.shape[0], hint="" if bias else self._hint(),
                mistakes=bias_mistakes(self.reference, ev["dout"]) if bias else known.get(name))
        problem = problem or (self.judge_large(ev) if self.large else None)
        if problem:
            return self.failed(problem)
        return self.passed()

    def _shape_message(self, what, got, expected) -> str:
        message = f"{what} has shape {tuple(got)}, expected {tuple(expected)}"
        pad = self.options.get("pad", 0)
        if self.reference == "flatten" and what == "dx" and tuple(got) == (
                expected[0], int(np.prod(expected[1:]))):
            return message + ": reshape dout back to the input's shape (saved in forward)"
        if self.reference == "conv2d":
            stride = self.options.get("stride", 1)
            if what == "dx" and len(got) == 4 and tuple(got[2:]) == (self.x_shape[2] + 2 * pad,
                                                                    self.x_shape[3] + 2 * pad):
                return message + (f": that is the padded input's shape; remove the {pad} "
                                  "rows/columns of padding on each side before returning dx")
            if what == "forward(x)":
                return message + (f": with stride {stride} and pad {pad} the output size is "
                                  "(H + 2*pad - HH) // stride + 1")
        return message

    def _forward_mistakes(self, x, params, right) -> dict:
        if "b" not in params:
            return {}
        unbiased = dict(params, b=np.zeros_like(params["b"]))
        out, _, _ = reference_gradients(self.reference, x, unbiased, None, self.options)
        found = {"the bias b is not added (out = ... + b)": out}
        if self.reference == "conv2d":
            found.update(conv_forward_mistakes(right))
        return found

    def _hint(self) -> str:
        if self.reference == "conv2d" and self.options.get("stride", 1) > 1:
            return (f"with stride {self.options['stride']}, output position (i, j) reads the "
                    "input window starting at (i*stride, j*stride); its gradient goes back to "
                    "that same window")
        return ""


check_layer = LayerCheck.function("check_layer", "layer", after=("large",))
