"""Every tolerance the checks use, in one place, with the reason for each.

Relative error is ``|a - b| / max(floor, |a| + |b|)`` elementwise; a check reports the
worst entry. All gradient checks run in float64.
"""

# Student's analytic result vs torch autograd (an exact oracle) for one function or
# layer. Both sides are exact up to float64 rounding (~1e-16), so 1e-7 leaves room for
# a different but correct order of operations; any real mistake (a missing term, a
# factor, a wrong region) is off by far more than that.
FUNCTION = 1e-7
LAYER = 1e-7

# A whole network: rounding accumulates over several layers and a softmax, and the
# course spec asks for 1e-6 on whole-network parameter gradients.
NETWORK = 1e-6

# Analytic gradient vs central differences of the student's own forward (h = 1e-5).
# Truncation error is O(h^2) ~ 1e-10 relative and cancellation noise ~ eps/h ~ 1e-11
# absolute; entries far below the largest one are dominated by that noise, so the
# floor of the relative error is NUMERICAL_FLOOR times the largest |gradient| entry.
NUMERICAL = 1e-6
NUMERICAL_STEP = 1e-5
NUMERICAL_FLOOR = 1e-4

# Two implementations of the same layer by the student (loop vs im2col convolution):
# they sum the same products in a different order.
AGREE = 1e-9

# One or a few Adam steps against torch.optim.Adam in float64.
OPTIMIZER = 1e-7

# Forward values (activations, softmax, losses) against the oracle.
VALUE = 1e-7

# Smallest relative-error denominator, as in the course spec.
FLOOR = 1e-8
