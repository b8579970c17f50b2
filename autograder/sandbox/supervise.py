"""Starting the sandbox, watching it, ending it, and saying how it ended.

The grader starts one process per run: bubblewrap (``bwrap`` backend) or the launcher itself
(``restricted``, ``none``), in a new session, with the output going to files and a report pipe
the launcher writes JSON lines to. While it runs the grader polls: the report, the student's
memory (peak resident set of every process of the sandbox), disk use (``home/``, ``out/``, and
files its processes hold open after unlinking them) and the wall-time limit. Then every process
of the sandbox is killed and waited for: with bubblewrap by killing the pid namespace's init (the kernel ends the rest), without it the
process group and, for a dedicated uid, every process of that uid.
"""
from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.sandbox import cgroups, plan
from autograder.sandbox.api import GiB, KiB, MiB, Isolation, Limits
from autograder.sandbox.backend import Backend
from autograder.sandbox.folder import SandboxFolder
from autograder.sandbox.untrusted import clean_text

FATAL_EXIT = 125  # exit code of a launcher that could not set the sandbox up (inside/launcher.py)
MAX_REPORT_BYTES = 64 * KiB  # launcher report lines, total
MAX_SANDBOX_FILES = 10_000  # files and folders the student may leave in home/ and out/
DISK_CHECK_SECONDS = 0.5  # how often the grader measures disk and memory while the child runs
GONE_TIMEOUT_SECONDS = 5.0  # longest wait for killed processes to disappear
POLL_SECONDS = 0.05
TASKS_BESIDE_STUDENT = 8  # bubblewrap's init, the launcher, a nested bubblewrap: in the cgroup too
# World-writable folders of the host, which the restricted backend's student process can reach
# (bubblewrap gives private ones); whatever the sandbox uid leaves there is removed after a run.
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue")


@dataclass
class Run:
    """What the grader saw of one sandbox run."""
    timed_out: bool
    wait_status: int  # of the student process (from the launcher's report when it has one)
    cpu_seconds: float
    peak_bytes: int
    wall_seconds: float
    report: list[dict]
    stdout_tail: str
    stderr_tail: str
    violation: str  # why the grader killed the child early (disk use), "" if it did not
    leftovers: bool  # some killed process had not disappeared when results were loaded
    cgroup: str = ""  # "cgroup v1" / "cgroup v2" where one counted memory and tasks


# ---------------------------------------------------------------------------------------------
# What to start
# ---------------------------------------------------------------------------------------------

def launcher_config(folder: SandboxFolder, limits: Limits, isolation: Isolation,
                    backend: Backend, report_fd: int, program: list[str] | None = None) -> dict:
    """The launcher's configuration (inside/launcher.py), as JSON-able data. ``program``: what
    the student process's Python runs (its arguments after ``-I -B``); default the runner."""
    uid, gid = (isolation.uid, isolation.gid) if backend.drop else (os.geteuid(), os.getegid())
    in_bubblewrap = backend.name == "bwrap"
    inside = plan.SANDBOX_MOUNTPOINT if in_bubblewrap else str(folder.root)
    nested = plan.nested_userns_args(backend.bwrap) if backend.nested_userns else []
    return {
        "backend": backend.name, "python": plan.launch_python(in_bubblewrap), "sandbox": inside,
        "program": program or [f"{inside}/runner.py"],
        "drop": backend.drop, "uid": uid, "gid": gid, "nested": nested,
        "rlimits": plan.rlimits(limits), "max_processes": int(limits.max_processes),
        # a grader's own uid outside a user namespace: RLIMIT_NPROC counts the grader's tasks
        "count_own_tasks": backend.name == "none" and os.geteuid() != 0,
        "landlock": _landlock_plan(folder, backend),
        "allow_network": isolation.allow_network,  # the seccomp filter then allows sockets
        "env": plan.child_env(limits, folder.sandbox_id, in_bubblewrap),
        "report_fd": report_fd,
    }


def _landlock_plan(folder: SandboxFolder, backend: Backend) -> dict | None:
    """What the restricted backend's Landlock ruleset allows (None without Landlock)."""
    if backend.name != "restricted" or not backend.landlock_abi:
        return None
    read = [*plan.allowed_read_paths(None), str(folder.root), "/proc"]
    return {"read": read, "write": [str(folder.home), str(folder.out)],
            "devices": list(plan.DEVICES)}


