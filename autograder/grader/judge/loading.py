"""Loading a student's saved arrays (a ``.npz`` or a torch ``state_dict``) the careful way.

Runs only inside the artifact inspector (inspector.py, sandboxed) and the fingerprints it
takes; the judge never calls it (the loaders of a TorchScript archive: torchscript.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...student.checks.result import StudentError


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Plain arrays from an untrusted .npz or torch state_dict file (no pickle code runs)."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as saved:
            return {k: np.asarray(saved[k]) for k in saved.files}
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise StudentError(f"{path.name} holds a {type(state).__name__}, expected a state_dict")
    return {str(k): v.detach().cpu().numpy() for k, v in state.items() if hasattr(v, "detach")}
