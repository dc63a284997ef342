"""Where the MNIST and CIFAR-10 files are, and how they are verified and decoded.

``autograder.student.data`` is the public face (splits, arrays, datasets); this module is
the layer under it: the data root and cache folders, downloading a missing file when
allowed, decoding the official files and checking their decoded *content* against the
hashes below, and caching a verified decode as ``.npy`` (see data.py's docstring).
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

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
def official(dataset: str, part: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    """The verified official ``part`` ('train' or 'test') of a dataset, as uint8 arrays."""
    if dataset == "mnist":
        paths = _mnist_paths(part)
        _ensure_present("MNIST", paths)
        return _cached_decode(f"mnist-{part}", paths, _decode_mnist)
    paths = _cifar_paths(part)
    _ensure_present("CIFAR-10", paths)
    return _cached_decode(f"cifar10-{part}", paths, _decode_cifar)
