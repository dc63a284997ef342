"""Checks on datasets and loaders: the train/validation split (sizes, no test image, no
overlap) and augmentation that is random for training and absent for evaluation.

The images are identified by fingerprints of their bytes, so a split is checked against the
kit's own copy of the data whatever dataset classes the student used.
"""
from __future__ import annotations

import functools
import hashlib

import numpy as np

from ..convert import number, to_array
from ..core import Check, StudentError, call_student
from .torch_helpers import preserved_rng

# ----------------------------------------------------------------------------- helpers


def _is_loader(obj) -> bool:
    return hasattr(obj, "dataset") and hasattr(obj, "collate_fn") and not hasattr(obj, "__getitem__")


def _canonical_images(images: np.ndarray) -> np.ndarray:
    """Stored images in one layout: channels last, a single channel squeezed (N, H, W[, C])."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return np.ascontiguousarray(images)


def fingerprints(images: np.ndarray) -> np.ndarray:
    """One uint64 hash per image (of its bytes in the canonical layout)."""
    images = _canonical_images(images)
    if images.dtype != np.uint8:
        images = images.astype(np.float32)
    rows = images.reshape(len(images), -1)
    return np.array([int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "big")
                     for row in rows], dtype=np.uint64)


def _stored_images(dataset, what: str) -> np.ndarray:
    """The images a dataset holds before any transform, as a NumPy array (N, ...)."""
    from torch.utils.data import ConcatDataset, Subset, TensorDataset

    if isinstance(dataset, Subset):
        return _stored_images(dataset.dataset, what)[np.asarray(dataset.indices, dtype=np.int64)]
    if isinstance(dataset, ConcatDataset):
        return np.concatenate([_stored_images(d, what) for d in dataset.datasets])
    if isinstance(dataset, TensorDataset):
        return to_array(dataset.tensors[0], f"the images of the {what}", dtype=None)
    stored = getattr(dataset, "data", None)
    try:
        n = len(dataset)
    except TypeError:
        raise StudentError(f"the {what} has no length: pass a Dataset or a DataLoader") from None
    if stored is not None and hasattr(stored, "__len__") and len(stored) == n:
        return to_array(stored, f"the images of the {what}", dtype=None)
    # Any other dataset: read its items (transforms included).
    items = [call_student(dataset.__getitem__, i, what=f"{what}[{i}]") for i in range(n)]
    return np.stack([to_array(item[0] if isinstance(item, (tuple, list)) else item,
                              f"an image of the {what}", dtype=None) for item in items])


def _draw(obj, indices, what: str):
    """Items ``indices`` of a dataset or loader, as the training code would see them.

    For a DataLoader the items go through its ``collate_fn`` (where batched augmentation
    may happen). Output: x float32 (k, ...), y int64 (k,).
    """
    import torch
    from torch.utils.data import DataLoader, Subset

    indices = [int(i) for i in indices]
    if _is_loader(obj):
        loader = DataLoader(Subset(obj.dataset, indices), batch_size=len(indices), shuffle=False,
                            num_workers=0, collate_fn=obj.collate_fn)
        batch = call_student(lambda: next(iter(loader)), what=f"drawing a batch from the {what}")
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise StudentError(f"a batch of the {what} is a {type(batch).__name__}, "
                               "expected (x, y)")
        x, y = batch[0], batch[1]
    else:
        items = [call_student(obj.__getitem__, i, what=f"{what}[{i}]") for i in indices]
        if not all(isinstance(item, (tuple, list)) and len(item) >= 2 for item in items):
            raise StudentError(f"items of the {what} should be (image, label) pairs")
        x = np.stack([to_array(item[0], f"an image of the {what}", dtype=None) for item in items])
        y = np.array([int(number(item[1], f"a label of the {what}")) for item in items])
    x = to_array(x.float() if isinstance(x, torch.Tensor) else x, f"the images of the {what}",
                 dtype=np.float32)
    return x, to_array(y, f"the labels of the {what}", dtype=np.int64).reshape(-1)


# ----------------------------------------------------------------------------- split

@functools.lru_cache(maxsize=None)
def official_fingerprints(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Fingerprints of the official training images (train + val splits) and of the test set."""
    from ... import data

    load = {"mnist": data.mnist_arrays, "cifar10": data.cifar10_arrays}[dataset]
    official = np.concatenate([fingerprints(load("train")[0]), fingerprints(load("val")[0])])
    return official, fingerprints(load("test")[0])


