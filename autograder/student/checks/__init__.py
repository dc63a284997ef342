"""The check library that visible and hidden tests call.

Every ``check_*`` function returns a :class:`CheckResult` and, by default, raises
``AssertionError`` with a message naming the problem when the check fails (assert-style,
for nbgrader test cells). Each check is a :class:`Check` with two halves: ``collect``
calls the student's code and returns plain data; ``judge`` compares that data with the
check's own references (torch autograd, the kit's data) and never touches student objects.

No check scores what the kernel merely says about itself: an accuracy is measured by the
judge on a file the notebook saved, a parameter count against the layout the test gives.
A model's total under a cap, its layer types or its eval mode cannot be verified from the
kernel's word, so they are not checks; nor is a hand-written backward compared with a
reference the kernel computes (the saved archive's cap is:
``check_archive_accuracy(..., parameter_cap=...)``).
"""
from .accuracy import evaluate
from .saved_network import check_saved_network_accuracy
from .archive import check_archive_accuracy, check_class_acc_of_archive
from .compare import relative_error
from .core import Check, StudentError, run
from .functions import check_elementwise
from .losses import check_loss, check_penalty
from .softmax import check_softmax, check_softmax_cross_entropy, check_softmax_vjp
from .agreement import check_layers_agree
from .layers import check_layer
from .network import check_adam, check_mlp_gradients
from .params import check_count_function, check_parameter_count
from .result import CheckResult, rubric
from .values import check_values
from .gradcheck import check_numerical_gradient, check_relative_error  # noqa: E402

# Checks on the NumPy exercises of A1 and A4 (no torch at import: their kernels have none).
from .cnn_training import check_network_gradients, check_train_step  # noqa: E402
from .convolution import check_col2im, check_im2col  # noqa: E402
from .evaluation import (check_confusion_matrix, check_most_confused_pairs,  # noqa: E402
                         check_per_class_accuracy)
from .mlp import check_mlp_forward, check_init_params, check_predict  # noqa: E402
from .mlp_training import check_train  # noqa: E402
from .preprocessing import (check_flat_preprocess, check_image_preprocess,  # noqa: E402
                            check_pixel_statistics)
from .utilities import (check_accuracy_function, check_minibatches, check_one_hot,  # noqa: E402
                        check_weights_round_trip)

__all__ = [
    "Check", "CheckResult", "StudentError", "run", "rubric",
    "check_parameter_count", "check_count_function",
    "relative_error",
    "check_elementwise", "check_softmax", "check_softmax_vjp", "check_loss", "check_penalty",
    "check_softmax_cross_entropy", "check_layer", "check_layers_agree",
    "check_mlp_gradients", "check_adam",
    "check_values", "check_numerical_gradient", "check_relative_error", "evaluate", "check_saved_network_accuracy",
    "check_init_params", "check_mlp_forward", "check_predict", "check_one_hot",
    "check_accuracy_function", "check_minibatches", "check_weights_round_trip", "check_train",
    "check_pixel_statistics", "check_flat_preprocess", "check_image_preprocess",
    "check_confusion_matrix", "check_most_confused_pairs", "check_per_class_accuracy",
    "check_im2col", "check_col2im", "check_network_gradients", "check_train_step",
    "check_archive_accuracy", "check_class_acc_of_archive",
]

from importlib.util import find_spec as _find_spec

if _find_spec(f"{__name__}.augment"):  # A5: augmentation, schedules, model make-up, per class
    from .augment import check_random_crop_flip  # noqa: E402
    from .makeup import check_parameter_sizes  # noqa: E402
    from .per_class import check_class_accuracies  # noqa: E402
    from .schedules import (check_final_training, check_rejects_unknown_name,  # noqa: E402
                            check_warmup_schedule)

    __all__ += ["check_random_crop_flip", "check_parameter_sizes",
                "check_class_accuracies", "check_final_training", "check_rejects_unknown_name",
                "check_warmup_schedule"]

if _find_spec(f"{__name__}.training"):  # checks on loaders, optimisers, schedulers
    from .training import *  # noqa: F401,F403,E402
    from .training import __all__ as _training_all  # noqa: E402

    __all__ += list(_training_all)

    # Checks of A2/A3's PyTorch parts (they import torch lazily, like training).
    from . import batches, checkpoints, epochs, metrics, models, transforms  # noqa: E402

    for _module in (transforms, batches, epochs, checkpoints, metrics, models):
        for _name in _module.__all__:
            globals()[_name] = getattr(_module, _name)
        __all__ += list(_module.__all__)
