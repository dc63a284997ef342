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
import gzip
import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

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

# sha256 of the decoded content: (pixels, labels) per source file.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train-labels-idx1-ubyte.gz": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "t10k-images-idx3-ubyte.gz": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "t10k-labels-idx1-ubyte.gz": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
CIFAR10_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
CIFAR10_SHA256 = {  # name: (pixels, labels)
    "data_batch_1": ("a50e8b48728e1667d682a807155c375279d5ae321fb12242c02e3104a6bc8b21",
                     "d829dbdf32167c9d7b3687cee66d92d80d46c441308b5aca0d11e8b69e27dac9"),
    "data_batch_2": ("0b825e5592c3b72ea18d6ec2ff5f5b19d33e41a75f5039054a9bb87be3cf69a0",
                     "5d18f7371ed35ea9ade77952fe958b0660a45cd6c8b8a8970030f21612cfd7e3"),
    "data_batch_3": ("c6ee1dd4601a69ec085d8ebf53ee6441775491a6839a0a9ae8fa198e88a3a429",
                     "32cf77b0ee2e790b1c4384d2d82e42dc1571b87e67f6da8f444b2725b2973f65"),
    "data_batch_4": ("1f6b6c799cff375a9f8fae2fac909d51ee09f38a6a60eebb9e8fec6f47ddc48f",
                     "d2815e3f8f656272864920fc0edde56b04ec9cf81bf397c0dd3069f4aea51aeb"),
    "data_batch_5": ("58e3bbf713e28357476a351d3a05d056372f94c681d04ca9d62a076fdf2a643b",
                     "2ddf3ab27d5d04409c94ce7b56849c243129c10de1058ae0bfe14c77e934800c"),
    "test_batch": ("177777c33ba79825320efa646ad04a94bdc3c80e4ebe3bd21724f8cdfd4b9d56",
                   "cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5"),
}


class DataError(RuntimeError):
    """A data file is missing, truncated or has the wrong content."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The data files are not where the kit looked, and it may not download them."""


# --------------------------------------------------------------------------- paths

