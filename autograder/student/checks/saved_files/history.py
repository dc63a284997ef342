"""A training run's record as the checkpoint checks collect and judge it (checkpoints.py).

* ``_history_evidence``: the history dict {"train_loss", "train_acc", "val_loss", "val_acc"}
  as plain lists of floats (collect half).
* ``_load_state``: the saved checkpoint, read with ``weights_only=True``, as plain arrays;
  a missing file, a pickled model or anything but a state_dict is the student's error.
* ``_history_problem``: what is wrong with the collected history for a run of ``epochs``
  epochs (a missing list, too few or too many entries, counts stored as accuracies), or
  its lists as arrays (judge half).
"""
from __future__ import annotations

import os

import numpy as np

from ..core import StudentError
from ..convert import numeric
from ..torch_code.torch_helpers import _loss_values

KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")


def _history_evidence(history) -> dict:
    if not isinstance(history, dict):
        raise StudentError(f"the history is a {type(history).__name__}, expected a dict of lists "
                           f"{', '.join(KEYS)}")
    return {"keys": sorted(str(k) for k in history),
            "lists": {key: _loss_values(history[key], f"history[{key!r}]")[0]
                      for key in KEYS if key in history}}


def _load_state(path: str) -> dict:
    import torch

    if not os.path.exists(path):
        raise StudentError(f"{os.path.basename(path)} was not written: save the best epoch's "
                           "model.state_dict() with torch.save(..., checkpoint_path)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (pickled objects or a corrupt file)
        raise StudentError(f"{os.path.basename(path)} cannot be read with weights_only=True "
                           f"({type(err).__name__}): save model.state_dict(), not the model") from None
    if not isinstance(state, dict) or not all(hasattr(v, "detach") for v in state.values()):
        raise StudentError(f"{os.path.basename(path)} holds a {type(state).__name__}, expected a "
                           "state_dict (a dict of tensors): save model.state_dict()")
    return {str(k): v.detach().cpu().double().numpy() for k, v in state.items()}


def _history_problem(ev, epochs: int):
    """A failure message if the history lacks keys or entries, else None; and its lists."""
    keys = ev.get("keys") if isinstance(ev.get("keys"), list) else []
    lists = ev.get("lists") if isinstance(ev.get("lists"), dict) else {}
    missing = [key for key in KEYS if key not in keys or numeric(lists.get(key)) is None]
    if missing:
        return f"the history has no list {', '.join(missing)} (it has {keys})", None
    arrays = {key: numeric(lists[key]) for key in KEYS}
    for key, values in arrays.items():
        if values.shape != (epochs,):
            hint = ": append once per epoch, after validating" if len(values) > epochs else ""
            return (f"history[{key!r}] has {len(values)} entries for {epochs} epochs{hint}",
                    None)
    for key in ("train_acc", "val_acc"):
        if not np.all((arrays[key] >= 0) & (arrays[key] <= 1)):
            return (f"history[{key!r}] holds values outside [0, 1]: store the accuracy, not the "
                    "number of correct predictions", None)
    return None, arrays