def bwrap_command(folder: SandboxFolder, limits: Limits, isolation: Isolation,
                  backend: Backend, info_fd: int) -> list[str]:
    """bubblewrap's options: namespaces, the allow-list, the sandbox folder."""
    uid = isolation.uid if backend.drop else plan.NOBODY
    gid = isolation.gid if backend.drop else plan.NOBODY
    identity = plan.identity_files(folder.etc, uid, gid)
    return [*plan.namespace_args(os.geteuid() == 0, isolation.allow_network),
            *plan.sandbox_filesystem(backend.bwrap, isolation, limits.scratch_bytes,
                                     folder.etc),
            "--perms", "0755", "--dir", "/etc",
            *plan.sandbox_args(folder.root, identity),
            "--info-fd", str(info_fd)]


# ---------------------------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------------------------

def run_launcher(folder: SandboxFolder, limits: Limits, isolation: Isolation,
                 backend: Backend, program: list[str] | None = None) -> Run:
    """Start the sandbox in a new session, wait up to the wall limit, kill every process of it,
    reap, and read the output tails. ``program``: as in :func:`launcher_config`.

    Side effects: writes launch.json (and for bwrap its argument file), stdout.txt and
    stderr.txt in the sandbox folder.
    """
    read_fd, write_fd = os.pipe()
    config = launcher_config(folder, limits, isolation, backend, write_fd, program)
    folder.config.write_text(json.dumps(config))
    os.chmod(folder.config, 0o600)
    command, pass_fds, info_fd = _command(folder, limits, isolation, backend)
    group = cgroups.create(folder.sandbox_id, limits.cgroup_memory_bytes,
                           limits.max_processes + TASKS_BESIDE_STUDENT)
    procs = group.open_procs() if group else []
    with open(folder.stdout, "w+b") as out, open(folder.stderr, "w+b") as err:
        started = time.monotonic()
        try:  # the first process joins the cgroup before it execs: everything after is in it
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                pass_fds=(write_fd, *pass_fds), start_new_session=True, cwd=folder.root,
                env={"PATH": "/usr/bin:/bin"},
                preexec_fn=(lambda: cgroups.join(procs)) if procs else None)
        finally:
            for fd in (write_fd, *pass_fds, *procs):
                os.close(fd)
        uid = isolation.uid if backend.name == "restricted" else None
        watcher = _Watcher(process.pid, read_fd, info_fd, [folder.home, folder.out],
                           limits.disk_bytes, uid)
        try:
            timed_out = watcher.wait_until(started + limits.wall_seconds)
        finally:
            watcher.kill_all()
            status, usage = watcher.reap()
            process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            if uid is not None:  # restricted: what the sandbox uid left in shared folders
                remove_files_of(uid, SHARED_WRITABLE_DIRS, keep=folder.root)
            violation = watcher.violation or _cgroup_verdict(group, limits)
            if group and not group.kill_and_remove():
                watcher.leftovers = True
        wall = time.monotonic() - started
        tails = tail(out, limits.output_tail_bytes), tail(err, limits.output_tail_bytes)
    reported = _student_usage(watcher.events)
    cpu = max(usage.ru_utime + usage.ru_stime, reported.get("cpu_seconds", 0.0))
    peak = int(max(usage.ru_maxrss, reported.get("maxrss_kib", 0)) * KiB)  # KiB on Linux
    peak = max(peak, watcher.peak_bytes)
    student_status = _student_status(watcher.events, status)
    return Run(timed_out, student_status, cpu, peak, wall, watcher.events, *tails,
               violation, watcher.leftovers, group.label if group else "")


def _cgroup_verdict(group: cgroups.SandboxCgroup | None, limits: Limits) -> str:
    """Why the run ended early by the cgroup's count ("" if it did not): the kernel killed a
    process at the group's memory limit, which counts what rlimits do not."""
    if group is None or not group.out_of_memory():
        return ""
    limit = limits.cgroup_memory_bytes / GiB
    return (f"used more than {limit:g} GiB of memory as the kernel counts it (processes, "
            "shared memory and files kept in memory)")


def _command(folder: SandboxFolder, limits: Limits, isolation: Isolation,
             backend: Backend) -> tuple[list[str], tuple[int, ...], int | None]:
    """(argv, extra fds to pass, read end of bwrap's info pipe or None). bubblewrap reads its
    arguments from a file (``--args``), so that no process of the sandbox shows the allow-list
    (the kit's paths) in its command line."""
    launcher = [sys.executable, "-I", "-B", str(folder.root / "launcher.py"), str(folder.config)]
    if backend.name != "bwrap":
        return launcher, (), None
    info_read, info_write = os.pipe()
    arguments = bwrap_command(folder, limits, isolation, backend, info_write)
    args_file = folder.root / "bwrap-args"
    args_file.write_bytes(bwrap_args_bytes(arguments))
    os.chmod(args_file, 0o600)
    args_fd = os.open(args_file, os.O_RDONLY)
    inside = plan.SANDBOX_MOUNTPOINT
    command = [backend.bwrap, "--args", str(args_fd), "--", plan.inside_executable(), "-I", "-B",
               f"{inside}/launcher.py", f"{inside}/launch.json"]
    return command, (info_write, args_fd), info_read


