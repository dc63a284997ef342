"""Fingerprints that survive cheap disguises (judge/fingerprint.py): a copied model
with its hidden units permuted and rescaled, dead units added, layers renamed and
reordered, a little noise or another file format is flagged as a pair with its
similarity; honest models trained on real MNIST from another seed, or from the
notebooks' common seed with other training, are not. The pairs reach the summary and
the groups the dashboard shows."""
import json
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from autograder.grader.judge import fingerprint as F
from autograder.grader.judge.similarity import copied_models, groups
from autograder.grader.record.grading_record import (GradingRecord, class_fingerprints,
                                                     write_record)
from autograder.grader.report.summary import print_summary
from autograder.student import data

HIDDEN = 64


# ----------------------------------------------------------------------------- MNIST MLPs

@pytest.fixture(scope="module")
def mnist(data_root):
    images, labels = data.mnist_arrays("train")
    x = torch.tensor(images[:6000].reshape(6000, -1), dtype=torch.float32) / 255.0
    return x, torch.tensor(labels[:6000]).long()


def train(mnist, seed, lr=0.1, steps=300, order=0) -> dict:
    """A 784-HIDDEN-10 relu MLP trained by SGD on 6,000 MNIST images, as NumPy arrays in
    A1's layout (W: (in, out)). ``order`` seeds the minibatch order."""
    x, y = mnist
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(order)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=batches)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    (w1, b1), (w2, b2) = [(m.weight.detach().double().numpy().T, m.bias.detach().double().numpy())
                          for m in (model[0], model[2])]
    return {"W1": w1, "b1": b1, "W2": w2, "b2": b2}


@pytest.fixture(scope="module")
def trained(mnist):
    return {"ann": train(mnist, 0), "other seed": train(mnist, 1),
            "other order": train(mnist, 0, order=5), "other lr": train(mnist, 0, lr=0.05)}


def scores(p, x):
    return np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]


def disguised(p, noise=0.0, seed=7) -> dict:
    """The same network: hidden units permuted, each unit's incoming weights scaled by
    c > 0 and its outgoing by 1 / c, a unit with nothing coming in and one with nothing
    going out appended, then ``noise`` x each array's spread added."""
    rng = np.random.default_rng(seed)
    perm, c = rng.permutation(HIDDEN), rng.uniform(0.5, 2.0, HIDDEN)
    w1, b1, w2 = p["W1"][:, perm] * c, p["b1"][perm] * c, p["W2"][perm] / c[:, None]
    w1 = np.hstack([w1, np.zeros((784, 1)), rng.normal(0, w1.std(), (784, 1))])
    b1 = np.concatenate([b1, [0.0, 0.1]])
    w2 = np.vstack([w2, rng.normal(0, 1, (1, 10)), np.zeros((1, 10))])
    copy = {"W1": w1, "b1": b1, "W2": w2, "b2": p["b2"].copy()}
    return {k: v + noise * v.std() * rng.standard_normal(v.shape) for k, v in copy.items()}


def save_state_dict(p, path):
    """A2's format: torch layout (weight (out, in)), torch.save'd state_dict."""
    torch.save({"0.weight": torch.tensor(p["W1"].T), "0.bias": torch.tensor(p["b1"]),
                "2.weight": torch.tensor(p["W2"].T), "2.bias": torch.tensor(p["b2"])}, path)
    return path


def save_renamed_npz(p, path):
    """A1's format, the arrays renamed and saved in reverse order."""
    np.savez(path, out_bias=p["b2"], out=p["W2"], hidden_bias=p["b1"], hidden=p["W1"])
    return path


def test_a_permuted_rescaled_padded_copy_computes_the_same_and_is_flagged(trained, mnist,
                                                                          tmp_path):
    copy = disguised(trained["ann"])
    x = mnist[0][:500].double().numpy()
    np.testing.assert_allclose(scores(copy, x), scores(trained["ann"], x), atol=1e-9)
    prints = {"ann": F.fingerprint(save_state_dict(trained["ann"], tmp_path / "ann.pt")),
              "bob": F.fingerprint(save_renamed_npz(copy, tmp_path / "bob.npz"))}
    assert prints["ann"]["layout"] != prints["bob"]["layout"]  # raw layouts differ
    assert F.near_duplicates(prints) == [("ann", "bob", "matching units", 1.0)]


@pytest.mark.parametrize("noise", [1e-3, 3e-3])
def test_a_disguised_copy_with_small_noise_is_flagged(trained, tmp_path, noise):
    prints = {"ann": F.fingerprint(save_renamed_npz(trained["ann"], tmp_path / "a.npz")),
              "bob": F.fingerprint(save_renamed_npz(disguised(trained["ann"], noise),
                                                    tmp_path / "b.npz"))}
    ((a, b, reason, similarity),) = F.near_duplicates(prints)
    assert (a, b, reason) == ("ann", "bob", "matching units") and similarity > 0.9


def test_honest_models_from_another_seed_or_other_training_are_not_flagged(trained, tmp_path):
    prints = {name: F.fingerprint(save_renamed_npz(p, tmp_path / f"{i}.npz"))
              for i, (name, p) in enumerate(trained.items())}
    assert F.near_duplicates(prints) == []
    # Not a near miss: another seed matches no unit; the notebooks' common seed with
    # another minibatch order or learning rate stays far below the share limit.
    shares = {name: F.unit_similarity(prints["ann"], found) for name, found in prints.items()}
    assert shares["other seed"] == 0.0
    assert shares["other order"] < F.SHARE_LIMIT / 3 and shares["other lr"] < F.SHARE_LIMIT / 3


