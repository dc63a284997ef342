"""check_sgd (A1's test_optimisers): the teacher's SGD and a correct variant pass; each
typical mistake fails with its own cause, and a mistake with no known cause gets the
symptom only."""
import pytest

from autograder.student import checks
from tests.test_checks_scratch import A1


class SGDRebindsEntries:
    """Correct: a new array in each entry of the caller's dict."""

    def __init__(self, lr=0.1):
        self.lr = lr

    def update(self, params, grads):
        for key in params:
            params[key] = params[key] - self.lr * grads[key]


def sgd(step):
    """An SGD class whose update is ``step(params, grads, lr)``."""
    class SGD:
        def __init__(self, lr=0.1):
            self.lr = lr

        def update(self, params, grads):
            return step(params, grads, self.lr)
    return SGD


def ascent(params, grads, lr):
    for key in params:
        params[key] += lr * grads[key]


def no_lr(params, grads, lr):
    for key in params:
        params[key] -= grads[key]


def rebinds_dict(params, grads, lr):
    params = {key: params[key] - lr * grads[key] for key in params}
    return params


def lr_squared(params, grads, lr):
    for key in params:
        params[key] -= lr * lr * grads[key]


@pytest.mark.parametrize("seed", [0, 2203])
@pytest.mark.parametrize("sgd_class", [A1["SGD"], SGDRebindsEntries], ids=["teacher", "rebinds-entries"])
def test_a_correct_sgd_passes(sgd_class, seed):
    assert checks.check_sgd(sgd_class, lr=0.5, steps=3, seed=seed, raise_on_fail=False).passed


@pytest.mark.parametrize("step, words", [
    (ascent, "moved up the gradient"),
    (no_lr, "the learning rate is missing"),
    (rebinds_dict, "it is unchanged: update must change the arrays of the params dict in place"),
])
def test_each_sgd_mistake_is_named(step, words):
    result = checks.check_sgd(sgd(step), lr=0.5, steps=3, seed=0, raise_on_fail=False)
    assert not result.passed
    assert words in result.message


def test_a_wrong_step_with_no_known_cause_gets_the_symptom_only():
    result = checks.check_sgd(sgd(lr_squared), lr=0.5, steps=3, seed=0, raise_on_fail=False)
    assert not result.passed
    assert "relative error" in result.message
    for words in ("moved up", "learning rate is missing", "unchanged"):
        assert words not in result.message


def test_an_sgd_that_cannot_be_built_says_so():
    class NoUpdate:
        def __init__(self, lr=0.1):
            self.lr = lr

    result = checks.check_sgd(NoUpdate, raise_on_fail=False)
    assert not result.passed and "no update(params, grads) method" in result.message
