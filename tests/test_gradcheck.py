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


# ---------------------------------------------------------------- backprop, not differences
# An A1 submission whose mlp_gradients differentiates its own forward pass numerically
# (issue 20): accurate enough for any small network, so each gradient check also runs a
# large network (network.LARGE_SIZES) on which that takes hours, and records a sketch of
# its gradients that only the whole gradient reproduces (checks/sketch.py).

def a1_forward():
    from tests.test_checks_scratch import A1_CELLS, solutions

    return solutions("a1_numpy_mlp", A1_CELLS + ["mlp_gradients"])


A1 = a1_forward()


def own_loss(params, X, Y, activation, penalty, alpha):
    """The loss from the student's own forward pass: what a numerical attacker differentiates."""
    P, _ = A1["forward"](params, X, activation)
    loss = -np.sum(Y * np.log(P)) / len(X)
    weights = [v for k, v in params.items() if k.startswith("W")]
    return loss + (A1["PENALTIES"][penalty][0](weights, alpha) if penalty else 0.0)


def numerical_mlp_gradients(order, activation="relu", penalty=None, alpha=0.0, budget=None,
                            known=None):
    """grad_fn by central differences of the student's own loss, of order 2 or 4 (h = 1e-5,
    values below 1e-10 taken as the exact zeros of dead ReLU units). ``budget``: forward passes it may spend (the cell limit),
    entries beyond it left at zero; ``known``: a gradient it may copy at the sampled entries
    (the best a time-boxed attacker can do: it knows the nonce, hence the sampled indices)."""
    h = 1e-5
    steps = {2: ((1, 1 / 2), (-1, -1 / 2)),
             4: ((-2, 1 / 12), (-1, -8 / 12), (1, 8 / 12), (2, -1 / 12))}[order]

    def grad_fn(params, X, Y):
        spent, grads = 0, {k: np.zeros_like(v) for k, v in params.items()}
        for key, value in params.items():
            for i in range(value.size):
                if budget is not None and spent + len(steps) > budget:
                    break
                old = value.flat[i]
                total = 0.0
                for k, weight in steps:
                    value.flat[i] = old + k * h
                    total += weight * own_loss(params, X, Y, activation, penalty, alpha)
                value.flat[i] = old
                grads[key].flat[i] = total / h if abs(total / h) > 1e-10 else 0.0
                spent += len(steps)
        if known is not None:
            for key, index in known["indices"].items():
                grads[key].flat[index] = known["grads"][key].flat[index]
        return grads
    return grad_fn


SMALL = [("relu", None, 0.0, [6, 5, 4]), ("tanh", "l2", 0.1, [5, 4, 3]),
         ("sigmoid", "l1", 0.05, [8, 6, 5])]


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("activation, penalty, alpha, sizes", SMALL)
def test_numerical_differentiation_is_caught_by_cost_not_accuracy(order, activation, penalty,
                                                                  alpha, sizes):
    """On a large network as small as the visible ones, central differences of the student's
    own forward pass pass: only the size of the default large network stops them."""
    grad_fn = numerical_mlp_gradients(order, activation, penalty, alpha)
    result = checks.check_mlp_gradients(grad_fn, sizes, activation, penalty=penalty, alpha=alpha,
                                        large=(7, 6, 5, 4), large_batch=6, raise_on_fail=False)
    assert result.passed, result.message


@pytest.mark.parametrize("order", [2, 4])
def test_numerical_differentiation_that_stops_at_the_cell_limit_loses_the_check(order,
                                                                               monkeypatch):
    """The attacker at grading: every small-network entry differentiated, then on the large
    network as many entries as A1's cell limit allows (3 x 120 s at the measured 20 ms per
    forward pass: 18,000 passes), plus the exact values at every sampled entry (the nonce
    is in its environment). It still fails: the block sums of squares need every entry."""
    from autograder.student.checks.numpy_code.network import MLPGradientCheck

    monkeypatch.setenv("AUTOGRADER_NONCE", "grading-job-7")
    check = MLPGradientCheck([6, 5, 4], "tanh", 5, seed=3)
    inp = check.large_inputs()
    exact = check.reference(inp)
    known = {"indices": inp["indices"], "grads": exact}
    attacker = numerical_mlp_gradients(order, "tanh", budget=40, known=known)

    def grad_fn(params, X, Y):  # the cell limit's 18,000 passes, 40 of them run here
        if params["W1"].shape == exact["W1"].shape:
            grads = attacker(params, X, Y)
            first = 18_000 // (2 * order)  # entries of W1 it could have differentiated
            grads["W1"].flat[:first] = exact["W1"].flat[:first]
            return grads
        return numerical_mlp_gradients(order, "tanh")(params, X, Y)

    result = checks.check_mlp_gradients(grad_fn, [6, 5, 4], "tanh", seed=3, raise_on_fail=False)
    assert not result.passed
    assert result.message.startswith("right on the small network, but wrong on a "
                                     "512-512-512-512-10 network (batch 512)")
    assert "blocks of the gradient of W1" in result.message


