"""Why a saved checkpoint is not the best epoch's model, from the judge's own re-score of it.

The judge scores the checkpoint (accuracy and mean cross-entropy) on the plain images of a
split with the kit's forward pass and data, and matches both numbers against the epochs of
the student's history. A save timing (the last epoch's model, epoch k's model) is named
only when an epoch's accuracy AND loss are the checkpoint's: an accuracy alone agrees by
chance within the tolerance often enough (20 epochs of accuracies 0.97 to 0.98), and a
history measured on differently prepared validation data (standardised with the wrong
statistics, drawn from the test set) must not be blamed on the save.
"""
from __future__ import annotations

import numpy as np

from .accuracy import labels, preprocessed
from .saved_network import network_forward


def network_scores(arrays: dict, layers: list, dataset: str, split: str,
                   preprocess: str) -> tuple[float, float]:
    """(accuracy, mean cross-entropy per example) of the saved network on ``split``, in
    float64, computed by the judge from the saved arrays and the kit's data."""
    import torch
    import torch.nn.functional as F

    x, y = preprocessed(dataset, split, preprocess), labels(dataset, split)
    with torch.no_grad():
        logits = torch.cat([network_forward(arrays, layers, x[i:i + 2000]).double()
                            for i in range(0, len(x), 2000)])
        loss = F.cross_entropy(logits, torch.from_numpy(np.asarray(y, np.int64))).item()
    return float(np.mean(logits.argmax(1).numpy() == y)), float(loss)


def same_loss(recorded: float, rescored: float) -> bool:
    """A history's loss and the judge's re-score of the same model on the same data: equal
    up to float32 summation (far below 0.1%)."""
    return abs(recorded - rescored) <= 1e-4 + 1e-3 * abs(rescored)


def epoch_matches(history: dict, accuracy: float, loss: float, tolerance: float) -> list[int]:
    """The epochs whose validation accuracy and loss are both the checkpoint's."""
    return [k for k, (acc, val_loss) in enumerate(zip(history["val_acc"], history["val_loss"]))
            if abs(acc - accuracy) <= tolerance and same_loss(val_loss, loss)]


def _without_relus(layers: list) -> list[tuple[str, list]]:
    """(what is left out, what the model then lacks, layers): every ReLU, then each one alone
    (where there are several)."""
    at = [i for i, spec in enumerate(layers) if spec.get("type") == "relu"]
    variants = [("every ReLU", "no nonlinearity between its layers",
                 [s for s in layers if s.get("type") != "relu"])] if at else []
    for i in at if len(at) > 1 else []:
        before = next((s.get("W") for s in reversed(layers[:i]) if "W" in s), "the input")
        name = before.rsplit(".", 1)[0]
        variants.append((f"the ReLU after {name}", f"no ReLU after {name}", layers[:i] + layers[i + 1:]))
    return variants


def missing_relu_message(arrays: dict, layers: list, history: dict, dataset: str, split: str,
                         preprocess: str, tolerance: float) -> str:
    """When the saved arrays, run WITHOUT some of the test's ReLUs, give an epoch's validation
    accuracy and loss: the network that was trained and saved has no such nonlinearity (its
    forward skips it). "" when no such variant matches."""
    for what, lacks, variant in _without_relus(layers):
        accuracy, loss = network_scores(arrays, variant, dataset, split, preprocess)
        matches = epoch_matches(history, accuracy, loss, tolerance)
        if matches:
            return (f"run without {what}, the saved network has epoch {matches[-1] + 1}'s "
                    f"validation accuracy and loss ({accuracy:.4f}, {loss:.4f}): the model that "
                    f"was trained and saved has {lacks} (its forward skips the ReLU), while the "
                    "test's layers apply it; fix the model's "
                    "forward (see the model's test cell) and train again")
    return ""


def unmatched_message(text: str, history: dict, accuracy: float, loss: float, split: str,
                      tolerance: float) -> str:
    """The failure when no epoch's accuracy and loss are both the checkpoint's (and the test
    set and augmentation are ruled out): say which numbers disagree and where to look."""
    val_acc, val_loss = history["val_acc"], history["val_loss"]
    by_accuracy = np.flatnonzero(np.abs(val_acc - accuracy) <= tolerance)
    look = (f"check the validation batches: they must be the {split} split, prepared as the "
            "training batches are (standardised with the training mean and std), without "
            "augmentation")
    if by_accuracy.size:
        k = int(by_accuracy[-1])
        return (f"{text}. Epoch {k + 1}'s validation accuracy equals the checkpoint's, but not "
                f"its validation loss ({val_loss[k]:.4f} in the history, {loss:.4f} for the "
                f"checkpoint on the plain {split} images): the history's validation figures do "
                f"not match the judge's on the plain {split} images, so they cannot tell when "
                f"the checkpoint was saved; {look}")
    return (f"{text}, and no epoch of the history had {accuracy:.4f} (its validation loss on "
            f"the plain {split} images is {loss:.4f}): either the history's validation figures "
            f"were measured on other data ({look}), or the checkpoint was saved at another "
            "moment: save the state_dict right after validating the epoch, and record that "
            "epoch's validation accuracy in history['val_acc']")
