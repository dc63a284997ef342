"""A batched random crop (zero padding) and horizontal flip, judged image by image.

``check_random_crop_flip(RandomCropFlip, padding, p_flip, shape)`` builds the student's
augmentation with the given settings, applies it to nonce-derived images x float32 (N, C,
H, W) under a seeded generator, and records the output. The judge explains every output
image as an H x W window of the zero-padded input at some offset (top, left), flipped
left-right or not, and then looks at the offsets (every value 0..2p reached, not one offset
for the whole batch) and at the flip rate (binomial bounds around N * p_flip).
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Check, StudentError, call_student
from .torch_helpers import preserved_rng

TOLERANCE = 1e-6


def _windows_matching(padded: np.ndarray, out: np.ndarray) -> np.ndarray:
    """match[n, top, left]: out[n] equals the H x W window of padded[n] at (top, left).

    padded (N, C, H + 2p, W + 2p), out (N, C, H, W) -> bool (N, 2p + 1, 2p + 1)."""
    n, _, h, w = out.shape
    rows, cols = padded.shape[2] - h + 1, padded.shape[3] - w + 1
    match = np.zeros((n, rows, cols), dtype=bool)
    for top in range(rows):
        for left in range(cols):
            window = padded[:, :, top:top + h, left:left + w]
            match[:, top, left] = (np.abs(window - out) <= TOLERANCE).reshape(n, -1).all(axis=1)
    return match


def explain(x: np.ndarray, out: np.ndarray, padding: int, mode: str = "constant") -> dict:
    """Per image: {"found" (N,) bool, "top", "left" (N,) int, "flipped" (N,) bool} when out[n]
    is a window of x[n] padded by ``padding`` (np.pad ``mode``), flipped on the last axis or not."""
    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    padded = np.pad(x, pad, mode=mode)
    plain = _windows_matching(padded, out)
    mirrored = _windows_matching(padded, out[..., ::-1])
    found = plain.any(axis=(1, 2)) | mirrored.any(axis=(1, 2))
    flipped = ~plain.any(axis=(1, 2)) & mirrored.any(axis=(1, 2))
    either = np.where(flipped[:, None, None], mirrored, plain).reshape(len(x), -1)
    index = either.argmax(axis=1)
    top, left = np.divmod(index, plain.shape[2])
    return {"found": found, "top": top, "left": left, "flipped": flipped}


class RandomCropFlipCheck(Check):
    """``augmentation_class(padding=..., p_flip=...)`` applied to random images of ``shape``:
    every output image must be a window of its zero-padded input (offsets 0..2p, per image),
    flipped left-right with probability ``p_flip``, and the input must stay unchanged."""

    kind = "random_crop_flip"
    collects = "the augmented images of seeded inputs, and whether the input changed"
    compares_with = "windows of the zero-padded inputs, flipped at about rate p_flip"

    def __init__(self, padding=4, p_flip=0.5, shape=(64, 3, 32, 32), seed=0, name=None,
                 points=1.0):
        super().__init__(name or f"RandomCropFlip(padding={padding}, p_flip={p_flip}) on "
                         f"images of shape {tuple(shape)}", points, seed)
        self.padding, self.p_flip = int(padding), float(p_flip)
        self.shape = tuple(int(s) for s in shape)

    def inputs(self):
        rng = self.rng("x")
        return {"x": rng.normal(0, 1, self.shape).astype(np.float32),
                "torch_seed": int(rng.integers(2 ** 31))}

    def collect(self, augmentation_class):
        import torch

        given = self.inputs()
        x = torch.from_numpy(given["x"].copy())
        augment = call_student(lambda: augmentation_class(padding=self.padding, p_flip=self.p_flip),
                               what=f"RandomCropFlip(padding={self.padding}, p_flip={self.p_flip})")
        with preserved_rng(given["torch_seed"]):
            out = call_student(augment, x, what="calling the augmentation on a batch")
        if not isinstance(out, torch.Tensor):
            raise StudentError(f"the augmentation returned a {type(out).__name__}, expected a tensor")
        return {"out": out.detach().cpu().float().numpy(),
                "input_changed": not np.array_equal(x.numpy(), given["x"])}

    def verdict(self, ev):
        x = self.inputs()["x"]
        out = np.asarray(ev.get("out"), dtype=np.float32)
        n, p = len(x), self.padding
        if out.shape != x.shape:
            return self.failed(f"the output has shape {out.shape}, expected the input's {x.shape}: "
                               "pad, then cut an H x W window back out")
        if ev.get("input_changed") is not False:
            return self.failed("the augmentation changed its input tensor: work on a new tensor "
                               "(F.pad and indexing make copies; avoid in-place operations on x)")
        how = explain(x, out, p)
        missing = int((~how["found"]).sum())
        if missing:
            return self.failed(self._unexplained(x, out, missing))
        offsets = np.stack([how["top"], how["left"]], axis=1)
        if p > 0 and n >= 16 and len({tuple(o) for o in offsets}) == 1:
            return self.failed(f"all {n} images were cut at the same offset {tuple(offsets[0])}: "
                               "draw the offsets per image (torch.randint(..., (N,)))")
        if p > 0 and (offsets.max() < 2 * p or offsets.min() > 0):
            return self.failed(f"the offsets range over {offsets.min()}..{offsets.max()} in {n} "
                               f"images; expected 0..{2 * p} (2 * padding) in each direction: the "
                               "upper bound of torch.randint is exclusive, use 2 * padding + 1")
        return self._flip_rate(int(how["flipped"].sum()), n) or self.passed(
            f"every image is a window of the zero-padded input; {int(how['flipped'].sum())} of "
            f"{n} flipped (p_flip={self.p_flip})")

    def _unexplained(self, x, out, missing):
        text = (f"{missing} of {len(x)} output images are not an H x W window of the image padded "
                f"with {self.padding} zeros (flipped left-right or not)")
        p = self.padding
        plain = explain(x, out, p)["found"]
        alternatives = [
            ("reflect", lambda: explain(x, out, p, "reflect")["found"],
             ": they are windows of a reflect-padded image; pad with zeros"),
            ("edge", lambda: explain(x, out, p, "edge")["found"],
             ": they are windows of an edge-padded image; pad with zeros"),
            ("vertical", lambda: explain(x, out[:, :, ::-1, :], p)["found"],
             ": some are flipped upside down; flip the last axis (dims=(3,))"),
        ]
        for key, found, hint in alternatives:
            if key in ("reflect", "edge") and not p:
                continue
            if (plain | found()).all():
                return text + hint
        return text

    def _flip_rate(self, flipped, n):
        p = self.p_flip
        if p in (0.0, 1.0):
            want = int(p * n)
            if flipped != want:
                return self.failed(f"{flipped} of {n} images flipped with p_flip={p:g}; expected "
                                   f"{want}" + (": flip with probability p_flip "
                                                "(torch.rand(N) < p_flip)" if flipped == n - want else ""))
            return None
        if flipped in (0, n) and n >= 16:
            return self.failed(f"{flipped} of {n} images flipped: one flip decision for the whole "
                               "batch; draw one decision per image")
        slack = 4.5 * math.sqrt(n * p * (1 - p)) + 1
        if abs(flipped - n * p) > slack:
            hint = ""
            if abs(flipped - n * (1 - p)) <= slack:
                hint = ": that is the rate 1 - p_flip; flip when torch.rand(N) < p_flip"
            return self.failed(f"{flipped} of {n} images flipped, expected about {n * p:.0f} "
                               f"(p_flip={p:g}){hint}")
        return None


check_random_crop_flip = RandomCropFlipCheck.function(
    "check_random_crop_flip", "augmentation_class")