def test_backprop_passes_the_large_network_on_every_nonce(monkeypatch):
    for i, (activation, penalty, alpha, sizes) in enumerate(SMALL):
        monkeypatch.setenv("AUTOGRADER_NONCE", f"job-{i}")
        grad_fn = lambda p, X, Y: A1["mlp_gradients"](p, X, Y, activation, penalty, alpha)  # noqa: E731
        assert checks.check_mlp_gradients(grad_fn, sizes, activation, seed=i, penalty=penalty,
                                          alpha=alpha).passed


def test_a_grad_fn_that_fails_only_on_the_large_network_says_so():
    def two_layers_only(params, X, Y):
        if len(params) > 4:
            raise ValueError("too deep")
        return A1["mlp_gradients"](params, X, Y)

    result = checks.check_mlp_gradients(two_layers_only, [6, 5, 4], raise_on_fail=False)
    line = two_layers_only.__code__.co_firstlineno + 2  # the raise: its type and place, not its text
    assert result.message == ("right on the small network, but grad_fn on a 512-512-512-512-10 "
                              f"network raised ValueError at line {line} of two_layers_only")
    wrong = checks.check_mlp_gradients(lambda p, X, Y: {k: 2 * v for k, v in
                                                        A1["mlp_gradients"](p, X, Y).items()},
                                       [6, 5, 4], raise_on_fail=False)
    assert "2x too large" in wrong.message and "small network" not in wrong.message


@pytest.mark.parametrize("forged", [{}, {"error": 3}, {"sketch": {}}, {"sketch": {"W1": 1}},
                                    {"sketch": {"W1": {"blocks": "x", "sample": [1]}}}])
def test_a_forged_large_network_record_fails_with_a_message(forged):
    from autograder.student.checks.numpy_code.network import MLPGradientCheck

    check = MLPGradientCheck([6, 5, 4], large=(7, 6, 5, 4), large_batch=6)
    evidence = check.collect(A1["mlp_gradients"])
    assert check.judge(evidence).passed
    result = check.judge(dict(evidence, large=forged))
    assert not result.passed and result.message


def test_the_trusted_judge_decides_the_large_network_from_the_evidence_file(tmp_path, monkeypatch):
    """As at grading: the kernel only records (its verdict counts for nothing), the judge
    rebuilds the check and decides from the file; the sketch survives the JSON round trip."""
    from autograder.student.checks import evidence as evidence_file
    from autograder.student.checks.numpy_code.network import MLPGradientCheck

    monkeypatch.setenv("AUTOGRADER_NONCE", "grading-job-11")
    monkeypatch.setenv("AUTOGRADER_EVIDENCE", str(tmp_path / "evidence.jsonl"))
    honest = lambda p, X, Y: A1["mlp_gradients"](p, X, Y, "sigmoid")  # noqa: E731
    def bails_out(params, X, Y):  # numerical where that is quick, zeros on the large network
        if params["W1"].size > 10_000:
            return {k: np.zeros_like(v) for k, v in params.items()}
        return numerical_mlp_gradients(4, "sigmoid")(params, X, Y)

    for grad_fn in (honest, bails_out):
        recorded = checks.check_mlp_gradients(grad_fn, [4, 3, 3, 2], "sigmoid", batch=3)
        assert recorded.details == {"recorded": True}
    honest_record, attack_record = evidence_file.read_evidence(str(tmp_path / "evidence.jsonl"))
    monkeypatch.delenv("AUTOGRADER_EVIDENCE")
    judge = MLPGradientCheck([4, 3, 3, 2], "sigmoid", 3)
    judge.nonce = "grading-job-11"
    assert honest_record["identity"] == attack_record["identity"] == judge.identity()
    assert judge.judge(honest_record["evidence"]).passed
    verdict = judge.judge(attack_record["evidence"])
    assert not verdict.passed
    assert verdict.message.startswith("right on the small network, but wrong on a "
                                      "512-512-512-512-10 network"), verdict.message
