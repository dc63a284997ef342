"""autograder.data on the real MNIST and CIFAR-10 files."""
import gzip
import shutil

import numpy as np
import pytest

from autograder.student import data

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def official(load, split_names):
    """Labels of the official train set (train + val splits put back in order)."""
    images, labels = [], []
    for split in split_names:
        x, y = load(split)
        images.append(x)
        labels.append(y)
    return images, labels


def test_mnist_split_sizes_and_shapes(data_root):
    for split, n in (("train", 48_000), ("val", 12_000), ("test", 10_000)):
        x, y = data.mnist_arrays(split)
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.int64


def test_cifar10_split_sizes_and_shapes(data_root):
    for split, n in (("train", 45_000), ("val", 5_000), ("test", 10_000)):
        x, y = data.cifar10_arrays(split)
        assert x.shape == (n, 32, 32, 3) and x.dtype == np.uint8
        assert y.shape == (n,)


def test_mnist_class_counts_match_the_official_sets(data_root):
    _, (y_train, y_val) = official(data.mnist_arrays, ("train", "val"))
    counts = np.bincount(np.concatenate([y_train, y_val]), minlength=10)
    assert counts.tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(data.mnist_arrays("test")[1]).tolist() == MNIST_TEST_COUNTS


def test_cifar10_has_5000_per_class_in_train_and_1000_in_test(data_root):
    _, (y_train, y_val) = official(data.cifar10_arrays, ("train", "val"))
    assert np.bincount(np.concatenate([y_train, y_val])).tolist() == [5000] * 10
    assert np.bincount(data.cifar10_arrays("test")[1]).tolist() == [1000] * 10


def test_known_first_labels(data_root):
    first_mnist = data._official("mnist", "train", str(data.data_root()))[1][0]
    first_cifar = data._official("cifar10", "train", str(data.data_root()))[1][0]
    assert first_mnist == 5
    assert first_cifar == 6
    assert data.cifar10_arrays("test")[1][0] == 3


def test_train_and_val_are_disjoint_and_cover_the_official_set():
    for name, n in (("mnist", 60_000), ("cifar10", 50_000)):
        train, val = data.split_indices(name, "train"), data.split_indices(name, "val")
        assert len(np.intersect1d(train, val)) == 0
        assert len(train) + len(val) == n
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))


def test_splits_are_the_same_on_every_machine():
    # A fingerprint of the chosen validation indices: a change here changes every grade.
    import hashlib
    digest = {name: hashlib.sha256(data.split_indices(name, "val").tobytes()).hexdigest()[:16]
              for name in ("mnist", "cifar10")}
    data.split_indices.cache_clear()
    again = {name: hashlib.sha256(data.split_indices(name, "val").tobytes()).hexdigest()[:16]
             for name in ("mnist", "cifar10")}
    assert digest == again
    assert digest == {"mnist": MNIST_VAL_FINGERPRINT, "cifar10": CIFAR10_VAL_FINGERPRINT}


MNIST_VAL_FINGERPRINT = "f11f780d957a881f"
CIFAR10_VAL_FINGERPRINT = "a6cb1cda54c5ca8e"


def test_two_loads_give_identical_splits(data_root):
    a = data.mnist_arrays("val")
    data._official.cache_clear()
    b = data.mnist_arrays("val")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_torch_datasets_apply_transforms_on_uint8_tensors(data_root):
    import torch
    from torchvision.transforms import v2

    transform = v2.Compose([v2.ToDtype(torch.float32, scale=True),
                            v2.Normalize((data.MNIST_MEAN,), (data.MNIST_STD,))])
    ds = data.mnist("test", transform=transform)
    image, label = ds[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert label == 7
    assert isinstance(ds, torch.utils.data.Dataset) and len(ds) == 10_000
    image, _ = data.cifar10("val")[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8


def test_normalisation_constants_match_the_training_split(data_root):
    x, _ = data.cifar10_arrays("train")
    x = x.astype(np.float64) / 255
    assert np.allclose(x.mean(axis=(0, 1, 2)), data.CIFAR10_MEAN, atol=1e-4)
    assert np.allclose(x.std(axis=(0, 1, 2)), data.CIFAR10_STD, atol=1e-4)
    m = np.concatenate([data.mnist_arrays("train")[0], data.mnist_arrays("val")[0]]) / 255.0
    assert abs(m.mean() - data.MNIST_MEAN) < 1e-4 and abs(m.std() - data.MNIST_STD) < 1e-4


@pytest.fixture
def private_copy(tmp_path, data_root, monkeypatch):
    """A private copy of the data root and an empty cache, for corrupting files."""
    root = tmp_path / "data"
    shutil.copytree(data_root / "MNIST", root / "MNIST")
    shutil.copytree(data_root / "cifar-10-batches-py", root / "cifar-10-batches-py")
    monkeypatch.setenv("AUTOGRADER_DATA", str(root))
    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path / "cache"))
    data._official.cache_clear()
    yield root
    data._official.cache_clear()


def test_truncated_mnist_file_is_rejected_with_its_name(private_copy):
    path = private_copy / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200_000])
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        data.mnist_arrays("test")


def test_mnist_file_with_wrong_content_is_rejected(private_copy):
    path = private_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one wrong label
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz.*checksum mismatch"):
        data.mnist_arrays("test")


def test_truncated_cifar_batch_is_rejected_with_its_name(private_copy):
    path = private_copy / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:5_000_000])
    with pytest.raises(data.DataError, match="data_batch_3.*truncated or corrupted"):
        data.cifar10_arrays("train")


def test_cifar_batch_without_filenames_key_is_accepted(private_copy):
    # The shipped batches lack 'filenames' (torchvision's MD5 check rejects them).
    x, y = data.cifar10_arrays("test")
    assert x.shape == (10_000, 32, 32, 3) and y[0] == 3


def test_verified_decode_is_cached_for_fast_loads(private_copy, tmp_path):
    data.mnist_arrays("test")
    cached = list((tmp_path / "cache").glob("mnist-test-*/images.npy"))
    assert len(cached) == 1
    data._official.cache_clear()
    x, _ = data.mnist_arrays("test")
    assert x.shape == (10_000, 28, 28)


def test_offline_without_data_names_the_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("AUTOGRADER_OFFLINE", "1")
    data._official.cache_clear()
    with pytest.raises(data.DataNotFoundError) as err:
        data.cifar10_arrays("test")
    message = str(err.value)
    assert "AUTOGRADER_OFFLINE=1" in message and "test_batch" in message
    assert str(tmp_path / "nothing") in message and "AUTOGRADER_DATA" in message
    data._official.cache_clear()


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        data.mnist_arrays("validation")