class SplitCheck(Check):
    """Sizes and disjointness of a train/validation split.

    train, val: datasets or DataLoaders (their ``.dataset`` is used); the images they store
    (before transforms: ``Subset``/``TensorDataset``/``.data`` are looked through) are hashed.
    expected_sizes: (n_train, n_val). dataset: "mnist" or "cifar10" to also check that every
    image is an official training image and none comes from the test set.
    """

    kind = "split"
    collects = "the sizes of both sets and hashes of the images they store"
    compares_with = "the expected sizes and disjoint hashes"

    def __init__(self, expected_sizes, dataset=None, seed=0, name=None, points=1.0):
        super().__init__(name or "train/validation split", points, seed)
        self.expected = tuple(int(n) for n in expected_sizes)
        self.dataset = dataset

    def collect(self, student):
        train, val = student
        evidence = {}
        for key, obj in (("train", train), ("val", val)):
            dataset = obj.dataset if _is_loader(obj) else obj
            images = _stored_images(dataset, f"{key} set")
            evidence[f"{key}_fp"] = fingerprints(images)
            evidence[f"{key}_uint8"] = bool(images.dtype == np.uint8)
        return evidence

    def verdict(self, ev):
        train_fp, val_fp = np.asarray(ev["train_fp"]), np.asarray(ev["val_fp"])
        sizes = (len(train_fp), len(val_fp))
        if sizes != self.expected:
            hint = ""
            if sizes == self.expected[::-1]:
                hint = ": training and validation sets are swapped"
            elif sizes[0] == sum(self.expected):
                hint = ": the training set is the whole training data, it was not split"
            for key, fp in (("validation", val_fp), ("training", train_fp)):
                if self.dataset and ev["train_uint8"] and ev["val_uint8"] and len(fp) \
                        and np.isin(fp, official_fingerprints(self.dataset)[1]).all():
                    hint = (f": the {key} set is drawn from the test set; split the official "
                            "training images and keep the test set for the final evaluation "
                            "only")
            return self.failed(f"the training set has {sizes[0]:,} items and the validation set "
                               f"{sizes[1]:,}; expected {self.expected[0]:,} and "
                               f"{self.expected[1]:,}{hint}")
        shared = np.intersect1d(train_fp, val_fp).size
        if shared:
            return self.failed(f"{shared:,} images are in both the training and the validation "
                               "set: the split must be disjoint (validation images must never "
                               "be trained on)")
        for key, fp in (("training", train_fp), ("validation", val_fp)):
            repeats = len(fp) - np.unique(fp).size
            if repeats and self.dataset:
                return self.failed(f"the {key} set holds {repeats:,} repeated images: draw the "
                                   "split without replacement (a permutation or random_split)")
        if self.dataset and ev["train_uint8"] and ev["val_uint8"]:
            official, test_fp = official_fingerprints(self.dataset)
            for key, fp in (("validation", val_fp), ("training", train_fp)):
                from_test = np.isin(fp, test_fp).sum()
                if from_test:
                    return self.failed(f"{from_test:,} {key} images come from the test set: split "
                                       "the official training images, keep the test set for the "
                                       "final evaluation only")
                unknown = (~np.isin(fp, official)).sum()
                if unknown:
                    return self.failed(f"{unknown:,} {key} images are not {self.dataset} training "
                                       "images")
        return self.passed(f"{sizes[0]:,} training and {sizes[1]:,} validation images, disjoint")


