"""Checks on code students write in NumPy (A1, A4, and the NumPy functions of every
assignment): functions and their gradients, layers, whole networks, SGD and Adam, training steps,
preprocessing and evaluation helpers.

Nothing on this import path imports torch: the from-scratch assignments' grading kernels
have none. Judges that use torch as their oracle import it inside the function
(tests/test_checks_scratch.py and tests/test_checks_layout.py hold this).
"""
from .agreement import check_layers_agree
from .cnn_training import check_network_gradients, check_train_step
from .convolution import check_col2im, check_im2col
from .evaluation import check_confusion_matrix, check_most_confused_pairs, check_per_class_accuracy
from .functions import check_elementwise
from .gradcheck import check_numerical_gradient, check_relative_error
from .layers import check_layer
from .losses import check_loss, check_penalty
from .mlp import check_init_params, check_mlp_forward, check_predict
from .mlp_training import check_train
from .network import check_adam, check_mlp_gradients
from .optimisers import check_sgd
from .preprocessing import check_flat_preprocess, check_image_preprocess, check_pixel_statistics
from .softmax import check_softmax, check_softmax_cross_entropy, check_softmax_vjp
from .utilities import (check_accuracy_function, check_minibatches, check_one_hot,
                        check_weights_round_trip)
from .values import check_values

__all__ = [
    "check_elementwise", "check_softmax", "check_softmax_vjp", "check_loss", "check_penalty",
    "check_softmax_cross_entropy", "check_layer", "check_layers_agree",
    "check_mlp_gradients", "check_adam", "check_sgd", "check_values", "check_numerical_gradient",
    "check_relative_error", "check_init_params", "check_mlp_forward", "check_predict",
    "check_one_hot", "check_accuracy_function", "check_minibatches", "check_weights_round_trip",
    "check_train", "check_pixel_statistics", "check_flat_preprocess", "check_image_preprocess",
    "check_confusion_matrix", "check_most_confused_pairs", "check_per_class_accuracy",
    "check_im2col", "check_col2im", "check_network_gradients", "check_train_step",
]
