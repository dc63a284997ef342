"""Checks on batched augmentation functions (A2): ``random_crop`` and ``random_rotation``.

Both judges work from the output images alone: a crop must be a window of the zero-padded
input, and a rotation of an elongated blob is measured by its image moments (orientation,
centre, mass), so no reference rotation (the exercise itself) is needed.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Check, call_student
from ..convert import numeric, returned, tensor_record
from .torch_helpers import preserved_rng

__all__ = ["check_random_crop", "check_random_rotation"]


def _call_on(function, x: np.ndarray, argument, seed: int, what: str) -> dict:
    import torch

    with preserved_rng(seed):
        out = call_student(function, torch.from_numpy(x.copy()), argument, what=what)
    return tensor_record(out, f"the result of {what}")


# ----------------------------------------------------------------------------- random crop

def _windows(image: np.ndarray, padding: int, mode: str) -> np.ndarray:
    """All H x W windows of ``image`` (C, H, W) padded by ``padding``: (2p+1, 2p+1, C, H, W)."""
    c, h, w = image.shape
    pad = ((0, 0), (padding, padding), (padding, padding))
    padded = np.pad(image, pad, mode=mode) if mode != "constant" else np.pad(image, pad)
    k = 2 * padding + 1
    return np.stack([np.stack([padded[:, i:i + h, j:j + w] for j in range(k)]) for i in range(k)])


def _offset(out: np.ndarray, image: np.ndarray, padding: int, mode="constant"):
    """(i, j) such that ``out`` is the window at offset (i, j) of the padded image, or None."""
    windows = _windows(image, padding, mode)
    close = np.all(np.abs(windows - out) <= 1e-5, axis=(2, 3, 4))
    found = np.argwhere(close)
    return tuple(int(v) for v in found[0]) if len(found) else None


class RandomCropCheck(Check):
    """``random_crop(x, padding)`` for float32 x of ``shape`` (N, C, H, W) returns (N, C, H, W):
    every image a window of the zero-padded image at its own random offset in
    {0..2*padding}^2 (also checked on a batch of 128 images: every offset value occurs)."""

    kind = "random_crop"
    collects = "the cropped images of seeded inputs (and of a batch of 128)"
    compares_with = "windows of the zero-padded inputs at offsets in {0..2*padding}"

    def __init__(self, shape=(8, 1, 28, 28), padding=2, seed=0, name=None, points=1.0):
        self.shape = tuple(int(n) for n in shape)
        self.padding = int(padding)
        super().__init__(name or f"random_crop of {self.shape} with padding {self.padding}",
                         points, seed)

    def inputs(self):
        # Strictly positive pixels: zeros in a window can only come from the padding.
        rng = self.rng("x")
        c = self.shape[1]
        return {"x": (0.1 + 0.9 * rng.random(self.shape)).astype(np.float32),
                "many": (0.1 + 0.9 * rng.random((128, c, 6, 6))).astype(np.float32)}

    def collect(self, random_crop):
        data = self.inputs()
        what = f"random_crop(x, {self.padding})"
        return {"out": _call_on(random_crop, data["x"], self.padding, self.seed, what),
                "many": _call_on(random_crop, data["many"], self.padding, self.seed + 1, what)}

    def verdict(self, ev):
        data = self.inputs()
        x, p = data["x"].astype(np.float64), self.padding
        n, c, h, w = x.shape
        record = returned(ev, "out")
        out = numeric(record.get("array"))
        if out is None:
            return self.failed("random_crop did not return a tensor of numbers")
        if record.get("kind") != "tensor":
            return self.failed(f"random_crop returned a {record.get('kind')}, expected a "
                               "torch tensor")
        if p and out.shape == (n, c, h + 2 * p, w + 2 * p):
            return self.failed(f"random_crop returned the padded images {out.shape}: cut an "
                               f"{h} x {w} window out of each padded image")
        if out.shape != x.shape:
            return self.failed(f"random_crop returned shape {out.shape} for x of shape {x.shape}; "
                               "expected the same shape")
        offsets = []
        for k in range(n):
            offset = _offset(out[k], x[k], p)
            if offset is None:
                return self.failed(self._not_a_window(out[k], x[k], k))
            offsets.append(offset)
        if p == 0:
            return self.passed("padding 0 returns the images unchanged")
        if (2 * p + 1) ** (2 * (n - 1)) > 1e9 and len(set(offsets)) == 1:  # never by chance
            return self.failed(f"all {n} images were cut at the same offset {offsets[0]}: draw "
                               "a random offset for every image (torch.randint(..., (N,)))")
        many = numeric(returned(ev, "many").get("array"), data["many"].shape)
        if many is None:
            return self.failed(f"random_crop returned the wrong shape for a batch of shape "
                               f"{data['many'].shape}")
        drawn = []
        for k in range(len(many)):
            offset = _offset(many[k], data["many"][k].astype(np.float64), p)
            if offset is None:
                return self.failed(self._not_a_window(many[k], data["many"][k], k))
            drawn.append(offset)
        drawn = np.array(drawn)
        if len(np.unique(drawn, axis=0)) == 1:
            return self.failed(f"all {len(drawn)} images of a batch were cut at the same offset "
                               f"{tuple(drawn[0])}: draw a random offset for every image "
                               "(torch.randint(..., (N,)))")
        for axis, direction in ((0, "vertical"), (1, "horizontal")):
            seen = set(drawn[:, axis].tolist())
            if 2 * p not in seen and seen <= set(range(2 * p)):
                return self.failed(f"over {len(drawn)} images the {direction} offset never reaches "
                                   f"{2 * p}: the upper bound of torch.randint is exclusive, draw "
                                   f"from randint(0, 2 * padding + 1)")
            if len(seen) < 2 * p + 1:
                return self.failed(f"over {len(drawn)} images the {direction} offsets take only "
                                   f"the values {sorted(seen)}; expected every value in "
                                   f"0..{2 * p} (the digit may shift by up to {p} pixels)")
        return self.passed(f"every crop is a window of the zero-padded image, "
                           f"{len(set(offsets))} different offsets over {n} images")

    def _not_a_window(self, out, image, k):
        p = self.padding
        where = f"image {k} of the output"
        for mode, name in (("reflect", "reflection"), ("edge", "replication of the border"),
                           ("wrap", "wrap-around")):
            if p and p < min(image.shape[1:]) and _offset(out, image, p, mode) is not None:
                return (f"{where} is a window of the image padded by {name}: pad with zeros "
                        "(F.pad's default) so that the digit is shifted and zeros enter")
        if p and _offset(out, image, 2 * p) is not None:
            return (f"{where} is shifted by more than {p} pixels: the offsets must lie in "
                    f"0..{2 * p} of the padded image")
        channel_offsets = [_offset(out[ch:ch + 1], image[ch:ch + 1], p) for ch in range(len(image))]
        if len(image) > 1 and all(o is not None for o in channel_offsets):
            return (f"the channels of {where} are cut at different offsets "
                    f"{channel_offsets}: use one offset per image for all its channels")
        if p and np.all(out > 0):
            return (f"{where} has no zeros at all although a shift brings zero padding in: pad "
                    "with zeros before cutting the window")
        return (f"{where} is not a window of the zero-padded image (shifted by at most {p} "
                "pixels in each direction)")


check_random_crop = RandomCropCheck.function("check_random_crop", "random_crop")


# ----------------------------------------------------------------------------- rotation

def _moments(images: np.ndarray):
    """Mass, centre (row, col) and orientation in degrees of images (N, H, W)."""
    n, h, w = images.shape
    rows, cols = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    mass = images.sum(axis=(1, 2))
    safe = np.where(np.abs(mass) > 1e-12, mass, 1.0)
    r = (images * rows).sum(axis=(1, 2)) / safe
    c = (images * cols).sum(axis=(1, 2)) / safe
    mu20 = (images * (cols - c[:, None, None]) ** 2).sum(axis=(1, 2)) / safe
    mu02 = (images * (rows - r[:, None, None]) ** 2).sum(axis=(1, 2)) / safe
    mu11 = (images * (cols - c[:, None, None]) * (rows - r[:, None, None])).sum(axis=(1, 2)) / safe
    angle = 0.5 * np.degrees(np.arctan2(2 * mu11, mu20 - mu02))
    return mass, r, c, angle


class RandomRotationCheck(Check):
    """``random_rotation(x, max_degrees)`` on x float32 (n_images, 1, H, W), every image the same
    elongated blob: each output image is the blob rotated about the centre by its own angle
    in [-max_degrees, max_degrees] (measured from image moments), its mass kept."""

    kind = "random_rotation"
    collects = "the rotated images of a seeded elongated blob"
    compares_with = "the blob's orientation measured from each image, within max_degrees"

    def __init__(self, n_images=16, size=(28, 28), max_degrees=10, seed=0, name=None, points=1.0):
        self.n_images = int(n_images)
        self.size = tuple(int(n) for n in size)
        self.max_degrees = float(max_degrees)
        super().__init__(name or f"random_rotation of {self.n_images} images by up to "
                                 f"±{self.max_degrees:g} degrees", points, seed)

    def inputs(self):
        """An elongated Gaussian blob at a random orientation, repeated: x (N, 1, H, W)."""
        rng = self.rng("blob")
        h, w = self.size
        yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        phi = math.radians(rng.uniform(-30, 30))
        u = xx * math.cos(phi) + yy * math.sin(phi)
        v = -xx * math.sin(phi) + yy * math.cos(phi)
        a, b = rng.uniform(0.45, 0.55), rng.uniform(0.18, 0.24)
        blob = np.exp(-((u / a) ** 2 + (v / b) ** 2)).astype(np.float32)
        return {"x": np.broadcast_to(blob, (self.n_images, 1, h, w)).copy()}

    def collect(self, random_rotation):
        x = self.inputs()["x"]
        what = f"random_rotation(x, {self.max_degrees:g})"
        return {"out": _call_on(random_rotation, x, self.max_degrees, self.seed, what)}

    def verdict(self, ev):
        x = self.inputs()["x"].astype(np.float64)
        m = self.max_degrees
        record = returned(ev, "out")
        out = numeric(record.get("array"))
        if out is None:
            return self.failed("random_rotation did not return a tensor of numbers")
        if record.get("kind") != "tensor":
            return self.failed(f"random_rotation returned a {record.get('kind')}, expected a "
                               "torch tensor")
        if out.shape != x.shape:
            return self.failed(f"random_rotation returned shape {out.shape} for x of shape "
                               f"{x.shape}; expected the same shape")
        if not np.isfinite(out).all():
            return self.failed("random_rotation returned NaN or inf")
        if m == 0:
            worst = float(np.abs(out - x).max())
            if worst > 1e-4:
                return self.failed(f"random_rotation(x, 0) changed the images (by up to "
                                   f"{worst:.3g}): an angle of 0 must give the images back")
            return self.passed("a range of 0 degrees leaves the images unchanged")
        mass0, r0, c0, angle0 = _moments(x[:, 0])
        mass, r, c, angle = _moments(out[:, 0])
        ratio = mass / mass0
        k = int(np.argmax(np.abs(ratio - 1)))
        if abs(ratio[k] - 1) > 0.05:
            return self.failed(f"the total intensity of image {k} changed by "
                               f"{100 * (ratio[k] - 1):+.0f}% for a blob well inside the image: a "
                               "rotation only moves pixels (no rescaling of the values)")
        shift = np.hypot(r - r0, c - c0)
        if shift.max() > 1.0:
            return self.failed(f"the centre of image {int(np.argmax(shift))} moved by "
                               f"{shift.max():.1f} pixels: rotate about the image centre "
                               "(affine_grid's coordinates have the centre at 0, translation 0)")
        theta = (angle - angle0 + 90) % 180 - 90  # orientation is defined modulo 180 degrees
        largest = float(np.abs(theta).max())
        tolerance = 1.0 + 0.05 * m
        if m < 80 and largest > m + tolerance:
            if largest > 3 * m:
                return self.failed(f"images were rotated by up to {largest:.0f} degrees for a "
                                   f"range of ±{m:g}: the angle went into cos/sin in degrees; "
                                   "convert it to radians (math.radians(max_degrees))")
            return self.failed(f"images were rotated by up to {largest:.1f} degrees, beyond the "
                               f"range ±{m:g}")
        if self.n_images >= 4 and np.allclose(out, out[:1], atol=1e-6):
            return self.failed(f"all {self.n_images} images were rotated by the same angle "
                               f"({theta.mean():+.1f} degrees): draw one angle per image "
                               "(torch.rand(N)), and build one matrix per image")
        if self.n_images >= 16 and m >= 2 and largest < m / 3:
            hint = ""
            if largest < m / 20:
                hint = " (was the range converted to radians twice?)"
            return self.failed(f"the largest rotation is {largest:.2f} degrees, expected angles "
                               f"spread over ±{m:g} degrees{hint}")
        if self.n_images >= 16 and m >= 2 and (np.all(theta > -0.2) or np.all(theta < 0.2)):
            return self.failed(f"all images were rotated in the same direction (angles from "
                               f"{theta.min():+.1f} to {theta.max():+.1f} degrees): draw the angle "
                               f"uniformly from [-{m:g}, {m:g}], e.g. (2 * torch.rand(N) - 1) * "
                               "max_degrees")
        return self.passed(f"{self.n_images} images rotated by their own angles "
                           f"({theta.min():+.1f} to {theta.max():+.1f} degrees), mass and centre "
                           "kept")


check_random_rotation = RandomRotationCheck.function("check_random_rotation", "random_rotation")
