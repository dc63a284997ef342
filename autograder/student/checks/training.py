"""Checks on the objects of a PyTorch training setup: splits, loaders, models, optimisers,
schedulers, and the student's own training/evaluation functions.

Every check follows the two halves of :mod:`.core`: ``collect`` touches the student's objects
and returns plain data (NumPy arrays, numbers, strings); ``judge`` decides from that data and
its own references (the kit's data, a model it rebuilds from the seed). Checks that draw random
numbers through the student's code (augmentation, training a tiny model) seed the global
generators themselves and restore them afterwards, so running a check never changes what the
rest of the notebook computes.
"""
from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

from .core import Check, StudentError, call_student, run
# The epoch checks and their helpers live in their own modules; importable from here too.
from .one_epoch import TestEpochCheck, TrainEpochCheck, check_test_one_epoch, check_train_one_epoch  # noqa: F401
from .torch_helpers import (_call_recording_modes, _close, _loss_values, _number,  # noqa: F401
                            _numpy, _record_modes, _require_pair, _tiny_inputs, deferred,
                            preserved_rng, state_arrays, tiny_problem)

__all__ = [
    "check_split", "check_augmentation", "check_logits_shape", "check_optimizer",
    "check_scheduler", "check_train_one_epoch", "check_test_one_epoch",
    "check_parameter_table",
]


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
        return _numpy(dataset.tensors[0])
    stored = getattr(dataset, "data", None)
    try:
        n = len(dataset)
    except TypeError:
        raise StudentError(f"the {what} has no length: pass a Dataset or a DataLoader") from None
    if stored is not None and hasattr(stored, "__len__") and len(stored) == n:
        return _numpy(stored)
    # Any other dataset: read its items (transforms included).
    items = [call_student(dataset.__getitem__, i, what=f"{what}[{i}]") for i in range(n)]
    return np.stack([_numpy(item[0] if isinstance(item, (tuple, list)) else item) for item in items])


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
        x = np.stack([_numpy(item[0]) for item in items])
        y = np.array([int(_numpy(item[1])) for item in items])
    x = _numpy(x.float() if isinstance(x, torch.Tensor) else x).astype(np.float32)
    return x, _numpy(y).astype(np.int64).reshape(-1)


# ----------------------------------------------------------------------------- split

