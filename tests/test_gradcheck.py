"""The student's own gradient checker (A1): each typical mistake caught with its message."""
import numpy as np
import pytest

from autograder.student import checks


def central(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + h
        plus = f(x)
        x.flat[i] = old - h
        minus = f(x)
        x.flat[i] = old
        grad.flat[i] = (plus - minus) / (2 * h)
    return grad


def forward_differences(f, x, h=1e-5):
    grad, base = np.zeros_like(x), f(x)
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + h
        grad.flat[i] = (f(x) - base) / h
        x.flat[i] = old
    return grad


def divided_by_h(f, x):
    return 2 * central(f, x)


def not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(x.size):
        x.flat[i] += h
        plus = f(x)
        x.flat[i] -= 2 * h
        grad.flat[i] = (plus - f(x)) / (2 * h)
    return grad


def first_row_only(f, x, h=1e-5):
    grad = np.zeros_like(x)
    grad[0] = central(f, x.copy())[0]
    return grad


def rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def test_a_correct_checker_passes_on_several_inputs():
    for seed in range(4):
        assert checks.check_numerical_gradient(central, shape=(2, 5), seed=seed).passed
        assert checks.check_relative_error(rel, seed=seed).passed


@pytest.mark.parametrize("buggy, words", [
    (forward_differences, "forward differences"),
    (divided_by_h, "divided by h instead of 2h"),
    (not_restored, "changed x"),
    (first_row_only, "numerical_gradient(f, x) is wrong"),
    (lambda f, x: central(f, x).ravel(), "returned shape (12,)"),
])
def test_each_numerical_gradient_mistake_has_its_own_message(buggy, words):
    result = checks.check_numerical_gradient(buggy, raise_on_fail=False)
    assert not result.passed and words in result.message, result.message


@pytest.mark.parametrize("buggy, words", [
    (lambda a, b: float(np.max(np.abs(a - b) / np.abs(a))), "not finite"),
    (lambda a, b: float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))), "divides by |a| only"),
    (lambda a, b: float(np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12))),
     "averages over the entries"),
    (lambda a, b: np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12), "return one number"),
])
def test_each_relative_error_mistake_has_its_own_message(buggy, words):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = checks.check_relative_error(buggy, raise_on_fail=False)
    assert not result.passed and words in result.message, result.message


def test_a_correct_checker_never_fails_and_forward_differences_are_always_named(monkeypatch):
    # Every grading job draws new inputs (its nonce): no input may fail an honest checker.
    for i in range(100):
        monkeypatch.setenv("AUTOGRADER_NONCE", f"job-{i}")
        for shape in [(3, 4), (7,), (2, 3, 2)]:
            assert checks.check_numerical_gradient(central, shape=shape, seed=i).passed
            wrong = checks.check_numerical_gradient(forward_differences, shape=shape, seed=i,
                                                    raise_on_fail=False)
            assert "forward differences" in wrong.message