def bwrap_args_bytes(arguments: list[str]) -> bytes:
    """``arguments`` as bubblewrap's ``--args FD`` reads them: each one NUL-terminated."""
    return b"".join(arg.encode() + b"\0" for arg in arguments)


def _student_status(events: list[dict], launcher_status: int) -> int:
    """Wait status of the student process: as the supervising launcher reported it (a nested
    bubblewrap turns "killed by signal N" into exit code 128 + N: undone here), else the
    launcher's own (it exec'd the runner)."""
    for event in events:
        if event.get("event") == "worker_exit" and isinstance(event.get("status"), int):
            status = event["status"]
            if event.get("nested") is True and os.WIFEXITED(status):
                code = os.WEXITSTATUS(status)
                if 128 < code < 128 + signal.NSIG:
                    return code - 128  # the wait status of a process killed by that signal
            return status
    return launcher_status


def _student_usage(events: list[dict]) -> dict[str, float]:
    """The student process's CPU seconds and peak resident KiB as the supervising launcher
    measured them (wait4), where it did; numbers only."""
    for event in events:
        if event.get("event") == "worker_exit":
            return {key: float(event[key]) for key in ("cpu_seconds", "maxrss_kib")
                    if type(event.get(key)) in (int, float) and event[key] >= 0}
    return {}


