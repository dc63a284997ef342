"""The seccomp filter every sandbox runs under: a few system calls a kernel never needs.

bubblewrap's ``--seccomp FD`` installs a compiled classic-BPF program (an array of
``struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}``, native byte order) just before it
runs the sandboxed command; the filter is inherited by every process started inside and
cannot be removed. The kernel runs the program on each system call with
``struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}`` as its input:

    load arch                  a call of another ABI (i386, x32, AArch32) would bypass
    arch != ours  -> EPERM     the numbers below, so it is refused outright
    load nr
    nr >= 2^30    -> EPERM     (x86_64 only) the x32 ABI's numbers
    nr in DENIED  -> EPERM     debugging others (ptrace, process_vm_*), kernel keyrings,
                               eBPF, mounting and namespaces, perf, userfaultfd, io_uring,
                               modules and kexec: attack surface, no use to a notebook
    nr == clone3  -> ENOSYS    its flags sit behind a pointer the filter cannot read; C
                               libraries fall back to clone, whose flags it can
    nr == clone and flags & CLONE_NEW*  -> EPERM   new namespaces (threads and fork pass)
    otherwise     -> ALLOW

The sandbox has no capabilities and ``--disable-userns`` already, so most of these fail
anyway; the filter is the layer that holds if one of those does not (a kernel bug in
user namespaces, eBPF or io_uring is the usual way out of a container).
"""
from __future__ import annotations

import errno
import platform
import struct

# BPF instruction classes and fields (linux/bpf_common.h)
LD_W_ABS = 0x00 | 0x00 | 0x20    # BPF_LD | BPF_W | BPF_ABS: A = u32 at offset k
JEQ, JGE, JSET = 0x15, 0x35, 0x45  # BPF_JMP | BPF_JEQ/JGE/JSET | BPF_K
RET = 0x06                        # BPF_RET | BPF_K
ALLOW = 0x7FFF0000                # SECCOMP_RET_ALLOW
ERRNO = 0x00050000                # SECCOMP_RET_ERRNO | errno
NR, ARCH, ARG0 = 0, 4, 16         # offsets in struct seccomp_data (low half of args[0])
CLONE_NEW = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000  # NS, CGROUP,
             | 0x20000000 | 0x40000000 | 0x00000080)                        # UTS, IPC, USER,
#                                                                            PID, NET, TIME
DENIED_NAMES = ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "keyctl",
                "add_key", "request_key", "bpf", "mount", "umount2", "pivot_root", "chroot",
                "unshare", "setns", "open_tree", "open_tree_attr", "move_mount", "fsopen",
                "fsconfig", "fsmount", "fspick", "mount_setattr", "perf_event_open",
                "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
                "kexec_load", "kexec_file_load", "init_module", "finit_module",
                "delete_module", "name_to_handle_at", "open_by_handle_at", "lookup_dcookie",
                "quotactl", "acct", "swapon", "swapoff", "reboot", "syslog", "fanotify_init")
# System call numbers (asm/unistd_64.h; asm-generic/unistd.h for aarch64); 424 and up are
# shared by every architecture.
SHARED = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
          "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
          "fspick": 433, "clone3": 435, "mount_setattr": 442, "open_tree_attr": 467}
ARCHES = {
    "x86_64": (0xC000003E, {
        "clone": 56, "ptrace": 101, "syslog": 103, "pivot_root": 155, "chroot": 161,
        "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
        "reboot": 169, "init_module": 175, "delete_module": 176, "quotactl": 179,
        "lookup_dcookie": 212, "kexec_load": 246, "add_key": 248, "request_key": 249,
        "keyctl": 250, "unshare": 272, "perf_event_open": 298, "fanotify_init": 300,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308,
        "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
        "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, **SHARED}),
    "aarch64": (0xC00000B7, {
        "lookup_dcookie": 18, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51,
        "quotactl": 60, "acct": 89, "unshare": 97, "kexec_load": 104, "init_module": 105,
        "delete_module": 106, "syslog": 116, "ptrace": 117, "reboot": 142, "add_key": 217,
        "request_key": 218, "keyctl": 219, "clone": 220, "swapon": 224, "swapoff": 225,
        "perf_event_open": 241, "fanotify_init": 262, "name_to_handle_at": 264,
        "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "kcmp": 272, "finit_module": 273, "bpf": 280,
        "userfaultfd": 282, "kexec_file_load": 294, **SHARED}),
}
X32_BIT = 0x40000000


def program(machine: str | None = None) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions for ``machine`` (default: this one).

    Jumps are relative (skip jt or jf instructions), so the two return blocks at the end
    are reached by counting the distance from each test.
    """
    arch, numbers = ARCHES[machine or platform.machine()]
    denied = sorted({numbers[name] for name in DENIED_NAMES})
    tests = [(JEQ, nr, "eperm") for nr in denied]
    tests += [(JEQ, numbers["clone3"], "enosys"), (JEQ, numbers["clone"], "clone")]
    if machine == "x86_64" or (machine is None and platform.machine() == "x86_64"):
        tests.insert(0, (JGE, X32_BIT, "eperm"))
    body = [(LD_W_ABS, 0, 0, ARCH), ("arch",), (LD_W_ABS, 0, 0, NR), *tests,
            (RET, 0, 0, ALLOW),
            (LD_W_ABS, 0, 0, ARG0), (JSET, "eperm", CLONE_NEW),  # "clone": the flags
            (RET, 0, 0, ALLOW),
            (RET, 0, 0, ERRNO | errno.EPERM),                 # "eperm"
            (RET, 0, 0, ERRNO | errno.ENOSYS)]                # "enosys"
    where = {"clone": len(body) - 5, "eperm": len(body) - 2, "enosys": len(body) - 1}
    out = []
    for i, item in enumerate(body):
        if item == ("arch",):  # the arch test: ours falls through, any other -> EPERM
            out.append((JEQ, 0, where["eperm"] - i - 1, arch))
        elif item[0] == JSET:
            out.append((JSET, where["eperm"] - i - 1, 0, item[2]))
        elif item[0] in (JEQ, JGE) and len(item) == 3:
            out.append((item[0], where[item[2]] - i - 1, 0, item[1]))
        else:
            out.append(item)
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in out)
    return out


def filter_bytes(machine: str | None = None) -> bytes | None:
    """The compiled program for bwrap --seccomp, or None on an architecture not listed."""
    if (machine or platform.machine()) not in ARCHES:
        return None
    return b"".join(struct.pack("=HBBI", *ins) for ins in program(machine))