def data_root() -> Path:
    """The data root: ``$AUTOGRADER_DATA`` or ``~/.cache/autograder/data``."""
    env = os.environ.get("AUTOGRADER_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "autograder" / "data"


def cache_dir() -> Path:
    """Where verified decodes are cached: ``$AUTOGRADER_CACHE`` or ``~/.cache/autograder/decoded``."""
    env = os.environ.get("AUTOGRADER_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "autograder" / "decoded"


def offline() -> bool:
    return os.environ.get("AUTOGRADER_OFFLINE", "") not in ("", "0", "false", "no")


def _mnist_paths(part: str) -> list[Path]:
    return [data_root() / "MNIST" / "raw" / name for name in MNIST_FILES[part]]


def _cifar_paths(part: str) -> list[Path]:
    return [data_root() / "cifar-10-batches-py" / name for name in CIFAR10_FILES[part]]


def _ensure_present(dataset: str, paths: list[Path]) -> None:
    """Download with torchvision if files are missing (and allowed), else explain."""
    missing = [p for p in paths if not p.is_file()]
    if not missing:
        return
    if offline():
        raise DataNotFoundError(
            f"{dataset} files not found (AUTOGRADER_OFFLINE=1, so nothing is downloaded).\n"
            f"Data root: {data_root()} (set AUTOGRADER_DATA to change it).\n"
            "Missing:\n" + "\n".join(f"  {p}" for p in missing) + "\n"
            "To obtain them: copy the torchvision layout (MNIST/raw/*.gz, "
            "cifar-10-batches-py/*) into the data root, or unset AUTOGRADER_OFFLINE "
            "to let torchvision download them.")
    import torchvision  # only needed for downloading

    root = str(data_root())
    try:
        if dataset == "MNIST":
            for train in (True, False):
                torchvision.datasets.MNIST(root, train=train, download=True)
        else:
            torchvision.datasets.CIFAR10(root, train=True, download=True)
    except Exception as err:  # no network, a proxy, a full disk: say what was tried
        raise DataNotFoundError(
            f"{dataset} files are missing under {data_root()} and downloading them failed "
            f"({type(err).__name__}: {err}). Copy the files there by hand (torchvision "
            "layout), or point AUTOGRADER_DATA at a folder that has them.") from err
    still = [p for p in paths if not p.is_file()]
    if still:
        raise DataNotFoundError("download finished but files are still missing: "
                                + ", ".join(map(str, still)))


# ------------------------------------------------------------------------ decoding

def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _check_content(path: Path, array: np.ndarray, expected: str, what: str) -> None:
    if _sha256(array) != expected:
        raise DataError(
            f"{path}: the decoded {what} do not match the official content "
            "(checksum mismatch). The file is corrupted or is not the official one; "
            "replace it with a fresh copy.")


def _read_idx(path: Path, expected_sha: str) -> np.ndarray:
    """Decode one MNIST IDX .gz file into uint8: images (N, 28, 28) or labels (N,)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot be decompressed ({err}); the file is truncated "
                        "or corrupted, replace it with a fresh copy.") from err
    if len(raw) < 8:
        raise DataError(f"{path}: too short to be an IDX file; replace it.")
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise DataError(f"{path}: not an IDX uint8 file (magic {magic:#x}); replace it.")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: holds {body.size} bytes of data where its header "
                        f"promises {int(np.prod(shape))}; the file is truncated, replace it.")
    array = body.reshape(shape)
    _check_content(path, array, expected_sha, "images" if ndim == 3 else "labels")
    return array


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Decode one CIFAR-10 python batch into uint8 images (N, 32, 32, 3) and labels (N,)."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        pixels = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    except Exception as err:  # truncated pickles raise several different errors
        raise DataError(f"{path}: cannot be read as a CIFAR-10 batch ({type(err).__name__}: "
                        f"{err}); the file is truncated or corrupted, replace it.") from err
    pixel_sha, label_sha = CIFAR10_SHA256[path.name]
    _check_content(path, pixels, pixel_sha, "images")
    _check_content(path, labels, label_sha, "labels")
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _cache_key(paths: list[Path]) -> str:
    stamp = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
    return hashlib.sha256(stamp.encode()).hexdigest()[:16]


def _cached_decode(name: str, paths: list[Path], decode) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``paths`` once, verify, and keep the result as .npy files for next time."""
    folder = cache_dir() / f"{name}-{_cache_key(paths)}"
    images_file, labels_file = folder / "images.npy", folder / "labels.npy"
    if images_file.is_file() and labels_file.is_file():
        try:
            return np.load(images_file, mmap_mode="r"), np.load(labels_file, mmap_mode="r")
        except (OSError, ValueError):
            pass  # a damaged cache entry is rebuilt below
    images, labels = decode(paths)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, array in ((images_file, images), (labels_file, labels)):
            tmp = file.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, array)
            os.replace(tmp, file)  # atomic: parallel graders never read half a file
    except OSError:
        pass  # a read-only home is fine: we simply decode again next time
    return images, labels


def _decode_mnist(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = paths
    images = _read_idx(images_path, MNIST_SHA256[images_path.name])
    labels = _read_idx(labels_path, MNIST_SHA256[labels_path.name])
    if len(images) != len(labels):
        raise DataError(f"{images_path} and {labels_path} hold different numbers of items.")
    return images, labels


def _decode_cifar(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    parts = [_read_cifar_batch(p) for p in paths]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


@functools.lru_cache(maxsize=None)
def _official(dataset: str, part: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    """The verified official ``part`` ('train' or 'test') of a dataset, as uint8 arrays."""
    if dataset == "mnist":
        paths = _mnist_paths(part)
        _ensure_present("MNIST", paths)
        return _cached_decode(f"mnist-{part}", paths, _decode_mnist)
    paths = _cifar_paths(part)
    _ensure_present("CIFAR-10", paths)
    return _cached_decode(f"cifar10-{part}", paths, _decode_cifar)


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