class _Watcher:
    """Follows one sandbox: reads the launcher's report and bubblewrap's info pipe, watches the
    sandbox's memory and disk use, detects the exit without reaping (so ids stay valid for the
    kill), kills all."""

    def __init__(self, pid: int, report_fd: int, info_fd: int | None, disk_dirs: list[Path],
                 disk_bytes: int, sandbox_uid: int | None):
        self.pid = pid
        self.events: list[dict] = []
        self.peak_bytes = 0
        self.violation = ""
        self.leftovers = False
        self._report = _Lines(report_fd, MAX_REPORT_BYTES)
        self._info = _Lines(info_fd, 4096) if info_fd is not None else None
        self._init_pidfd: int | None = None  # bwrap's pid-namespace init, once known
        self._disk_dirs, self._disk_bytes = disk_dirs, disk_bytes
        self._sandbox_uid = sandbox_uid  # restricted backend: every process of it is ours
        self._next_check = 0.0
        self._tree: list[int] = []

    def wait_until(self, deadline: float) -> bool:
        """Poll until the sandbox's first process exits (False), ``deadline`` (time.monotonic)
        passes (True) or the child uses too much disk (False, with ``violation`` set)."""
        while True:
            self._read_pipes()
            self._sample_memory()
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return False
            if time.monotonic() >= deadline:
                return True
            if self._periodic_checks():
                return False
            open_fds = [fd for fd in (self._report.fd, self._info and self._info.fd)
                        if fd is not None and fd >= 0]
            if open_fds:
                select.select(open_fds, [], [], POLL_SECONDS)
            else:
                time.sleep(POLL_SECONDS)

    def kill_all(self) -> None:
        """SIGKILL bubblewrap's pid-namespace init (the kernel then ends every process in the
        namespace), else the first process's group and, for a dedicated sandbox uid, all its
        processes. Safe after exit: the pidfd and the unreaped first process keep ids from
        being reused."""
        self._read_pipes()
        if self._init_pidfd is not None:
            try:
                signal.pidfd_send_signal(self._init_pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            _kill_quietly(self.pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._sandbox_uid is not None:
            kill_processes_of(self._sandbox_uid)

    def reap(self) -> tuple[int, Any]:
        """Reap the first process and wait until every process of the sandbox is gone; return
        the wait status and resource usage (children included). Reads what is left of the
        report; closes the pipes and the pidfd."""
        _, status, usage = os.wait4(self.pid, 0)
        if self._init_pidfd is not None:  # init exits only once its namespace is empty
            gone = bool(select.select([self._init_pidfd], [], [], GONE_TIMEOUT_SECONDS)[0])
            os.close(self._init_pidfd)
        else:
            gone = _wait_until_gone(self.pid, self._sandbox_uid, GONE_TIMEOUT_SECONDS)
        self.leftovers = not gone
        end = time.monotonic() + 1.0  # the report's writers are all dead by now
        while time.monotonic() < end and self._report.read(self._handle_event):
            select.select([self._report.fd], [], [], POLL_SECONDS)
        self._report.close()
        if self._info:
            self._info.close()
        return status, usage

    def _read_pipes(self) -> None:
        self._report.read(self._handle_event)
        if self._info is not None and self._init_pidfd is None:
            self._info.read(self._handle_info, whole=True)

    def _handle_event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if isinstance(event, dict):
            self.events.append(event)

    def _handle_info(self, text: bytes) -> None:
        """bubblewrap's ``{"child-pid": N, ...}``: N is the namespace's init, seen from here."""
        try:
            pid = json.loads(text).get("child-pid")
        except (ValueError, AttributeError):
            return
        if isinstance(pid, int) and pid > 0:
            try:  # a pidfd cannot be confused with a later process that reuses the pid
                self._init_pidfd = os.pidfd_open(pid)
            except OSError:
                self._init_pidfd = None

    def _periodic_checks(self) -> bool:
        """Every DISK_CHECK_SECONDS: refresh the sandbox's process list (for the memory
        sampling) and check the disk use (RLIMIT_FSIZE bounds single files only); True with
        ``violation`` set when the student wrote too much."""
        if time.monotonic() < self._next_check:
            return False
        self._next_check = time.monotonic() + DISK_CHECK_SECONDS
        self._tree = _descendants(self.pid)
        used, entries = disk_usage(self._disk_dirs, MAX_SANDBOX_FILES)
        used += unlinked_open_bytes(self._tree)
        if used > self._disk_bytes:
            self.violation = f"wrote more than {self._disk_bytes / MiB:g} MiB to disk"
        elif entries > MAX_SANDBOX_FILES:
            self.violation = f"created more than {MAX_SANDBOX_FILES} files"
        return bool(self.violation)

    def _sample_memory(self) -> None:
        """Track the largest peak resident set (VmHWM) of any process of the sandbox; wait4's
        figure misses processes that are killed before their parent reaps them."""
        for pid in self._tree:
            self.peak_bytes = max(self.peak_bytes, _peak_resident_bytes(pid))


class _Lines:
    """Non-blocking reader of a pipe of newline-separated records, at most ``limit`` bytes."""

    def __init__(self, fd: int, limit: int):
        self.fd = fd
        self._limit, self._received, self._buffer = limit, 0, b""
        os.set_blocking(fd, False)

    def read(self, handle, whole: bool = False) -> bool:
        """Pass each complete line (``whole``: the whole text at end of file) to ``handle``;
        False at end of file or when closed."""
        if self.fd < 0:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except BlockingIOError:
            return True
        if chunk and self._received + len(chunk) <= self._limit:
            self._buffer += chunk
        self._received += len(chunk)
        if whole:
            if not chunk:
                handle(self._buffer)
                self.close()
            return bool(chunk)
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            handle(line)
        if not chunk:
            self.close()
        return bool(chunk)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_processes_of(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a dedicated sandbox uid), from a forked helper that
    becomes that uid, so that ``kill(-1)`` reaches exactly them (and no one else)."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)  # every process this uid may signal, but itself
        except BaseException:  # noqa: BLE001 - nothing to report from a helper
            pass
        os._exit(0)
    os.waitpid(helper, 0)


def remove_files_of(uid: int, folders: tuple[str, ...], keep: Path) -> list[str]:
    """Delete every file and folder owned by ``uid`` in ``folders`` and in the world-writable
    folders below them (the only places that uid can create anything outside its own folders),
    but ``keep`` (this run's sandbox folder, still to be read); symlinks are not followed. Run
    when no process of ``uid`` is left. Returns the paths removed."""
    removed, kept = [], os.path.realpath(keep)
    stack = [top for top in folders if os.path.isdir(top) and not os.path.islink(top)]
    while stack:
        try:
            with os.scandir(stack.pop()) as scan:
                entries = list(scan)
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.path == kept:
                continue
            directory = stat.S_ISDIR(info.st_mode)
            if info.st_uid == uid:
                _remove(entry.path, directory)
                removed.append(entry.path)
            elif directory and info.st_mode & stat.S_IWOTH:
                stack.append(entry.path)
    return removed


def _remove(path: str, directory: bool) -> None:
    try:
        if directory:
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def _wait_until_gone(pgid: int, uid: int | None, timeout: float) -> bool:
    """Wait until no live (non-zombie) process is in process group ``pgid`` nor, with ``uid``,
    owned by that uid; False on timeout. Only looks (no signals)."""
    end = time.monotonic() + timeout
    while _live_processes(lambda info: info["pgrp"] == pgid or info["uid"] == uid):
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)
    return True


def _process_table() -> dict[int, dict]:
    """pid -> {"ppid", "pgrp", "state", "uid"} of every process (from /proc/<pid>/stat)."""
    table = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                fields = stat_file.read().rsplit(b")", 1)[1].split()  # after "(comm)"
            owner = os.stat(f"/proc/{entry}").st_uid
        except (OSError, IndexError):
            continue
        table[int(entry)] = {"state": fields[0], "ppid": int(fields[1]), "pgrp": int(fields[2]),
                             "uid": owner}
    return table


def _live_processes(match) -> list[int]:
    return [pid for pid, info in _process_table().items()
            if info["state"] != b"Z" and match(info)]


def _descendants(root: int) -> list[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for pid, info in _process_table().items():
        children.setdefault(info["ppid"], []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _peak_resident_bytes(pid: int) -> int:
    """VmHWM of ``pid`` in bytes (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * KiB
    except (OSError, ValueError, IndexError):
        pass
    return 0


def disk_usage(directories: list[Path], max_entries: int) -> tuple[int, int]:
    """(bytes of disk blocks, number of entries) under ``directories``, without following
    symlinks; stops counting after ``max_entries`` entries."""
    used, entries, stack = 0, 0, [str(d) for d in directories]
    while stack and entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as scan:
                listing = list(itertools.islice(scan, max_entries + 1 - entries))
        except OSError:  # vanished or unreadable meanwhile: the next check sees it
            continue
        for entry in listing:
            entries += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    used += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return used, entries


def unlinked_open_bytes(pids: list[int]) -> int:
    """Bytes of disk (or memory) blocks held by files that processes ``pids`` keep open after
    unlinking them (and memfd files, where a filter lets them exist), each inode counted once:
    no folder walk sees them, yet they fill the disk until the last descriptor closes. Processes
    whose descriptors this grader may not read are skipped."""
    seen, used = set(), 0
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                info = os.stat(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            inode = (info.st_dev, info.st_ino)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 0 and inode not in seen:
                seen.add(inode)
                used += info.st_blocks * 512
    return used


def tail(stream, max_bytes: int) -> str:
    """The last ``max_bytes`` of an output file (via the grader's own file object, so renaming or
    replacing the file from inside the sandbox changes nothing), decoded leniently."""
    size = os.fstat(stream.fileno()).st_size
    start = max(0, size - max_bytes)
    data = os.pread(stream.fileno(), max_bytes, start)
    text = clean_text(data.decode("utf-8", errors="replace"))
    return f"[... {start} earlier bytes dropped ...]\n{text}" if start else text


# ---------------------------------------------------------------------------------------------
# How it ended
# ---------------------------------------------------------------------------------------------

def classify(run: Run, finished: bool, progress: str, limits: Limits, memory_where: str) \
        -> tuple[str, str]:
    """(status, reason) of a run; see SandboxResult for the status values."""
    status = run.wait_status
    where = f" during {progress}" if progress else " before the student code ran"
    memory = f"out of memory (address-space limit {limits.address_space_bytes / GiB:g} GiB)"
    if run.timed_out:
        return "timeout", f"wall-time limit of {limits.wall_seconds:g} s exceeded{where}"
    if run.violation:
        return "killed", f"killed: the student code {run.violation}{where}"
    if os.WIFSIGNALED(status):
        return _classify_signal(run, os.WTERMSIG(status), where, memory, memory_where, limits)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not finished:
        return "exit", f"the student process exited with code {code}{where}, before finishing"
    if memory_where:
        return "memory", f"the student code ran {memory} in {memory_where}"
    return "ok", ""


def _classify_signal(run: Run, number: int, where: str, memory: str, memory_where: str,
                     limits: Limits) -> tuple[str, str]:
    name = signal_name(number)
    if number == signal.SIGXCPU or (number == signal.SIGKILL
                                    and run.cpu_seconds >= limits.cpu_seconds):
        return "timeout", f"CPU-time limit of {limits.cpu_seconds} s exceeded{where}"
    memory_signs = (memory_where or "bad_alloc" in run.stderr_tail
                    or "MemoryError" in run.stderr_tail)
    if number == signal.SIGKILL:
        if memory_signs or run.peak_bytes >= 0.8 * limits.address_space_bytes:
            return "memory", f"killed {memory}{where}"
        return "killed", f"killed by {name}{where}"
    if number in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE):
        if memory_signs:
            return "memory", f"crashed ({name}) {memory}{where}"
        return "crashed", f"crashed with {name}{where}"
    return "killed", f"killed by {name}{where}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
