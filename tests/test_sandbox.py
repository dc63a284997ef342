"""The kernel sandbox on its own: every test runs real code in a real bwrap sandbox.

As root, test_everything_works_for_an_unprivileged_grader re-runs the tests marked
@unprivileged as uid 1500 (an instructor without root). A machine where no sandbox can be
set up fails these tests with the reason and the fix; it never skips them.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grader import sandbox
from autograder.grader.sandbox import GiB, Limits, MiB
from autograder.grader.sandbox import safetree
from autograder.grader.sandbox.launcher import folder_bytes

PY = sys.executable
UNPRIVILEGED = []   # names of the tests that are re-run as a non-root grader


def unprivileged(test):
    UNPRIVILEGED.append(test.__name__)
    return test


@pytest.fixture
def job_dir(tmp_path):
    problem = sandbox.sandbox_problem()
    assert problem is None, problem
    d = tmp_path / "job"
    d.mkdir()
    return str(d)


def run_in_sandbox(code, job_dir, limits=None, timeout=90, **kw):
    """Run python `code` in the sandbox; return the CompletedProcess."""
    cmd = sandbox.wrap([PY, "-c", textwrap.dedent(code)], writable=[job_dir],
                       limits=limits or Limits.for_budget(60), **kw)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def host_pids_with(marker):
    """Host pids whose command line contains `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def wait_until(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


# A daemon: double fork, new session, ignore SIGTERM, heartbeat in job_dir.
DAEMON = """
import os, signal, time, sys
marker = sys.argv[1] if len(sys.argv) > 1 else ''
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open('ready', 'w').close()
        while True:
            open('beat', 'a').write('.'); time.sleep(0.05)
    os._exit(0)
while not os.path.exists('ready'): time.sleep(0.01)
"""


# ------------------------------------------------------------------ tests --
def test_torch_trains_under_default_limits(job_dir):
    r = run_in_sandbox("""
        import numpy, torch
        m = torch.nn.Linear(8, 1); opt = torch.optim.SGD(m.parameters(), lr=0.1)
        x = torch.randn(32, 8); y = x.sum(1, keepdim=True)
        for _ in range(50):
            opt.zero_grad(); loss = ((m(x) - y) ** 2).mean(); loss.backward(); opt.step()
        print("trained", loss.item() < 1.0)
    """, job_dir)
    assert r.returncode == 0, r.stderr
    assert "trained True" in r.stdout


@unprivileged
def test_student_uid_differs_from_grader_and_has_no_capabilities(job_dir):
    r = run_in_sandbox("""
        import os
        print(os.getuid(), os.getgid())
        print([l for l in open('/proc/self/status') if l.startswith('CapEff')][0])
    """, job_dir)
    uid, gid = map(int, r.stdout.split()[:2])
    assert uid == sandbox.SANDBOX_UID != os.getuid()
    assert "0000000000000000" in r.stdout


@unprivileged
def test_no_network_not_even_host_loopback(job_dir):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(srv.accept()), daemon=True).start()
    r = run_in_sandbox(f"""
        import socket
        print("ifaces", [n for _, n in socket.if_nameindex()])
        for host in ("127.0.0.1", "1.1.1.1", "10.0.0.1"):
            try:
                socket.create_connection((host, {port}), timeout=2); print("CONNECTED", host)
            except OSError as e:
                print("refused", host, e.errno)
    """, job_dir)
    srv.close()
    assert r.returncode == 0, r.stderr
    assert "CONNECTED" not in r.stdout and not accepted
    assert "ifaces ['lo']" in r.stdout   # bwrap's private loopback, nothing else
    assert r.stdout.count("refused") == 3


@unprivileged
def test_host_paths_are_invisible(tmp_path, job_dir):
    secret = tmp_path / "other-job" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("hunter2")
    r = run_in_sandbox(f"""
        import os, sys
        for p in [{str(secret)!r}, {str(secret.parent)!r}, "/etc/shadow", "/etc/hostname",
                  "/work/main/autograder", "/root/.bashrc", "/var", "/opt", "/home/student/x"]:
            print("VISIBLE" if os.path.lexists(p) else "hidden", p)
        print("root", sorted(os.listdir("/root")), sorted(os.listdir("/root/.pyenv")))
        print("job", sorted(os.listdir(os.path.dirname(os.getcwd()))))
    """, job_dir)
    assert r.returncode == 0, r.stderr
    assert "VISIBLE" not in r.stdout and "hunter2" not in r.stdout
    if os.path.isdir("/root/.pyenv"):
        assert "root ['.pyenv'] ['versions']" in r.stdout
    assert "job ['job']" in r.stdout      # no sibling job folders


@unprivileged
def test_writes_succeed_only_inside_job_dir(job_dir):
    marker = f"/tmp/sbx-{uuid.uuid4().hex}"
    r = run_in_sandbox(f"""
        import os, sys
        open("result.txt", "w").write("inside")
        for p in ["/usr/x", "/etc/x", sys.prefix + "/x", sys.base_prefix + "/x", "/x"]:
            try:
                open(p, "w"); print("WROTE", p)
            except OSError as e:
                print("denied", p)
        open({marker!r}, "w").write("private tmp")   # the sandbox's own /tmp
    """, job_dir)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and r.stdout.count("denied") == 5
    assert open(os.path.join(job_dir, "result.txt")).read() == "inside"
    assert not os.path.exists(marker)


@unprivileged
def test_proc_shows_no_host_processes(job_dir):
    grader_cmdline = open("/proc/self/cmdline", "rb").read()
    r = run_in_sandbox(f"""
        import os
        pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
        cmds = [open(f'/proc/{{p}}/cmdline', 'rb').read() for p in pids]
        print(pids); print(bytes.fromhex({grader_cmdline.hex()!r}) in cmds)
    """, job_dir)
    assert r.returncode == 0, r.stderr
    pids = eval(r.stdout.splitlines()[0])
    assert max(pids) < 10 and os.getpid() not in pids
    assert r.stdout.splitlines()[1] == "False"


def test_sigterm_ignoring_daemon_does_not_survive_the_job(job_dir):
    marker = f"daemon-{uuid.uuid4().hex}"
    r = subprocess.run(sandbox.wrap([PY, "-c", DAEMON, marker], writable=[job_dir],
                                    limits=Limits.for_budget(60)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(job_dir, "ready"))
    assert wait_until(lambda: not host_pids_with(marker), 3)
    beat = os.path.join(job_dir, "beat")
    size = os.path.getsize(beat) if os.path.exists(beat) else 0
    time.sleep(0.3)
    assert (os.path.getsize(beat) if os.path.exists(beat) else 0) == size


def test_daemon_dies_when_grader_is_sigkilled(job_dir):
    marker = f"daemon-{uuid.uuid4().hex}"
    grader = subprocess.Popen([PY, "-c", textwrap.dedent(f"""
        import subprocess, sys, time
        from autograder.grader import sandbox
        cmd = sandbox.wrap([{PY!r}, "-c", {DAEMON!r} + "\\ntime.sleep(600)", {marker!r}],
                           writable=[{job_dir!r}])
        subprocess.Popen(cmd).wait()
    """)])
    try:
        assert wait_until(lambda: os.path.exists(os.path.join(job_dir, "ready")), 30)
        assert len(host_pids_with(marker)) >= 2       # sleeper + daemon alive
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        assert wait_until(lambda: not host_pids_with(marker), 5), host_pids_with(marker)
    finally:
        grader.kill()


def test_memory_bomb_is_stopped(job_dir):
    r = run_in_sandbox("""
        try:
            bomb = bytearray(6 * 2**30); print("ALLOCATED 6GB")
        except MemoryError:
            print("MemoryError big")
        chunks = []
        try:
            while True:
                chunks.append(bytearray(64 * 2**20))   # touched: bytearray zero-fills
        except MemoryError:
            print("MemoryError at", len(chunks) * 64, "MiB")
    """, job_dir, limits=Limits(memory_bytes=1 * GiB))
    assert r.returncode == 0, r.stderr
    assert "MemoryError big" in r.stdout
    reached = int(r.stdout.split("at")[1].split()[0])
    assert 512 <= reached <= 1024


@unprivileged
def test_fork_bomb_is_bounded(job_dir):
    r = run_in_sandbox("""
        import os, time
        n = 0
        try:
            for _ in range(200):
                if os.fork() == 0:
                    time.sleep(30); os._exit(0)
                n += 1
        except OSError as e:
            print("fork failed", e.errno)
        print("forked", n)
    """, job_dir, limits=Limits(processes=64))
    assert r.returncode == 0, r.stderr
    assert "fork failed 11" in r.stdout            # EAGAIN
    # 64 tasks in the sandbox's user namespace: bwrap's pid 1 + python + 62
    assert "forked 62" in r.stdout


def test_file_size_limit(job_dir):
    r = run_in_sandbox("""
        try:
            with open("big.bin", "wb") as f:
                f.write(b"x" * (2 * 2**20))
            print("WROTE")
        except OSError as e:
            print("errno", e.errno)
    """, job_dir, limits=Limits(file_size_bytes=1 * MiB))
    assert "errno 27" in r.stdout, r.stdout + r.stderr   # EFBIG
    assert os.path.getsize(os.path.join(job_dir, "big.bin")) <= MiB


def test_home_is_private_and_fresh_each_run(job_dir):
    plant = """
        import os
        print("home", os.environ["HOME"], sorted(os.listdir(os.environ["HOME"])))
        d = os.path.expanduser("~/.ipython/profile_default/startup"); os.makedirs(d)
        open(d + "/00-evil.py", "w").write("print('pwned')")
    """
    first = run_in_sandbox(plant, job_dir)
    second = run_in_sandbox(plant, job_dir)
    assert first.returncode == second.returncode == 0, second.stderr
    assert "home /home/student []" in first.stdout
    assert "home /home/student []" in second.stdout


def test_folder_bytes_counts_files_but_not_symlink_targets(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 100_000)
    (tmp_path / "link").symlink_to("/usr")
    assert 100_000 <= folder_bytes([str(tmp_path)]) < 200_000


def deep_folder(root, depth):
    """root/d/d/.../d (``depth`` folders), made through descriptors (no path is that long)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


def hostile_tree(root):
    """A folder with what a kernel may leave: a link out, a link loop, a FIFO, a socket,
    a folder nobody may read; returns the outside file the link points to."""
    outside = root.parent / f"{root.name}-outside.txt"
    outside.write_text("keep")
    os.chmod(outside, 0o600)
    (root / "sub").mkdir()
    (root / "sub" / "out").symlink_to(outside)
    (root / "sub" / "loop").symlink_to(root)
    (root / "sub" / "self").symlink_to("self")
    os.mkfifo(root / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    sock.close()
    (root / "closed" / "inner").mkdir(parents=True)
    (root / "closed" / "inner" / "f").write_text("x")
    os.chmod(root / "closed" / "inner", 0)
    os.chmod(root / "closed", 0)
    return outside


@unprivileged
def test_safe_tree_removes_ten_thousand_levels_with_few_descriptors(tmp_path, monkeypatch):
    deep_folder(tmp_path, 10_000)
    monkeypatch.setattr(safetree, "_fd_budget", lambda: 16)  # climbs back through ".."
    entries = list(safetree.walk(tmp_path))
    assert len(entries) == 10_000
    assert folder_bytes([str(tmp_path)]) > 10_000 * 512
    assert safetree.remove_tree(tmp_path) == []
    assert not tmp_path.exists()


@unprivileged
def test_safe_tree_never_follows_links_and_handles_fifos_sockets_closed_folders(tmp_path):
    root = tmp_path / "job"
    root.mkdir()
    outside = hostile_tree(root)
    removed = safetree.remove_special(root)
    assert sorted(n.split(":")[0] for n in removed if "not kept" in n) == [
        "fifo", "sock", "sub/loop", "sub/out", "sub/self"]
    closed = [] if os.geteuid() == 0 else ["closed/: not read (permission denied)"]
    assert [n for n in removed if "not kept" not in n] == closed
    # root reads a closed folder; an ordinary grader gets a note, not an exception
    assert safetree.chmod_files(root, 0o644) == closed
    assert oct(outside.stat().st_mode & 0o777) == "0o600"   # never changed through the link
    (tmp_path / "again").mkdir()
    hostile_tree(tmp_path / "again")
    assert safetree.remove_tree(root) == []
    assert safetree.remove_tree(tmp_path / "again") == []
    assert not root.exists() and not (tmp_path / "again").exists()
    assert outside.read_text() == "keep"


def test_safe_tree_chown_and_bytes_of_twenty_thousand_files(tmp_path):
    for i in range(20_000):
        (tmp_path / f"f{i}").write_bytes(b"x")
    (tmp_path / "link").symlink_to("/usr")
    assert 20_000 * 512 <= folder_bytes([str(tmp_path)]) < 20_000 * 8192
    if os.geteuid() == 0:
        assert safetree.chown_tree(tmp_path, 1234, 1234) == []
        assert (tmp_path / "f7").stat().st_uid == 1234
        assert os.stat("/usr").st_uid == 0  # the link changed, not its target


def test_safe_tree_walk_notes_a_folder_swapped_for_a_link(tmp_path):
    """A folder replaced between listing and opening is not entered."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    walked = []
    for fd, name, st, rel in safetree.walk(tmp_path):
        walked.append(rel)
        if rel == "a":  # topdown: swap it before the walk opens it
            os.rename("a", "b", src_dir_fd=fd, dst_dir_fd=fd)
            os.symlink("/usr", "a", dir_fd=fd)
    assert "a/f" not in walked and not any(r.startswith("a/") for r in walked)


@unprivileged
def test_notebook_runs_through_nbclient(tmp_path, job_dir, monkeypatch):
    kernels = tmp_path / "share" / "kernels"
    monkeypatch.setenv("JUPYTER_PATH", str(kernels.parent))
    runtime = tmp_path / "run"
    runtime.mkdir()
    name = sandbox.write_kernelspec(kernels, "sandboxed", runtime=runtime, writable=[job_dir],
                                    limits=Limits.for_budget(60), python_flags=())
    marker = f"nbdaemon-{uuid.uuid4().hex}"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)"),
        nbformat.v4.new_code_cell("import os, sys, subprocess\n"
                                  f"subprocess.Popen([sys.executable, '-c', {DAEMON!r}, {marker!r}])\n"
                                  "os.getuid()"),
        nbformat.v4.new_code_cell("open('answer.txt', 'w').write(str(x))"),
    ])
    NotebookClient(nb, kernel_name=name, config=sandbox.client_config(runtime),
                   timeout=60, resources={"metadata": {"path": job_dir}}).execute()
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == str(sandbox.SANDBOX_UID)
    assert open(os.path.join(job_dir, "answer.txt")).read() == "42"
    assert wait_until(lambda: not host_pids_with(marker), 5)   # daemon gone too


def fake_gpu_machine(root):
    """A tree like a machine with two GPUs (nvidia0, nvidia1) and the control nodes, each a
    link to the real character device /dev/null, and the driver's word on GPU 1."""
    (root / "dev").mkdir(parents=True)
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"):
        (root / "dev" / name).symlink_to("/dev/null")
    info = root / "proc/driver/nvidia/gpus/0000:41:00.0/information"
    info.parent.mkdir(parents=True)
    info.write_text("Model: \t\t NVIDIA H200\nGPU UUID: \t GPU-4b1d-h200\nDevice Minor: \t 1\n")
    return root


DEVICES = """
import json, os, stat
nodes = {n: stat.S_ISCHR(os.stat("/dev/" + n).st_mode) for n in sorted(os.listdir("/dev"))
         if n.startswith("nvidia")}
with open("/dev/nvidia1" if "nvidia1" in nodes else "/dev/null", "w") as f:
    f.write("x")  # the node is usable, not only listed
print(json.dumps({"nodes": nodes, "dev": sorted(os.listdir("/dev")),
                  "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}))
"""


@unprivileged
def test_a_kernel_given_a_gpu_sees_exactly_its_nodes_and_its_cuda_variable(tmp_path, job_dir,
                                                                          monkeypatch):
    from autograder.grader.sandbox import gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the grader's own: never inherited
    gpu = gpus.discover(fake_gpu_machine(tmp_path / "machine"))[1]
    r = run_in_sandbox(DEVICES, job_dir, env=gpus.kernel_env(gpu),
                       devices=gpus.device_binds(gpu))
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["nodes"] == {"nvidia1": True, "nvidia-uvm": True, "nvidia-uvm-tools": True,
                             "nvidiactl": True}  # character devices; never GPU 0's node
    assert seen["cuda"] == "GPU-4b1d-h200"


def test_a_kernel_on_the_cpu_keeps_the_minimal_dev_and_sees_no_gpu(tmp_path, job_dir,
                                                                  monkeypatch):
    from autograder.grader.sandbox import gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    fake_gpu_machine(tmp_path / "machine")
    before = sandbox.wrap(["true"], writable=[job_dir])
    assert sandbox.wrap(["true"], writable=[job_dir], devices=()) == before  # unchanged
    assert [b for b in json.loads(before[4])["binds"] if b[0] == "dev"] == []
    r = run_in_sandbox(DEVICES, job_dir, env=gpus.kernel_env(None))
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["nodes"] == {} and seen["cuda"] == ""
    assert seen["dev"] == ["core", "fd", "full", "null", "ptmx", "pts", "random", "shm",
                           "stderr", "stdin", "stdout", "tty", "urandom", "zero"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an ordinary uid")
def test_everything_works_for_an_unprivileged_grader():
    """Re-run the @unprivileged tests as uid 1500.  /root is 0700 here, so the
    instructor could not even start this venv's python; a private mount ns
    exposes just /root/.pyenv, as on a machine with a world-readable Python."""
    # pytest's own tmp folder is 0700 root: use a fresh one the uid can reach
    home = tempfile.mkdtemp(prefix="sbx-instructor-")
    os.chmod(home, 0o755)
    os.chown(home, 1500, 1500)
    stage = tempfile.mkdtemp(prefix="sbx-pyenv-")
    script = f"""
        set -e
        mount --bind /root/.pyenv {stage}
        mount -t tmpfs -o mode=755 none /root && mkdir /root/.pyenv
        mount --bind {stage} /root/.pyenv
        exec setpriv --reuid=1500 --regid=1500 --clear-groups env HOME={home} \
            {PY} -m pytest -q -p no:cacheprovider -k "{' or '.join(UNPRIVILEGED)}" \
            --basetemp={home}/pt {os.path.abspath(__file__)}
    """
    try:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        os.rmdir(stage)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert f"{len(UNPRIVILEGED)} passed" in r.stdout, r.stdout[-1000:]


# ---------------------------------------------------------------- seccomp --
# Each call in its own forked child: were PTRACE_TRACEME allowed, only that child would be
# traced, and a call that worked leaves nothing holding the output open.
SYSCALLS = """
import ctypes, errno, json, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
victim = subprocess.Popen(["sleep", "60"])
CALLS = {"ptrace traceme": (101, 0, 0, 0, 0), "ptrace attach": (101, 16, victim.pid, 0, 0),
         "process_vm_readv": (310, victim.pid, 0, 1, 0, 1, 0), "keyctl": (250, 0, 0, 0, 0),
         "add_key": (248, 0, 0, 0, 0, 0), "request_key": (249, 0, 0, 0, 0),
         "bpf": (321, 0, 0, 0), "mount": (165, 0, 0, 0, 0, 0), "umount2": (166, 0, 0),
         "unshare user": (272, 0x10000000), "unshare mount": (272, 0x20000),
         "setns": (308, 0, 0), "perf_event_open": (298, 0, 0, -1, -1, 0),
         "userfaultfd": (323, 0), "io_uring_setup": (425, 1, 0), "fsopen": (430, 0, 0),
         "chroot": (161, 0), "pivot_root": (155, 0, 0),
         "clone new user": (56, 0x10000000 | 17, 0, 0, 0, 0),
         "clone new net": (56, 0x40000000 | 17, 0, 0, 0, 0),
         "clone3": (435, 0, 0), "x32 getpid": (0x40000000 + 39,)}
found = {}
for name, (nr, *args) in CALLS.items():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 1), os.dup2(null, 2)   # a leftover (traced, cloned) holds no pipe
        ret = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
        os.write(w, (errno.errorcode.get(ctypes.get_errno(), "?") if ret < 0 else "ALLOWED").encode())
        os._exit(0)
    os.close(w)
    found[name] = os.read(r, 100).decode() or "ALLOWED"   # a clone's child exits silently
    os.waitpid(pid, 0)
victim.kill()
print("SYSCALLS", json.dumps(found))
"""


@unprivileged
def test_seccomp_denies_ptrace_keyrings_bpf_mounts_and_namespaces(job_dir):
    r = run_in_sandbox(SYSCALLS, job_dir)
    assert r.returncode == 0, r.stderr[-2000:]
    found = __import__("json").loads(r.stdout.split("SYSCALLS ", 1)[1])
    assert found.pop("clone3") == "ENOSYS"  # C libraries then fall back to clone
    assert found == {name: "EPERM" for name in found}


@unprivileged
def test_threads_fork_subprocess_numpy_and_torch_work_under_seccomp(job_dir):
    r = run_in_sandbox("""
        import os, subprocess, threading
        import numpy, torch
        print("seccomp", [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")])
        out = []
        threads = [threading.Thread(target=lambda: out.append(numpy.ones(4).sum())) for _ in range(4)]
        [t.start() for t in threads]; [t.join() for t in threads]
        torch.set_num_threads(2)
        print("work", sum(out), torch.ones(64, 64).matmul(torch.ones(64, 64)).sum().item())
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        print("fork", os.waitpid(pid, 0)[1] >> 8)
        print("run", subprocess.run(["/bin/echo", "ok"], capture_output=True, text=True).stdout)
    """, job_dir)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "seccomp ['2']" in r.stdout          # 2: a filter is installed
    assert "work 16.0 262144.0" in r.stdout and "fork 7" in r.stdout and "run ok" in r.stdout


def run_filter(code: list, arch: int, nr: int, flags: int = 0) -> int:
    """What a compiled classic-BPF seccomp program returns for one call (the five
    instructions seccomp.py uses, interpreted as the kernel does)."""
    data = {0: nr, 4: arch, 16: flags}
    a, pc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:
            a, pc = data[k], pc + 1
        elif op == 0x06:
            return k
        else:
            taken = {0x15: a == k, 0x35: a >= k, 0x45: bool(a & k)}[op]
            pc += 1 + (jt if taken else jf)


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_seccomp_program_denies_its_list_on_each_architecture(machine):
    from autograder.grader.sandbox import seccomp

    arch, numbers = seccomp.ARCHES[machine]
    code = seccomp.program(machine)
    eperm, enosys, allow = 0x50001, 0x50026, 0x7FFF0000
    for name in seccomp.DENIED_NAMES:
        assert run_filter(code, arch, numbers[name]) == eperm, name
    assert run_filter(code, arch, numbers["clone3"]) == enosys
    assert run_filter(code, arch, numbers["clone"], 0x003D0F00) == allow  # a thread
    assert run_filter(code, arch, numbers["clone"], 0x01200011) == allow  # fork
    assert run_filter(code, arch, numbers["clone"], 0x10000011) == eperm  # a new user ns
    for allowed in (0, 1, 63, 200, 300):   # read, write, ... (none of them on the list)
        if allowed not in {numbers[n] for n in (*seccomp.DENIED_NAMES, "clone", "clone3")}:
            assert run_filter(code, arch, allowed) == allow
    assert run_filter(code, 0x40000003, 20) == eperm    # i386 / another ABI
    if machine == "x86_64":
        assert run_filter(code, arch, 0x40000000 + 39) == eperm  # x32
    assert len(seccomp.filter_bytes(machine)) == 8 * len(code)


def test_the_doctor_reports_the_seccomp_filter_and_notices_when_it_is_missing(monkeypatch):
    from types import SimpleNamespace

    from autograder.grader import doctor
    from autograder.grader.sandbox import command, probe

    assert sandbox.sandbox_problem() is None
    rows = {what: (ok, detail) for what, ok, detail in doctor.checks()}
    assert rows["seccomp filter"] == (True, "active (tried in a sandbox: ptrace, unshare and "
                                            "bpf are refused)")
    monkeypatch.setattr(command, "seccomp", SimpleNamespace(filter_bytes=lambda: None))
    problem = probe.seccomp_problem()
    assert problem.startswith("the seccomp filter is not in force in the sandbox (mode 0 |")