check_split = SplitCheck.function("check_split", "train", "val")


# ----------------------------------------------------------------------------- augmentation

class AugmentationCheck(Check):
    """Random augmentation on the training data, none on the evaluation data.

    train, evaluation: datasets (items are drawn with ``[i]``) or DataLoaders (items go through
    the loader's ``collate_fn``, so batched augmentation there is seen too). The same items
    are drawn twice: at least one training item must change, every evaluation item must stay
    identical, labels and shapes must stay, and both must be on the same scale.
    """

    kind = "augmentation"
    collects = "items drawn twice from the training and the evaluation data"
    compares_with = "that training items vary between draws and evaluation items do not"

    def __init__(self, n_items=16, seed=0, name=None, points=1.0):
        super().__init__(name or "augmentation on the training data only", points, seed)
        self.n_items = int(n_items)

    def collect(self, student):
        train, evaluation = student
        evidence = {}
        for key, obj, what in (("train", train, "training data"),
                               ("eval", evaluation, "evaluation data")):
            dataset = obj.dataset if _is_loader(obj) else obj
            n = len(dataset)
            k = min(self.n_items, n)
            indices = self.rng(key).choice(n, size=k, replace=False)
            draws = []
            for draw in range(2):
                with preserved_rng(int(self.rng(f"{key}{draw}").integers(2 ** 31))):
                    draws.append(_draw(obj, indices, what))
            evidence[f"{key}_x1"], evidence[f"{key}_y1"] = draws[0]
            evidence[f"{key}_x2"], evidence[f"{key}_y2"] = draws[1]
        return evidence

    def verdict(self, ev):
        x1, x2 = np.asarray(ev["train_x1"]), np.asarray(ev["train_x2"])
        e1, e2 = np.asarray(ev["eval_x1"]), np.asarray(ev["eval_x2"])
        if x1.shape != x2.shape or e1.shape != e2.shape:
            return self.failed("two draws of the same items have different shapes")
        if not (np.array_equal(ev["train_y1"], ev["train_y2"])
                and np.array_equal(ev["eval_y1"], ev["eval_y2"])):
            return self.failed("the labels of the same items differ between two draws: the "
                               "augmentation must not change the labels")
        if x1.shape[1:] != e1.shape[1:]:
            return self.failed(f"training inputs have shape {x1.shape[1:]} but evaluation inputs "
                               f"{e1.shape[1:]}: the augmentation must give back the original size "
                               "(random crop with padding, then the same size)")
        if not np.isfinite(x1).all() or not np.isfinite(e1).all():
            return self.failed("the inputs contain NaN or inf")
        if not np.array_equal(e1, e2):
            return self.failed("the evaluation data changes between two draws of the same item: "
                               "random augmentation is applied to the validation/test data; use "
                               "a transform without random operations there")
        changed = int(sum(not np.allclose(a, b, atol=1e-6) for a, b in zip(x1, x2)))
        if changed == 0:
            return self.failed("the training data gives identical inputs on two draws of the same "
                               f"{len(x1)} items: no random augmentation is applied to the training "
                               "set")
        train_std, eval_std = float(x1.std()), float(e1.std())
        ratio = train_std / max(eval_std, 1e-12)
        if not 0.5 <= ratio <= 2.0 or abs(float(x1.mean()) - float(e1.mean())) > 0.5 * max(train_std, eval_std):
            return self.failed(f"training and evaluation inputs are on different scales (mean "
                               f"{x1.mean():.3f} / {e1.mean():.3f}, std {train_std:.3f} / "
                               f"{eval_std:.3f}): apply the same normalisation to both")
        return self.passed(f"{changed}/{len(x1)} training items change between draws; "
                           "evaluation items are fixed")


check_augmentation = AugmentationCheck.function("check_augmentation", "train", "evaluation")
