"""check_loader_shuffles: a shuffling training loader passes; one that yields the same
order every epoch fails with its cause; other loader faults are not called shuffling."""
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from autograder.student import checks


def _dataset(n=600, sort=False, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    if sort:
        y = np.sort(y)
    x = rng.normal(0, 1, (n, 1, 4, 4)).astype(np.float32)
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def test_a_shuffling_loader_passes():
    result = checks.check_loader_shuffles(DataLoader(_dataset(), batch_size=32, shuffle=True))
    assert result.passed and result.points == 1.0


def test_a_shuffling_loader_passes_over_whole_epochs_too():
    loader = DataLoader(_dataset(n=100), batch_size=32, shuffle=True)
    assert checks.check_loader_shuffles(loader, batches=100).passed


def test_a_loader_without_shuffle_is_named():
    result = checks.check_loader_shuffles(DataLoader(_dataset(), batch_size=32),
                                          raise_on_fail=False)
    assert not result.passed
    assert "same order in both epochs" in result.message and "shuffle=True" in result.message
    assert "sorted by class" not in result.message


def test_data_shuffled_once_before_the_loader_is_named_too():
    data = _dataset()
    once = torch.utils.data.Subset(data, np.random.default_rng(1).permutation(len(data)).tolist())
    result = checks.check_loader_shuffles(DataLoader(once, batch_size=32), raise_on_fail=False)
    assert "same order in both epochs" in result.message and "once" in result.message


def test_a_loader_sorted_by_class_and_not_shuffled_says_so():
    result = checks.check_loader_shuffles(DataLoader(_dataset(n=64, sort=True), batch_size=16),
                                          batches=100, raise_on_fail=False)
    assert "same order" in result.message and "sorted by class" in result.message


class _NewDataEachEpoch:
    """An iterable that yields fresh, unrelated batches every epoch (a generator bug)."""

    def __init__(self):
        self.epoch = 0

    def __iter__(self):
        self.epoch += 1
        for b in range(3 + self.epoch):
            yield torch.zeros(4, 2), torch.arange(4) + b


def test_a_loader_whose_epochs_differ_in_content_is_not_called_shuffled():
    result = checks.check_loader_shuffles(_NewDataEachEpoch(), raise_on_fail=False)
    assert not result.passed and "differ in content" in result.message


def test_a_loader_of_images_only_fails_with_what_it_yields():
    loader = DataLoader(torch.zeros(10, 3), batch_size=5)
    result = checks.check_loader_shuffles(loader, raise_on_fail=False)
    assert not result.passed and "expected (x, y) batches" in result.message


def test_the_check_leaves_the_global_rng_as_it_found_it():
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    checks.check_loader_shuffles(DataLoader(_dataset(), batch_size=32, shuffle=True))
    assert torch.equal(torch.get_rng_state(), before)