# ----------------------------------------------------------------------------- conv filters

class Net(nn.Module):
    def __init__(self, seed=0, width=16):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(3, width, 4, stride=4)
        self.fc = nn.Linear(width * 64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def permuted_filters(net: Net) -> Net:
    """The same network with its conv filters permuted and a dead filter added."""
    width = net.conv.out_channels
    copy = Net(width=width + 1)
    perm = torch.randperm(width, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        copy.conv.weight[:width] = net.conv.weight[perm]
        copy.conv.bias[:width] = net.conv.bias[perm]
        copy.conv.weight[width], copy.conv.bias[width] = 0.0, -1.0   # never activates
        fc = copy.fc.weight.view(10, width + 1, 64)
        fc[:, :width] = net.fc.weight.view(10, width, 64)[:, perm]
        copy.fc.bias[:] = net.fc.bias
    return copy


def save_archive(module, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(module.eval()).save(str(path))
    return path


def test_permuted_conv_filters_are_flagged_and_another_seed_is_not(tmp_path):
    ann, dee = Net(seed=1), Net(seed=2)
    bob = permuted_filters(ann)
    x = torch.randn(8, 3, 32, 32)
    torch.testing.assert_close(bob(x), ann(x))
    prints = {name: F.fingerprint(save_archive(m, tmp_path / f"{name}.ts"))
              for name, m in {"ann": ann, "bob": bob, "dee": dee}.items()}
    assert F.near_duplicates(prints) == [("ann", "bob", "matching units", 1.0)]


# ----------------------------------------------------------------------------- size, reports

def test_a_fingerprint_is_plain_json_of_bounded_size(tmp_path):
    big = nn.Sequential(nn.Linear(3072, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(),
                        nn.Linear(512, 10))
    torch.save(big.state_dict(), tmp_path / "big.pt")
    found = F.fingerprint(tmp_path / "big.pt")
    assert json.loads(json.dumps(found)) == found
    assert sum(len(g["units"]) for g in found["units"]) <= F.MAX_TOTAL_UNITS
    assert len(json.dumps(found)) < 300_000


def class_of(tmp_path, prints: dict):
    """A stand-in course whose grading records hold these fingerprints of a2_best.pt."""
    for student, found in prints.items():
        write_record(tmp_path / "autograded" / student / "a2",
                     GradingRecord("graded", fingerprints={"a2_best.pt": found}))
    return types.SimpleNamespace(autograded=tmp_path / "autograded")


def test_summary_and_groups_list_each_flagged_pair_with_its_similarity(trained, tmp_path,
                                                                        capsys):
    ann = trained["ann"]
    prints = {"ann": F.fingerprint(save_state_dict(ann, tmp_path / "ann.pt")),
              "bob": F.fingerprint(save_renamed_npz(disguised(ann), tmp_path / "bob.npz")),
              "cy": F.fingerprint(save_renamed_npz(disguised(ann, 1e-3), tmp_path / "cy.npz")),
              "dee": F.fingerprint(save_state_dict(trained["other seed"], tmp_path / "d.pt"))}
    course = class_of(tmp_path, prints)
    ((name, reason, members, pairs),) = groups(copied_models(class_fingerprints(course, "a2")))
    assert (name, reason, members) == ("a2_best.pt", "matching units", ["ann", "bob", "cy"])
    assert [p[:2] for p in pairs][0] == ("ann", "bob") and len(pairs) == 3
    assert all(0.9 < similarity <= 1.0 for _, _, similarity in pairs)
    print_summary(course, ["a2"], [])
    out = capsys.readouterr().out
    assert "look at: a2/a2_best.pt: matching units for 3 students" in out
    assert "ann and bob: similarity 1.0000" in out and "dee" not in out


def test_malformed_or_non_finite_fingerprints_are_skipped_not_a_crash(tmp_path):
    weights = {"W": np.ones((784, 4)), "V": np.full((4, 10), np.nan)}
    np.savez(tmp_path / "nan.npz", **weights)
    found = F.fingerprint(tmp_path / "nan.npz")
    assert json.loads(json.dumps(found, allow_nan=False)) == found
    nan = [[float("nan")] * F.PROJECTION] * 3
    bad = [{"units": "junk"}, {"units": [{"inputs": 10, "units": [[1.0], [2.0, 3.0]]}]},
           {"units": [{"inputs": 10}]}, {"units": [{"inputs": 10, "units": nan}]}]
    prints = {f"s{i}": dict(p, sha256=str(i), signature=str(i)) for i, p in enumerate(bad)}
    assert F.near_duplicates({**prints, "ok": found}) == []


def test_a_copy_padded_with_many_unused_tensors_is_still_flagged(trained, tmp_path):
    rng = np.random.default_rng(5)
    junk = {f"unused{i}": rng.standard_normal((2, 16)) for i in range(400)}
    np.savez(tmp_path / "bob.npz", **junk, **disguised(trained["ann"], 1e-3))
    prints = {"ann": F.fingerprint(save_renamed_npz(trained["ann"], tmp_path / "ann.npz")),
              "bob": F.fingerprint(tmp_path / "bob.npz")}
    assert [p[:3] for p in F.near_duplicates(prints)] == [("ann", "bob", "matching units")]
