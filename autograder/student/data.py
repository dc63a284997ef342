"""The one way notebooks, checks and the grader get MNIST and CIFAR-10.

Usage::

    from autograder.student import data
    train = data.mnist("train")          # torch Dataset of (uint8 image (1,28,28), label)
    X, y = data.mnist_arrays("test")     # NumPy: X uint8 (10000, 28, 28), y int64 (10000,)

Where the files live
--------------------
``AUTOGRADER_DATA`` names the data root, laid out as torchvision expects::

    MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}

When it is unset the root is ``~/.cache/autograder/data``. If the files are not there
they are downloaded with torchvision, unless ``AUTOGRADER_OFFLINE=1``, in which case a
``DataNotFoundError`` lists the files it looked for.

Integrity
---------
Files are checked by *content*, not by file MD5: the decoded uint8 pixels and labels of
every source file are hashed and compared with the constants below (the CIFAR-10 batches
some mirrors ship lack the ``filenames`` key, so their file MD5 differs while their
content is exact). A verified decode is cached as ``.npy`` under ``AUTOGRADER_CACHE``
(default ``~/.cache/autograder/decoded``), keyed by the source files' size and mtime, so
later loads are a memory map.

Splits (fixed, identical on every machine)
------------------------------------------
* MNIST: ``train`` 48,000 and ``val`` 12,000 from the official 60,000 training images,
  ``test`` the official 10,000.
* CIFAR-10: ``train`` 45,000 and ``val`` 5,000 from the official 50,000, ``test`` the
  official 10,000.

The validation indices are chosen by hashing each index with a fixed salt (not by a
random generator whose stream could change between library versions), then kept in
ascending order.
"""
from __future__ import annotations

import functools
import hashlib

import numpy as np

from .data_files import (DataError, DataNotFoundError, cache_dir, data_root, offline,
                         official as _official)

__all__ = ["DataError", "DataNotFoundError", "cache_dir", "data_root", "offline",
           "MNIST_MEAN", "MNIST_STD", "CIFAR10_MEAN", "CIFAR10_STD", "MNIST_CLASSES",
           "CIFAR10_CLASSES", "SPLITS", "split_indices", "mnist_arrays", "cifar10_arrays",
           "TensorImageDataset", "mnist", "cifar10", "verify_all"]

# Normalisation constants. MNIST's are the customary ones (full official training set).
# CIFAR-10's are the per-channel mean/std of the kit's 45,000-image training split,
# on pixels scaled to [0, 1]; tests/test_data.py recomputes them.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
CIFAR10_MEAN = (0.4912, 0.4819, 0.4462)
CIFAR10_STD = (0.2469, 0.2434, 0.2615)

MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

SPLITS = ("train", "val", "test")
MNIST_VAL_SIZE = 12_000
CIFAR10_VAL_SIZE = 5_000

# -------------------------------------------------------------------------- splits

def _validation_indices(n: int, n_val: int, salt: str) -> np.ndarray:
    """A fixed, library-independent choice of ``n_val`` of ``range(n)``, sorted."""
    keys = np.array([int.from_bytes(hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8)
                                    .digest(), "big") for i in range(n)], dtype=np.uint64)
    return np.sort(np.argsort(keys, kind="stable")[:n_val])


@functools.lru_cache(maxsize=None)
def split_indices(dataset: str, split: str) -> np.ndarray:
    """Indices into the official training set for ``split`` ('train' or 'val').

    Output: int64 array, ascending. 'train' and 'val' are disjoint and cover all of it.
    """
    n, n_val = {"mnist": (60_000, MNIST_VAL_SIZE), "cifar10": (50_000, CIFAR10_VAL_SIZE)}[dataset]
    val = _validation_indices(n, n_val, salt=f"autograder-{dataset}-val")
    if split == "val":
        return val
    if split == "train":
        mask = np.ones(n, dtype=bool)
        mask[val] = False
        return np.flatnonzero(mask)
    raise ValueError(f"no split {split!r}: choose one of {SPLITS}")


def _arrays(dataset: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {SPLITS}")
    if split == "test":
        images, labels = _official(dataset, "test", str(data_root()))
        return np.asarray(images), np.asarray(labels).astype(np.int64)
    images, labels = _official(dataset, "train", str(data_root()))
    index = split_indices(dataset, split)
    return images[index], labels[index].astype(np.int64)


def mnist_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` as NumPy arrays.

    Output: images uint8 (N, 28, 28) in [0, 255]; labels int64 (N,).
    N is 48,000 (train), 12,000 (val) or 10,000 (test).
    """
    return _arrays("mnist", split)


def cifar10_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 ``split`` as NumPy arrays.

    Output: images uint8 (N, 32, 32, 3) in [0, 255]; labels int64 (N,).
    N is 45,000 (train), 5,000 (val) or 10,000 (test).
    """
    return _arrays("cifar10", split)


# ------------------------------------------------------------------------ datasets

class TensorImageDataset:
    """A map-style torch dataset over decoded uint8 images.

    Item: ``(image, label)`` where image is ``transform(uint8 tensor (C, H, W))``
    (the raw uint8 tensor when ``transform`` is None) and label an int.
    ``data`` (uint8 tensor (N, C, H, W)) and ``targets`` (int64 tensor (N,)) are exposed
    for fast, whole-tensor work. Subclasses torch's Dataset when torch is importable.
    """

    def __init__(self, images_nchw, labels, classes, transform=None, name=""):
        self.data = images_nchw
        self.targets = labels
        self.classes = list(classes)
        self.transform = transform
        self.name = name

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index):
        image = self.data[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name}, {len(self)} items, "
                f"image shape {tuple(self.data.shape[1:])}, transform={self.transform})")


def _torch_dataset(images_nhwc: np.ndarray, labels: np.ndarray, classes, transform, name):
    import torch
    from torch.utils.data import Dataset

    cls = type("TensorImageDataset", (TensorImageDataset, Dataset), {})
    images = torch.from_numpy(np.array(images_nhwc))  # a writable copy, not the memory map
    images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2).contiguous()
    return cls(images, torch.from_numpy(labels), classes, transform, name)


def mnist(split: str, transform=None):
    """MNIST ``split`` ('train', 'val', 'test') as a torch Dataset.

    Items are ``(transform(uint8 tensor (1, 28, 28)), label)``. Use torchvision
    ``transforms.v2`` (they accept tensors), e.g. ``ToDtype(float32, scale=True)`` then
    ``Normalize((MNIST_MEAN,), (MNIST_STD,))``.
    """
    images, labels = mnist_arrays(split)
    return _torch_dataset(images, labels, MNIST_CLASSES, transform, f"mnist/{split}")


def cifar10(split: str, transform=None):
    """CIFAR-10 ``split`` ('train', 'val', 'test') as a torch Dataset.

    Items are ``(transform(uint8 tensor (3, 32, 32)), label)``.
    """
    images, labels = cifar10_arrays(split)
    return _torch_dataset(images, labels, CIFAR10_CLASSES, transform, f"cifar10/{split}")


def verify_all() -> dict[str, dict[str, int]]:
    """Load and verify every split of both datasets. Output: {dataset/split: {class: count}}."""
    found = {}
    for name, load in (("mnist", mnist_arrays), ("cifar10", cifar10_arrays)):
        for split in SPLITS:
            _, labels = load(split)
            found[f"{name}/{split}"] = dict(enumerate(np.bincount(labels, minlength=10).tolist()))
    return found
