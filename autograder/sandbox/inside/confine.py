"""Kernel confinement for the student process where namespaces are refused (a container).

Docker's default profile (and so, likely, Gradescope's) forbids new namespaces, so bubblewrap
cannot run there. The launcher then confines the student process itself, after dropping to the
sandbox uid and before exec'ing the runner (under bubblewrap, the seccomp filter only):

- ``install_seccomp``: a seccomp filter that makes ``socket()`` fail for every address family
  (no network, no abstract Unix sockets to host daemons or other sandboxes, no netlink), System
  V and POSIX message-queue IPC fail (no shared segment or queue between two submissions),
  refuses what would carry data through the read-only files every sandbox shares (file locks,
  leases, inotify, fanotify, dnotify), memory no limit counts (memfd), and ptrace, keyrings,
  io_uring, bpf, perf events, userfaultfd, mount and namespace calls. The bubblewrap backend
  installs it too (``bwrap --seccomp`` when a nested bubblewrap starts the runner);
- ``restrict_filesystem``: a Landlock ruleset (Linux 5.13+) that allows reading only the
  allow-list (interpreter, libraries, the sandbox folder) and writing only the sandbox's home and
  output folders; on kernels with Landlock ABI 6 it also scopes abstract Unix sockets and signals.

Both are written with ``ctypes`` against the raw system calls rather than a binding such as
libseccomp, because they must work in a bare container image where no native library beyond libc
can be assumed; each filter is a dozen instructions. Standard library only: this file is copied
into every sandbox and runs before anything else is imported.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct

# <linux/seccomp.h>, <linux/filter.h>, <linux/audit.h>
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
EACCES = 13
X32_SYSCALL_BIT = 0x40000000  # x86-64's x32 ABI: the same calls under other numbers

# Refused system calls, by architecture: (audit arch, {name: number}).
_DENIED_NAMES = ("socket", "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl",
                 "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
                 "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr", "add_key",
                 "request_key", "keyctl", "io_uring_setup", "io_uring_enter", "io_uring_register",
                 "ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount",
                 "bpf", "perf_event_open", "userfaultfd")
# Calls that carry data between two sandboxes through the inodes they share read-only (the
# interpreter's files): BSD locks, inotify and fanotify watches (a watcher sees which shared
# files another sandbox opens); and memory no limit counts (memfd pages, secret memory).
_SHARED_INODE_NAMES = ("flock", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
                       "fanotify_init", "fanotify_mark", "memfd_create", "memfd_secret")
_SYSCALLS = {
    "x86_64": (0xC000003E, {
        **dict(zip(_DENIED_NAMES, (
            41, 29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71, 240, 241, 242, 243, 244, 245,
            248, 249, 250, 425, 426, 427, 101, 310, 311, 272, 308, 165, 321, 298, 323))),
        **dict(zip(_SHARED_INODE_NAMES, (73, 294, 254, 255, 300, 301, 319, 447))),
        "inotify_init": 253}),
    "aarch64": (0xC00000B7, {
        **dict(zip(_DENIED_NAMES, (
            198, 194, 196, 195, 197, 190, 193, 191, 192, 186, 189, 188, 187, 180, 181, 182, 183,
            184, 185, 217, 218, 219, 425, 426, 427, 117, 270, 271, 97, 268, 40, 280, 241, 282))),
        **dict(zip(_SHARED_INODE_NAMES, (32, 26, 27, 28, 262, 263, 279, 447)))}),
}
# fcntl stays (Python needs it), but not its commands that lock a shared inode's byte ranges
# (POSIX and open-file-description locks: another sandbox reads them with F_GETLK), take a
# lease, or watch a directory (dnotify).
_FCNTL = {"x86_64": 72, "aarch64": 25}
F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 5, 6, 7, 36, 37, 38
F_SETLEASE, F_GETLEASE, F_NOTIFY = 1024, 1025, 1026
DENIED_FCNTL_COMMANDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
                         F_SETLEASE, F_GETLEASE, F_NOTIFY)
SECCOMP_DATA_ARG1_LOW = 24  # offsetof(struct seccomp_data, args[1]), its low 32 bits (LE)

# <linux/landlock.h>; the three system calls have the same numbers on every architecture.
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION, LANDLOCK_RULE_PATH_BENEATH = 1, 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_ALL_V1 = (1 << 13) - 1  # execute .. make_sym: every right of ABI 1
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
DEVICE_ACCESS = FS_READ_FILE | FS_WRITE_FILE


class ConfinementError(OSError):
    """A confinement step failed; the launcher refuses to run student code without it."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> ConfinementError:
    number = ctypes.get_errno()
    return ConfinementError(number, f"{what}: {os.strerror(number)}")