@functools.lru_cache(maxsize=None)
def official_fingerprints(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Fingerprints of the official training images (train + val splits) and of the test set."""
    from .. import data

    load = {"mnist": data.mnist_arrays, "cifar10": data.cifar10_arrays}[dataset]
    official = np.concatenate([fingerprints(load("train")[0]), fingerprints(load("val")[0])])
    return official, fingerprints(load("test")[0])


class SplitCheck(Check):
    kind = "split"

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

    def judge(self, ev):
        train_fp, val_fp = np.asarray(ev["train_fp"]), np.asarray(ev["val_fp"])
        sizes = (len(train_fp), len(val_fp))
        if sizes != self.expected:
            hint = ""
            if sizes == self.expected[::-1]:
                hint = ": training and validation sets are swapped"
            elif sizes[0] == sum(self.expected):
                hint = ": the training set is the whole training data, it was not split"
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


def check_split(train, val, expected_sizes, dataset=None, seed=0, name=None, points=1.0,
                raise_on_fail=True):
    """Sizes and disjointness of a train/validation split.

    train, val: datasets or DataLoaders (their ``.dataset`` is used); the images they store
    (before transforms: ``Subset``/``TensorDataset``/``.data`` are looked through) are hashed.
    expected_sizes: (n_train, n_val). dataset: "mnist" or "cifar10" to also check that every
    image is an official training image and none comes from the test set.
    """
    return run(SplitCheck(expected_sizes, dataset, seed, name, points), (train, val), raise_on_fail)


# ----------------------------------------------------------------------------- augmentation

class AugmentationCheck(Check):
    kind = "augmentation"

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

    def judge(self, ev):
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


def check_augmentation(train, evaluation, n_items=16, seed=0, name=None, points=1.0,
                       raise_on_fail=True):
    """Random augmentation on the training data, none on the evaluation data.

    train, evaluation: datasets (items are drawn with ``[i]``) or DataLoaders (items go through
    the loader's ``collate_fn``, so batched augmentation there is seen too). The same items
    are drawn twice: at least one training item must change, every evaluation item must stay
    identical, labels and shapes must stay, and both must be on the same scale.
    """
    return run(AugmentationCheck(n_items, seed, name, points), (train, evaluation), raise_on_fail)


# ----------------------------------------------------------------------------- logits

class LogitsShapeCheck(Check):
    kind = "logits_shape"

    def __init__(self, input_shape, n_classes=10, allow_log_probs=True, seed=0, name=None,
                 points=1.0):
        super().__init__(name or f"logits of shape (N, {n_classes})", points, seed)
        self.input_shape = tuple(int(n) for n in input_shape)
        self.n_classes = int(n_classes)
        self.allow_log_probs = allow_log_probs

    def inputs(self):
        return {"x": self.rng("x").normal(0, 1, self.input_shape).astype(np.float32)}

    def collect(self, model):
        import torch

        x = torch.from_numpy(self.inputs()["x"])
        device = next((p.device for p in model.parameters()), torch.device("cpu")) \
            if hasattr(model, "parameters") else torch.device("cpu")
        was_training = getattr(model, "training", None)
        try:
            if was_training is not None:
                model.eval()
            with preserved_rng(self.seed), torch.no_grad():
                out = call_student(model, x.to(device), what="model(x)")
        finally:
            if was_training is not None:
                model.train(was_training)
        if not isinstance(out, torch.Tensor):
            raise StudentError(f"model(x) returned a {type(out).__name__}, expected a tensor "
                               "of logits")
        return {"out": out.detach().cpu().double().numpy()}

    def judge(self, ev):
        out = np.asarray(ev["out"])
        n = self.input_shape[0]
        want = (n, self.n_classes)
        if out.shape != want:
            hint = ""
            if out.ndim > 2:
                hint = ": flatten the feature maps before the last linear layer"
            elif out.ndim == 2 and out.shape[0] == n:
                hint = f": the last layer has {out.shape[1]} outputs, one per class is needed"
            elif out.ndim < 2 or out.shape[0] != n:
                hint = ": the batch dimension was lost or mixed up (flatten from dimension 1)"
            return self.failed(f"model(x) for x of shape {self.input_shape} returned shape "
                               f"{out.shape}, expected {want}{hint}")
        if not np.isfinite(out).all():
            return self.failed("the logits contain NaN or inf")
        sums = out.sum(axis=1)
        if (out >= 0).all() and np.allclose(sums, 1, atol=1e-4):
            return self.failed("the model outputs probabilities (a softmax): return the raw "
                               "logits; F.cross_entropy applies log-softmax itself")
        log_normalised = np.allclose(np.log(np.exp(out).sum(axis=1)), 0, atol=1e-4) and (out <= 0).all()
        if log_normalised and not self.allow_log_probs:
            return self.failed("the model outputs log-probabilities (log_softmax): return the "
                               "raw logits")
        return self.passed(f"logits of shape {out.shape}")


def check_logits_shape(model, input_shape, n_classes=10, allow_log_probs=True, seed=0, name=None,
                       points=1.0, raise_on_fail=True):
    """``model(x)`` for a float32 ``x`` of ``input_shape`` returns finite logits (N, n_classes).

    The model runs in eval mode under no_grad (its mode is restored). Probabilities (rows
    of non-negative numbers summing to 1) fail: a softmax before cross-entropy is a bug.
    """
    check = LogitsShapeCheck(input_shape, n_classes, allow_log_probs, seed, name, points)
    return run(check, model, raise_on_fail)


# ----------------------------------------------------------------------------- optimiser

class OptimizerCheck(Check):
    kind = "optimizer"

    def __init__(self, kind_name, lr=None, momentum=None, weight_decay=None, check_model=False,
                 name=None, points=1.0):
        super().__init__(name or f"{kind_name} optimiser", points, 0)
        self.expected_kind = kind_name
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.check_model = check_model

    def collect(self, student):
        optimizer, model = student
        groups = getattr(optimizer, "param_groups", None)
        if groups is None:
            raise StudentError(f"got a {type(optimizer).__name__}, expected a torch.optim optimiser")
        evidence = {"type": type(optimizer).__name__, "groups": []}
        for group in groups:
            row = {"lr": float(group.get("initial_lr", group.get("lr", float("nan")))),
                   "n_params": len(group["params"])}
            for key in ("momentum", "weight_decay", "dampening"):
                if key in group:
                    row[key] = float(group[key])
            if "betas" in group:
                row["betas"] = [float(b) for b in group["betas"]]
            if "nesterov" in group:
                row["nesterov"] = bool(group["nesterov"])
            evidence["groups"].append(row)
        if model is not None:
            wanted = {id(p) for p in model.parameters() if p.requires_grad}
            held = {id(p) for group in groups for p in group["params"]}
            evidence["n_model"] = len(wanted)
            evidence["n_covered"] = len(wanted & held)
            evidence["n_foreign"] = len(held - {id(p) for p in model.parameters()})
        return evidence

    def judge(self, ev):
        got = ev["type"]
        if got.lower() != self.expected_kind.lower():
            return self.failed(f"the optimiser is {got}, expected {self.expected_kind}")
        for i, group in enumerate(ev["groups"]):
            where = f" (parameter group {i})" if len(ev["groups"]) > 1 else ""
            if self.lr is not None and not math.isclose(group["lr"], self.lr, rel_tol=1e-9):
                return self.failed(f"learning rate {group['lr']:g}{where}, expected {self.lr:g}")
            if self.momentum is not None:
                value = group.get("momentum", group.get("betas", [None])[0])
                if value is None:
                    return self.failed(f"{got} has no momentum setting")
                if not math.isclose(value, self.momentum, rel_tol=1e-9, abs_tol=1e-12):
                    hint = " (SGD without momentum: pass momentum=...)" if value == 0 else ""
                    return self.failed(f"momentum {value:g}{where}, expected {self.momentum:g}{hint}")
            if self.weight_decay is not None and not math.isclose(
                    group.get("weight_decay", 0.0), self.weight_decay, rel_tol=1e-9, abs_tol=1e-12):
                return self.failed(f"weight decay {group.get('weight_decay', 0.0):g}{where}, "
                                   f"expected {self.weight_decay:g}")
        if self.check_model:
            missing = ev["n_model"] - ev["n_covered"]
            if ev["n_covered"] == 0 and ev["n_model"] > 0:
                return self.failed("the optimiser holds none of the model's parameters: it was built "
                                   "for another model object (create the model first, then the "
                                   "optimiser from model.parameters())")
            if missing:
                return self.failed(f"the optimiser misses {missing} of the model's "
                                   f"{ev['n_model']} trainable parameter tensors: those are never "
                                   "updated")
            if ev["n_foreign"]:
                return self.failed(f"the optimiser holds {ev['n_foreign']} parameter tensors that "
                                   "do not belong to the model")
        return self.passed(f"{got} with the expected settings")


def check_optimizer(optimizer, kind, lr=None, momentum=None, weight_decay=None, model=None,
                    name=None, points=1.0, raise_on_fail=True):
    """The optimiser's class (``kind``, e.g. "SGD", "Adam") and hyper-parameters.

    lr is compared with each group's initial learning rate (before any scheduler changed
    it); momentum with SGD's ``momentum`` or Adam's ``betas[0]``. With ``model``, the
    optimiser must hold exactly that model's trainable parameters.
    """
    check = OptimizerCheck(kind, lr, momentum, weight_decay, model is not None, name, points)
    return run(check, (optimizer, model), raise_on_fail)


# ----------------------------------------------------------------------------- scheduler

class SchedulerCheck(Check):
    kind = "scheduler"

    def __init__(self, kind_name="LinearLR", expected=None, check_optimizer=False, min_steps=None,
                 name=None, points=1.0):
        super().__init__(name or f"{kind_name} scheduler", points, 0)
        self.expected_kind = kind_name
        self.expected = dict(expected or {})
        self.check_optimizer = check_optimizer
        self.min_steps = min_steps

    def collect(self, student):
        scheduler, optimizer = student
        if not hasattr(scheduler, "optimizer") or not hasattr(scheduler, "last_epoch"):
            raise StudentError(f"got a {type(scheduler).__name__}, expected a "
                               "torch.optim.lr_scheduler object")
        attributes = {key: (float(value) if not isinstance(value, bool) else value)
                      for key, value in vars(scheduler).items()
                      if not key.startswith("_") and isinstance(value, (int, float, bool))}
        evidence = {"type": type(scheduler).__name__, "attributes": attributes,
                    "base_lrs": [float(v) for v in getattr(scheduler, "base_lrs", [])],
                    "last_epoch": int(scheduler.last_epoch)}
        if optimizer is not None:
            evidence["same_optimizer"] = scheduler.optimizer is optimizer
        return evidence

    def judge(self, ev):
        got = ev["type"]
        if got.lower() != self.expected_kind.lower():
            return self.failed(f"the scheduler is {got}, expected {self.expected_kind}")
        if self.check_optimizer and not ev["same_optimizer"]:
            return self.failed("the scheduler is attached to another optimiser than the one that "
                               "trains the model: it changes a learning rate nobody uses")
        for key, want in self.expected.items():
            value = ev["attributes"].get(key)
            if value is None:
                return self.failed(f"the scheduler has no setting {key!r}")
            if not math.isclose(float(value), float(want), rel_tol=1e-9, abs_tol=1e-12):
                return self.failed(f"{key} is {value:g}, expected {want:g}")
        if self.min_steps is not None and ev["last_epoch"] < self.min_steps:
            return self.failed(f"scheduler.step() was called {ev['last_epoch']} times, expected "
                               f"at least {self.min_steps}: call it after optimizer.step() (once "
                               "per epoch, or per batch if the schedule counts batches)")
        return self.passed(f"{got} with the expected settings")


def check_scheduler(scheduler, kind="LinearLR", optimizer=None, min_steps=None, name=None,
                    points=1.0, raise_on_fail=True, **expected):
    """The scheduler's class and settings, e.g. ``check_scheduler(s, "LinearLR",
    start_factor=0.1, total_iters=5)``.

    optimizer: the optimiser that trains the model; the scheduler must be attached to it.
    min_steps: after training, ``scheduler.step()`` must have been called that many times.
    """
    check = SchedulerCheck(kind, expected, optimizer is not None, min_steps, name, points)
    return run(check, (scheduler, optimizer), raise_on_fail)


# ----------------------------------------------------------------------------- parameter table

def _shape(value):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return "invalid"


class ParameterTableCheck(Check):
    kind = "parameter_table"

    def __init__(self, reference, name=None, points=1.0):
        super().__init__(name or "parameter table", points, 0)
        self.reference = {layer: (tuple(w), tuple(b)) for layer, (w, b) in reference.items()}

    def collect(self, table):
        if not isinstance(table, dict):
            raise StudentError(f"the table is a {type(table).__name__}, expected a dict "
                               "{layer: {'weight': shape, 'bias': shape, 'count': int}}")
        rows = {}
        for layer, row in table.items():
            if not isinstance(row, dict):
                raise StudentError(f"row {layer!r} is a {type(row).__name__}, expected a dict with "
                                   "'weight', 'bias' and 'count'")
            count = row.get("count")
            try:
                count = None if count is None else int(count)
            except (TypeError, ValueError):
                count = "invalid"
            rows[str(layer)] = {"weight": _shape(row.get("weight")), "bias": _shape(row.get("bias")),
                                "count": count}
        return {"rows": rows}

    def judge(self, ev):
        rows = ev["rows"]
        problems = []
        for layer, (weight, bias) in self.reference.items():
            row = rows.get(layer)
            if row is None:
                problems.append(f"layer {layer} is missing")
                continue
            for field, want in (("weight", weight), ("bias", bias)):
                got = row[field]
                if got is None or got == "invalid":
                    problems.append(f"{layer}: {field} shape not filled in (a tuple of ints)")
                elif tuple(got) != want:
                    hint = ""
                    if len(want) == 2 and tuple(got) == want[::-1]:
                        hint = " (transposed: nn.Linear stores (out_features, in_features))"
                    problems.append(f"{layer}: {field} shape {tuple(got)}, expected {want}{hint}")
            want_count = math.prod(weight) + math.prod(bias)
            if row["count"] != want_count:
                problems.append(f"{layer}: count {row['count']}, expected {want_count:,}")
        extra = sorted(set(rows) - set(self.reference))
        if extra:
            problems.append(f"unexpected layers: {', '.join(extra)}")
        if problems:
            return self.failed("; ".join(problems))
        total = sum(math.prod(w) + math.prod(b) for w, b in self.reference.values())
        return self.passed(f"all {len(self.reference)} layers correct ({total:,} parameters)")


def check_parameter_table(table, reference, name=None, points=1.0, raise_on_fail=True):
    """A hand-filled table {layer: {"weight": shape, "bias": shape, "count": int}} against
    ``reference`` {layer: (weight shape, bias shape)} (counts derived from the shapes)."""
    return run(ParameterTableCheck(reference, name, points), table, raise_on_fail)
