"""Check of a ``collate_fn`` that turns dataset items into network inputs (A2's
``prepare_batch``): the scale of "raw", "unit" and "standardised" inputs, dtypes, labels.

The judge fits ``out = a * pixel/255 + b`` to what the function returned, so a wrong scale
or wrong statistics are named by the numbers the student actually used.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import numeric, returned, tensor_record
from .torch_helpers import preserved_rng

__all__ = ["check_prepare_batch"]

MODES = ("raw", "unit", "standardised")


def _affine_fit(u: np.ndarray, out: np.ndarray):
    """(a, b, worst residual) of the least-squares fit out ~ a * u + b."""
    design = np.stack([u.reshape(-1), np.ones(u.size)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, out.reshape(-1), rcond=None)
    return float(a), float(b), float(np.abs(a * u + b - out).max())


class PrepareBatchCheck(Check):
    """``prepare_batch(items, augment=False[, inputs=inputs])`` on ``n_items`` random uint8
    images with int labels returns x float32 (n_items, *image_shape) and y int64 (n_items,):
    "raw" x = pixel, "unit" x = pixel / 255, "standardised" (also inputs=None, the default)
    x = (pixel / 255 - mean) / std."""

    kind = "prepare_batch"
    collects = "x and y of prepare_batch on seeded items, with and without augment"
    compares_with = "the expected dtypes, shapes and scaling of the pixels"

    def __init__(self, inputs=None, n_items=50, image_shape=(1, 28, 28), mean=0.1307,
                 std=0.3081, seed=0, name=None, points=1.0):
        if inputs is not None and inputs not in MODES:
            raise ValueError(f"inputs must be None or one of {MODES}")
        self.inputs_mode = inputs
        self.n_items = int(n_items)
        self.image_shape = tuple(int(n) for n in image_shape)
        self.mean, self.std = float(mean), float(std)
        mode = inputs or "standardised (the default)"
        super().__init__(name or f"prepare_batch with {mode} inputs", points, seed)

    def inputs(self):
        rng = self.rng("items")
        return {"images": rng.integers(0, 256, (self.n_items, *self.image_shape)).astype(np.uint8),
                "labels": rng.integers(0, 10, self.n_items).astype(np.int64)}

    def collect(self, prepare_batch):
        import torch

        data = self.inputs()
        items = [(torch.from_numpy(image.copy()), int(label))
                 for image, label in zip(data["images"], data["labels"])]
        keywords = {"augment": False}
        if self.inputs_mode is not None:
            keywords["inputs"] = self.inputs_mode
        what = "prepare_batch(items, " + ", ".join(f"{k}={v!r}" for k, v in keywords.items()) + ")"
        evidence = {}
        for draw in (1, 2):
            with preserved_rng(self.seed + draw):
                batch = call_student(lambda: prepare_batch(list(items), **keywords), what=what)
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise StudentError(f"{what} returned a {type(batch).__name__}, expected (x, y)")
            evidence[f"x{draw}"] = tensor_record(batch[0], "x")
            evidence[f"y{draw}"] = tensor_record(batch[1], "y")
        return evidence

    def verdict(self, ev):
        data = self.inputs()
        mode = self.inputs_mode or "standardised"
        n = self.n_items
        x_record, y_record = returned(ev, "x1"), returned(ev, "y1")
        x, y = numeric(x_record.get("array")), numeric(y_record.get("array"))
        if x is None or y is None:
            return self.failed("prepare_batch must return x and y as tensors of numbers")
        if x_record.get("kind") != "tensor" or y_record.get("kind") != "tensor":
            return self.failed(f"prepare_batch returned x as {x_record.get('kind')} and y as "
                               f"{y_record.get('kind')}: both must be torch tensors")
        if x.shape != (n, *self.image_shape):
            return self.failed(f"x has shape {x.shape} for {n} items, expected "
                               f"{(n, *self.image_shape)} (stack the images along a new first "
                               "dimension)")
        if x_record.get("dtype") != "float32":
            return self.failed(f"x is {x_record.get('dtype')}, expected float32 (the network's "
                               "parameters are float32)")
        if y.shape != (n,) or y_record.get("dtype") != "int64":
            return self.failed(f"y is {y_record.get('dtype')} of shape {y.shape}, expected int64 "
                               f"of shape ({n},) (F.cross_entropy needs int64 class indices)")
        if not np.array_equal(y, data["labels"]):
            return self.failed("the labels y do not match the items' labels in their order")
        if not np.isfinite(x).all():
            return self.failed("x contains NaN or inf")
        x2 = numeric(returned(ev, "x2").get("array"))
        if x2 is None or x2.shape != x.shape or not np.allclose(x, x2, atol=1e-6):
            return self.failed("two calls with augment=False give different batches: augment "
                               "only when augment=True (validation and test batches must not "
                               "change)")
        u = data["images"].astype(np.float64) / 255
        expected = {"raw": u * 255, "unit": u, "standardised": (u - self.mean) / self.std}[mode]
        if np.allclose(x, expected, atol=1e-4, rtol=1e-5):
            return self.passed(f"{mode} inputs, float32 {x.shape}, labels in order")
        return self.failed(self._diagnosis(mode, u, x))

    def _diagnosis(self, mode: str, u: np.ndarray, x: np.ndarray) -> str:
        a, b, residual = _affine_fit(u, x)
        stats = f"(data.MNIST_MEAN = {self.mean}, data.MNIST_STD = {self.std})"
        if residual > 1e-3 * max(1.0, abs(a)):
            return (f"the {mode} inputs are not a fixed linear function of the pixel values "
                    "(per-image or per-batch scaling, clipping or augmentation?); expected "
                    + {"raw": "the pixel values 0..255 as floats",
                       "unit": "pixel / 255",
                       "standardised": f"(pixel / 255 - mean) / std {stats}"}[mode])
        close = lambda p, q: abs(p - q) <= 1e-3 * max(1.0, abs(q))  # noqa: E731
        # The same pixels read as standardised with statistics (mean, std) = (-b/a, 1/a).
        implied_mean, implied_std = (-b / a, 1 / a) if abs(a) > 1e-12 else (float("nan"),) * 2
        if mode == "unit" and close(a, 255) and close(b, 0):
            return "the unit inputs range over 0..255: divide the pixels by 255 (to_unit)"
        if mode == "raw" and close(a, 1) and close(b, 0):
            return ("the raw inputs were divided by 255: 'raw' means the pixel values 0..255 as "
                    "floats, without any scaling")
        if mode != "standardised" and close(a, 1 / self.std) and close(b, -self.mean / self.std):
            return (f"the {mode} inputs are standardised: standardise only when inputs is "
                    "'standardised'")
        if mode != "standardised":
            return f"the {mode} inputs are {a:.4g} * pixel/255 + {b:.4g}; expected " + \
                ("pixel (0..255)" if mode == "raw" else "pixel / 255")
        if close(a, 1) and close(b, 0):
            return f"the inputs are pixel / 255, not standardised: apply standardise {stats}"
        if close(a, 255 / self.std) and close(b, -self.mean / self.std):
            return (f"(pixel - mean) / std was applied to the 0..255 pixels: divide by 255 first "
                    f"(to_unit), then standardise {stats}")
        if close(a, self.std) and close(b, self.mean):
            return f"the inputs are pixel/255 * std + mean: standardising is (x - mean) / std {stats}"
        if close(implied_mean, float(u.mean())) and close(implied_std, float(u.std())):
            return (f"the inputs were standardised with this batch's own statistics (mean "
                    f"{u.mean():.4f}, std {u.std():.4f}): use the training statistics {stats} for "
                    "every batch, so that an image always gives the same input")
        if close(implied_std, self.mean) and close(implied_mean, self.std):
            return f"mean and std are swapped: (x - mean) / std with {stats}"
        return (f"the inputs were standardised with mean {implied_mean:.4f} and std "
                f"{implied_std:.4f}; expected the training statistics {stats}")


check_prepare_batch = PrepareBatchCheck.function("check_prepare_batch", "prepare_batch")
