"""Attacks on the trusted judge: submissions that try to make the kernel's say count.

Each replaces one answer cell of the reference solution of the fixture course; the
expected scores are the points of its honest part and nothing more (see hostile.py).
The judge scores every test cell from the evidence of its checks, rebuilt from source/,
so silencing errors, patching the checks or NumPy, lying objects and forged evidence all
gain nothing.
"""
from __future__ import annotations


FULL = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}
WRONG_DOUBLE = "def double(x):\n    return x * 0 + 4\n"   # right only for the visible double(2)
HONEST_DOUBLE = "def double(x):\n    return 2 * x\n"
PICKLE_MARKER = "/tmp/pickle-ran"                          # inside the sandbox; checked outside too
# The identity of the hidden double check, as a student can compute it in the kernel.
DOUBLE_CHECK = ("from autograder.student.checks.numpy_code.values import ValuesCheck\n"
                "hidden = ValuesCheck('double', shape=(3, 5), seed=12)\n"
                "visible = ValuesCheck('double', shape=(4,))\n")


def judge_attacks(Attack) -> dict:
    """{student: Attack} of attacks on the judge (Attack is hostile.Attack)."""
    return {
        # -- the kernel's verdict is worth nothing
        "swallow-errors": Attack("double_answer", (
            "ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
            "def clear(result):\n    result.error_in_exec = None\n    result.error_before_exec = None\n"
            "ip.events.register('post_run_cell', clear)\n" + WRONG_DOUBLE),
            {**FULL, "double_test": 0}),
        "patch-checks": Attack("double_answer", (
            "import autograder.student.checks as c\nfrom autograder.student.checks import core\n"
            "c.check_values = lambda *a, **k: core.CheckResult('x', True, 'ok', 1, 1)\n"
            + WRONG_DOUBLE), {**FULL, "double_test": 0}),
        "patch-record": Attack("double_answer", (
            "from autograder.student.checks import core\n"
            "core.record_evidence = lambda check, evidence, identity: "
            "open(__import__('os').environ['AUTOGRADER_EVIDENCE'], 'a').write("
            "__import__('json').dumps({'identity': identity, 'evidence': {'passed': True}}) + '\\n')\n"
            + WRONG_DOUBLE), {**FULL, "double_test": 0, "train_test": 0}),
        "patch-numpy": Attack("double_answer", (
            "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
            "np.array_equal = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: True\n"
            + WRONG_DOUBLE), {**FULL, "double_test": 0}),
        # -- objects that lie about themselves
        "lying-eq": Attack("double_answer", (
            "import numpy as np\nclass Liar(np.ndarray):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n"
            "    def tolist(self):\n        return (2 * np.asarray(self)).tolist()\n"
            "def double(x):\n    return np.zeros_like(x).view(Liar) if hasattr(x, 'shape') else 4\n"),
            {**FULL, "double_test": 0}),
        "lying-array": Attack("double_answer", (
            "import numpy as np\nclass Fake:\n    def __init__(self, shape):\n        self.shape = shape\n"
            "    def __array__(self, dtype=None, copy=None):\n        return np.full(self.shape, 4.0)\n"
            "    def __eq__(self, other):\n        return True\n"
            "def double(x):\n    return Fake(np.shape(x)) if np.ndim(x) else 4\n"),
            {**FULL, "double_test": 0}),
        "lying-float": Attack("double_answer", (
            "class Always(float):\n    def __eq__(self, other):\n        return True\n"
            "    __hash__ = float.__hash__\n"
            "def double(x):\n    return Always(0.0)\n"), {**FULL, "double_test": 0}),
        # -- forged evidence
        "forged-visible-inputs": Attack("double_answer", (
            "import json, os\n" + DOUBLE_CHECK +
            "visible.nonce = hidden.nonce = ''\n"   # the inputs a student sees at home
            "path = os.environ['AUTOGRADER_EVIDENCE']\n"
            "for check in (visible, hidden):\n"
            "    x = check.inputs()['x']\n"
            "    record = {'identity': check.identity(), 'kind': 'values', 'name': check.name,"
            " 'seed': check.seed, 'evidence': {'y': {'__array__': (2 * x).ravel().tolist(),"
            " 'dtype': 'float64', 'shape': list(x.shape)}}}\n"
            "    open(path, 'a').write(json.dumps(record) + '\\n')\n" + WRONG_DOUBLE),
            {**FULL, "double_test": 0}),
        "forged-odd-dtypes": Attack("double_answer", (
            "import json, os\n" + DOUBLE_CHECK +
            "path = os.environ['AUTOGRADER_EVIDENCE']\n"
            "for check, y in ((visible, {'__array__': ['x'] * 4, 'dtype': 'object', 'shape': [4]}),"
            " (hidden, {'__array__': [1e308] * 15, 'dtype': 'complex128', 'shape': [3, 5]})):\n"
            "    open(path, 'a').write(json.dumps({'identity': check.identity(),"
            " 'evidence': {'y': y}}) + '\\n')\n" + WRONG_DOUBLE), {**FULL, "double_test": 0}),
        "evidence-junk": Attack("double_answer", (
            "import os\npath = os.environ['AUTOGRADER_EVIDENCE']\n"
            "open(path, 'a').write('[' * 100000 + '\\n{not json\\n' + '\"a string\"\\n')\n"
            "def double(x):\n    return 2 * x\n"), FULL),
        "evidence-truncated": Attack("double_answer", (
            "import os\nopen(os.environ['AUTOGRADER_EVIDENCE'], 'w').close()\n"
            "def double(x):\n    return 2 * x\n"), {**FULL, "relu_test": 0}),
        # -- saved weights that are not plain arrays
        "pickled-weights": Attack("centroid_answer", (
            "import numpy as np, os\n"
            "class Payload:\n    def __reduce__(self):\n"
            f"        return (os.system, ('touch {PICKLE_MARKER}',))\n"
            "np.savez('tiny_weights.npz', W1=np.array([Payload()], dtype=object), b1=np.zeros(10))\n"),
            {**FULL, "centroid_test": 0}),
        "bomb-weights": Attack("centroid_answer", (
            "import io, zipfile, numpy as np\n"   # a header claiming 8 TB, then 64 bytes
            "head = io.BytesIO()\n"
            "np.lib.format.write_array_header_1_0(head, {'descr': '<f8', "
            "'fortran_order': False, 'shape': (10 ** 12,)})\n"
            "with zipfile.ZipFile('tiny_weights.npz', 'w') as z:\n"
            "    z.writestr('W1.npy', head.getvalue() + bytes(64))\n"
            "    z.writestr('b1.npy', head.getvalue())\n"), {**FULL, "centroid_test": 0}),
        "oversized-weights": Attack("centroid_answer", (
            "import numpy as np\n"
            "np.savez('tiny_weights.npz', W1=np.zeros((784, 10)), b1=np.zeros(10),"
            " padding=np.zeros(5_000_000))\n"), {**FULL, "centroid_test": 0},
            note="over the 32 MB cap"),
        # -- leaking the hidden test through what the grader shows
        "leak-hidden-test": Attack("relu_answer", (
            "import numpy as np\nLEAK = []\n"
            "def relu(x):\n    return np.maximum(0, x)\n"
            "def relu_grad(x):\n    text = '\\n'.join(get_ipython().user_ns['In'][-1:])\n"
            "    LEAK.append(text)\n    raise ValueError(text)\n"),
            {**FULL, "relu_test": 0}),
        "leak-in-later-output": Attack("double_answer", (
            "import sys\nsource = '\\n'.join(get_ipython().user_ns['In'])\n"
            "print(source)\nsys.stderr.write(source)\n"
            "def double(x):\n    raise RuntimeError(source)\n"), {**FULL, "double_test": 0}),
        # -- evidence over the parser's limits (a 5,000-digit integer once crashed the judge)
        "evidence-oversized": Attack("double_answer", (
            "import os\npath = os.environ['AUTOGRADER_EVIDENCE']\n"
            "open(path, 'a').write('{\"identity\": \"forged\", \"evidence\": {\"n\": '"
            " + '9' * 5000 + '}}\\n' + '{\"identity\": \"deep\", \"evidence\": {\"n\": '"
            " + '[' * 10000 + ']' * 10000 + '}}\\n')\n" + HONEST_DOUBLE), FULL),
    }
