"""Checks on code students write with PyTorch (A2, A3, A5): models and their parameters,
data splits, transforms and augmentation, batches, loops over epochs, optimisers and
schedules, metrics.

torch is imported inside the functions only (the student's objects bring it), so that
importing the check library never needs it.
"""
from .augment import check_random_crop_flip
from .batches import check_prepare_batch
from .epochs import check_evaluate, check_train_epoch
from .loaders import check_loader_shuffles
from .makeup import check_parameter_sizes
from .metrics import check_precision_recall_f1
from .model_faults import check_model_nonlinear
from .models import check_evaluation_repeatable, check_model_forward
from .one_epoch import check_test_one_epoch, check_train_one_epoch
from .params import check_count_function, check_parameter_count
from .per_class import check_class_accuracies
from .schedules import check_final_training, check_rejects_unknown_name, check_warmup_schedule
from .splits import check_augmentation, check_split
from .tables import check_parameter_table
from .training import check_logits_shape, check_optimizer, check_scheduler
from .transforms import check_random_crop, check_random_rotation

__all__ = [
    "check_parameter_count", "check_count_function",
    "check_random_crop_flip", "check_parameter_sizes", "check_class_accuracies",
    "check_final_training", "check_rejects_unknown_name", "check_warmup_schedule",
    "check_split", "check_augmentation", "check_logits_shape", "check_optimizer",
    "check_scheduler", "check_train_one_epoch", "check_test_one_epoch", "check_parameter_table",
    "check_random_crop", "check_random_rotation", "check_prepare_batch",
    "check_train_epoch", "check_evaluate", "check_precision_recall_f1", "check_model_forward",
    "check_evaluation_repeatable", "check_loader_shuffles", "check_model_nonlinear",
]