def seccomp_program(machine: str | None = None, allow_sockets: bool = False) -> bytes:
    """The BPF program (``struct sock_filter[]`` bytes) refusing the calls listed above (but
    ``socket`` with ``allow_sockets``: a grader that allows the network), and fcntl's lock,
    lease and notify commands, with EACCES; any other architecture's calls kill the process
    (no bypass through a 32-bit ABI).

    Raises:
        ConfinementError: no table for this machine's architecture.
    """
    machine = machine or platform.machine()
    if machine not in _SYSCALLS:
        raise ConfinementError(0, f"no seccomp table for architecture {machine!r}")
    arch, numbers = _SYSCALLS[machine]
    deny = SECCOMP_RET_ERRNO | EACCES
    program = [(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
               (BPF_JEQ_K, 1, 0, arch),
               (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
               (BPF_LD_W_ABS, 0, 0, 0)]  # seccomp_data.nr
    if machine == "x86_64":
        program += [(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT), (BPF_RET_K, 0, 0, deny)]
    denied = {name: number for name, number in numbers.items()
              if not (allow_sockets and name == "socket")}
    for number in sorted(set(denied.values())):
        program += [(BPF_JEQ_K, 0, 1, number), (BPF_RET_K, 0, 0, deny)]
    commands = [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARG1_LOW)]
    for command in DENIED_FCNTL_COMMANDS:
        commands += [(BPF_JEQ_K, 0, 1, command), (BPF_RET_K, 0, 0, deny)]
    program += [(BPF_JEQ_K, 0, len(commands) + 1, _FCNTL[machine]), *commands]
    program += [(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)] * 2  # after fcntl's block; after the rest
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(allow_sockets: bool = False) -> None:
    """Install the filter (:func:`seccomp_program`) on this process and everything it starts
    (needs no_new_privs, which is set here too). Side effect: irreversible for this process."""
    libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
    code = seccomp_program(allow_sockets=allow_sockets)
    buffer = ctypes.create_string_buffer(code, len(code))
    program = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(program), 0, 0) != 0:
        raise _fail("prctl(PR_SET_SECCOMP)")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing, disabled or filtered."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(0, int(version))


def _handled_fs(abi: int) -> int:
    rights = FS_ALL_V1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def _ruleset_attr(abi: int) -> bytes:
    """``struct landlock_ruleset_attr`` in the size this ABI knows."""
    handled_fs = _handled_fs(abi)
    if abi < 4:
        return struct.pack("Q", handled_fs)
    net = NET_BIND_TCP | NET_CONNECT_TCP  # no rule grants a port: no TCP at all
    if abi < 6:
        return struct.pack("QQ", handled_fs, net)
    return struct.pack("QQQ", handled_fs, net, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)


def restrict_filesystem(read_paths: list[str], write_paths: list[str],
                        device_paths: list[str]) -> int:
    """Allow this process (and its children) to read ``read_paths``, read and change anything
    under ``write_paths`` and read/write the device files ``device_paths``; nothing else of the
    filesystem. Missing paths are skipped. Returns the Landlock ABI used.

    Raises:
        ConfinementError: Landlock is unavailable or a step failed.
    """
    abi = landlock_abi()
    if abi < 1:
        raise ConfinementError(0, "Landlock is not available in this kernel")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    attr = ctypes.create_string_buffer(_ruleset_attr(abi))
    ruleset = libc.syscall(ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET), attr,
                           ctypes.c_size_t(len(attr.raw)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise _fail("landlock_create_ruleset")
    try:
        everything = _handled_fs(abi)
        for paths, rights in ((read_paths, READ_ONLY), (write_paths, everything),
                              (device_paths, DEVICE_ACCESS)):
            for path in paths:
                _add_rule(libc, ruleset, path, rights)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0),
                      ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset),
                        ctypes.c_uint32(0)) != 0:
            raise _fail("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _add_rule(libc, ruleset: int, path: str, rights: int) -> None:
    """Grant ``rights`` beneath ``path`` (directory rights are dropped for a file)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd))  # packed struct
        if libc.syscall(ctypes.c_long(SYS_LANDLOCK_ADD_RULE), ctypes.c_int(ruleset),
                        ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), attr, ctypes.c_uint32(0)) != 0:
            raise _fail(f"landlock_add_rule({path})")
    finally:
        os.close(fd)
