"""Checks on what a notebook saves, judged from the file rather than the kernel's word:
weights saved as arrays (accuracy on the kit's data), an archive of a student-designed
network (TorchScript or torch.export), training checkpoints and their history.

The accuracy is measured by the judge on the saved file; loading a file never runs student
Python (``np.load(allow_pickle=False)``, ``torch.load(weights_only=True)``, archives in a
sandboxed inspector on the grader side).
"""
from .accuracy import evaluate
from .archive import check_archive_accuracy, check_class_acc_of_archive
from .checkpoints import check_best_checkpoint, check_history_checkpoint
from .saved_network import check_saved_network_accuracy

__all__ = ["evaluate", "check_saved_network_accuracy", "check_archive_accuracy",
           "check_class_acc_of_archive", "check_history_checkpoint", "check_best_checkpoint"]
