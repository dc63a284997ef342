"""Pre-processing checks: A1's ``pixel_statistics`` and flat ``preprocess`` (MNIST), A4's
channels-first ``preprocess`` (CIFAR-10).

Inputs are random uint8 images; each judge knows the usual wrong versions (no scaling,
channels last, another channel's statistics...) and names the one the result matches.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from ..convert import evidence_array, number, to_array
from ..judging import first_difference, same


def _images(rng, shape) -> np.ndarray:
    return rng.integers(0, 256, size=shape).astype(np.uint8)


# ----------------------------------------------------------------------------- A1

class PixelStatisticsCheck(Check):
    """``pixel_statistics(images)``: images uint8 (N, 28, 28) -> (mean, std), two floats over
    all pixels scaled to [0, 1]."""

    kind = "pixel_statistics"
    collects = "the (mean, std) returned on seeded uint8 images"
    compares_with = "the mean and std of the same pixels scaled to [0, 1]"

    def __init__(self, n_images=5, seed=0, name=None, points=1.0):
        super().__init__(name or "pixel_statistics", points, seed)
        self.n_images = int(n_images)

    def inputs(self):
        return {"images": _images(self.rng(), (self.n_images, 28, 28))}

    def collect(self, pixel_statistics):
        result = call_student(pixel_statistics, self.inputs()["images"].copy(),
                              what="pixel_statistics(images)")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise StudentError(f"pixel_statistics must return a pair (mean, std), got "
                               f"{type(result).__name__}")
        return {"mean": number(result[0], "the mean (one number over all pixels)"),
                "std": number(result[1], "the std (one number over all pixels)")}

    def verdict(self, ev):
        x = self.inputs()["images"].astype(np.float64) / 255
        mean, std = float(ev["mean"]), float(ev["std"])
        want_mean, want_std = float(x.mean()), float(x.std())
        close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))  # noqa: E731
        if close(mean, want_mean) and close(std, want_std):
            return self.passed()
        if close(mean, want_std) and close(std, want_mean):
            return self.failed("mean and std are swapped: return (mean, std)")
        if close(mean, 255 * want_mean):
            return self.failed(f"the mean {mean:.4g} is that of the raw pixels: scale them to "
                               "[0, 1] (divide by 255) first")
        if close(mean, want_mean) and close(std, float(x.std(ddof=1))):
            return self.failed("the std uses ddof=1: the population std (np.std's default, "
                               "ddof=0) is asked")
        if close(mean, want_mean) and close(std, want_std ** 2):
            return self.failed("the second number is the variance: return the standard deviation")
        return self.failed(f"got (mean {mean:.6g}, std {std:.6g}), expected ({want_mean:.6g}, "
                           f"{want_std:.6g}) over all pixels scaled to [0, 1]")


check_pixel_statistics = PixelStatisticsCheck.function(
    "check_pixel_statistics", "pixel_statistics")


class FlatPreprocessCheck(Check):
    """``preprocess(images, mean, std)``: uint8 (N, 28, 28) -> float (N, 784),
    (images / 255 - mean) / std, one row per image."""

    kind = "flat_preprocess"
    collects = "the preprocessed array of seeded uint8 images"
    compares_with = "(images / 255 - mean) / std flattened per image"

    def __init__(self, n_images=5, seed=0, name=None, points=1.0):
        super().__init__(name or "preprocess (flat, standardised)", points, seed)
        self.n_images = int(n_images)

    def inputs(self):
        rng = self.rng()
        return {"images": _images(rng, (self.n_images, 28, 28)),
                "mean": float(rng.uniform(0.1, 0.4)), "std": float(rng.uniform(0.2, 0.5))}

    def collect(self, preprocess):
        inp = self.inputs()
        out = call_student(preprocess, inp["images"].copy(), inp["mean"], inp["std"],
                           what="preprocess(images, mean, std)")
        return {"x": to_array(out, "preprocess's result", np.float64)}

    def verdict(self, ev):
        inp = self.inputs()
        images, m, s = inp["images"].astype(np.float64), inp["mean"], inp["std"]
        n = len(images)
        x = evidence_array(ev["x"], "x")
        if x.shape != (n, 784):
            hint = ": flatten every image to one row of 784 features" if x.shape[1:] == (28, 28) else ""
            return self.failed(f"preprocess returned shape {x.shape}, expected (N, 784) = "
                               f"{(n, 784)}{hint}")
        want = (images.reshape(n, -1) / 255 - m) / s
        if same(x, want, 1e-6):
            return self.passed()
        mistakes = {
            "the pixels are not scaled to [0, 1]: (images / 255 - mean) / std":
                (images.reshape(n, -1) - m) / s,
            "mind the parentheses: (images / 255 - mean) / std, not images / 255 - mean / std":
                images.reshape(n, -1) / 255 - m / s,
            "the images were flattened column by column: reshape(N, -1) keeps the rows in order":
                (images.transpose(0, 2, 1).reshape(n, -1) / 255 - m) / s,
            "mean and std are swapped": (images.reshape(n, -1) / 255 - s) / m,
        }
        mistakes.update(own_statistics(images.reshape(n, -1) / 255))
        for message, wrong in mistakes.items():
            if same(x, wrong, 1e-6):
                return self.failed(f"preprocess is wrong: {message}")
        return self.failed(f"preprocess is wrong: {first_difference(x, want, 1e-6)}")


check_flat_preprocess = FlatPreprocessCheck.function("check_flat_preprocess", "preprocess")


def own_statistics(x: np.ndarray) -> dict:
    """{message: result} of standardising the scaled pixels ``x`` (N, 784) with statistics
    of their own instead of the ``mean`` and ``std`` passed in (the training set's)."""
    ignored = ("the mean and std passed in are ignored: every split is then standardised "
               "with {}, so validation and test are transformed differently from the training "
               "data; subtract the training mean and divide by the training std given as "
               "arguments")
    return {ignored.format("its own statistics (those of the images given)"):
            (x - x.mean()) / x.std(),
            ignored.format("each image's own statistics"):
            (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)}


# ----------------------------------------------------------------------------- A4

def _own_statistics(first: np.ndarray) -> dict:
    """What standardising with the given images' own statistics gives (first: x / 255,
    (N, C, H, W)): every split then gets other numbers than the training split's."""
    own = ("standardised with the statistics of the images it was given, so each split gets "
           "its own: use the training split's constants (data.CIFAR10_MEAN, data.CIFAR10_STD)")
    axes = (0, 2, 3)
    found = {}
    for ddof in (0, 1):
        std = first.std(axis=axes, ddof=ddof)[:, None, None]
        if np.all(std > 0):
            found[f"{own} (per channel, ddof={ddof})"] = (
                (first - first.mean(axis=axes)[:, None, None]) / std)
    if first.std() > 0:
        found[f"{own} (one mean and std over all channels)"] = (first - first.mean()) / first.std()
    return found


class ImagePreprocessCheck(Check):
    """``preprocess(images)``: uint8 (N, 32, 32, C) -> float32 (N, C, 32, 32),
    (x / 255 - mean[c]) / std[c] with the kit's per-channel statistics of ``dataset``."""

    kind = "image_preprocess"
    collects = "the preprocessed array and its dtype on seeded uint8 images"
    compares_with = "the kit's per-channel standardisation of the dataset, NCHW float32"

    def __init__(self, dataset="cifar10", n_images=3, seed=0, name=None, points=1.0):
        super().__init__(name or f"preprocess ({dataset}, channels first)", points, seed)
        self.dataset, self.n_images = dataset, int(n_images)

    def _statistics(self):
        from ... import data

        key = self.dataset.upper()
        return (np.array(getattr(data, f"{key}_MEAN"), dtype=np.float64).reshape(-1),
                np.array(getattr(data, f"{key}_STD"), dtype=np.float64).reshape(-1))

    def inputs(self):
        channels = len(self._statistics()[0])
        return {"images": _images(self.rng(), (self.n_images, 32, 32, channels))}

    def collect(self, preprocess):
        out = call_student(preprocess, self.inputs()["images"].copy(), what="preprocess(images)")
        x = to_array(out, "preprocess's result", dtype=None)
        return {"x": x.astype(np.float64), "dtype": str(x.dtype)}

    def verdict(self, ev):
        images = self.inputs()["images"].astype(np.float64)
        mean, std = self._statistics()
        n, h, w, c = images.shape
        x = evidence_array(ev["x"], "x")
        first = images.transpose(0, 3, 1, 2) / 255
        want = (first - mean[:, None, None]) / std[:, None, None]
        if x.shape == (n, h, w, c) and x.shape != want.shape:
            return self.failed(f"preprocess returned channels last {x.shape}: move the channels "
                               f"first with transpose(0, 3, 1, 2) to get {want.shape}")
        if x.shape != want.shape:
            return self.failed(f"preprocess returned shape {x.shape}, expected (N, C, H, W) = "
                               f"{want.shape}")
        if not same(x, want, 1e-5):
            mistakes = {
                "reshape does not move the channels: use transpose(0, 3, 1, 2)":
                    (images.reshape(n, c, h, w) / 255 - mean[:, None, None]) / std[:, None, None],
                "the pixels are not scaled to [0, 1] before normalising":
                    (first * 255 - mean[:, None, None]) / std[:, None, None],
                "channel c is normalised with another channel's statistics (reversed order?): "
                "use mean[c] and std[c]": (first - mean[::-1, None, None]) / std[::-1, None, None],
                "every channel is normalised with the same numbers: use the per-channel mean[c] "
                "and std[c]": (first - mean.mean()) / std.mean(),
                "scaled to [0, 1] but not normalised: subtract mean[c], divide by std[c]": first,
                **_own_statistics(first),
            }
            for message, wrong in mistakes.items():
                if same(x, wrong, 1e-5):
                    return self.failed(f"preprocess is wrong: {message}")
            return self.failed(f"preprocess is wrong: {first_difference(x, want, 1e-5)}")
        if ev["dtype"] != "float32":
            return self.failed(f"preprocess returned {ev['dtype']}: return float32 "
                               "(.astype(np.float32)); the network trains twice as fast")
        return self.passed()


check_image_preprocess = ImagePreprocessCheck.function("check_image_preprocess", "preprocess")
