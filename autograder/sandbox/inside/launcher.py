"""First process of every sandbox: limits, privilege drop and confinement, then the runner.

``python -I -B launcher.py CONFIG`` is started by the grader (``autograder/sandbox/supervise.py``),
inside bubblewrap's namespaces where the machine allows them. What it does depends on the
backend the grader chose (``config["backend"]``):

``bwrap``       it is pid 2 of a fresh pid namespace (bubblewrap's init is pid 1) and stays as
                a small supervisor that runs no student code: it forks the student process and
                reports that process's wait status. The student process applies the rlimits,
                drops to the sandbox uid when the grader is root, installs the seccomp filter
                (``confine.py``) and execs the runner, through a nested ``bwrap --unshare-user
                --disable-userns --seccomp FD`` where configured, so the student code also gets
                a user namespace in which it cannot create another one.
``restricted``  (a container that refuses namespaces) no supervisor: rlimits, uid drop, then a
                Landlock allow-list and a seccomp filter (``confine.py``), then the runner.
``none``        rlimits only (the grader refuses this unless told otherwise).

Standard library only, and no import of the grader: this file is copied into the sandbox folder.
Reports go to the grader as JSON lines on ``config["report_fd"]``, which is close-on-exec, so the
student code never holds it.
"""
from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

FATAL_EXIT = 125  # exit code when the sandbox could not be set up (also in supervise.py)
HERE = Path(__file__).resolve().parent


class Reporter:
    """Sends JSON lines to the grader through the report pipe."""

    def __init__(self, fd: int):
        self.fd = fd
        os.set_inheritable(fd, False)

    def send(self, **event) -> None:
        line = json.dumps(event)[:4000].encode() + b"\n"  # one write under PIPE_BUF is atomic
        try:
            os.write(self.fd, line)
        except OSError:
            pass


def main(config_path: str) -> None:
    """Set up as the config says and exec the runner (via the supervisor with bwrap); never
    returns. A failure of the set-up is reported as a "fatal" event, exit FATAL_EXIT."""
    config = json.loads(Path(config_path).read_text())
    reporter = Reporter(config["report_fd"])
    try:
        if config["backend"] == "bwrap":
            supervise(config, reporter)
        become_student(config, reporter)
    except BaseException as error:  # noqa: BLE001 - report whatever stopped the set-up
        reporter.send(event="fatal", error=f"{type(error).__name__}: {error}")
        os._exit(FATAL_EXIT)


def supervise(config: dict, reporter: Reporter) -> None:
    """Fork the student process, wait for it, report its wait status, exit (bubblewrap's init
    then ends the namespace, killing whatever the student left running); never returns.

    The supervisor makes itself non-dumpable first: under a non-root grader it runs as the
    same uid as the student, who could otherwise ptrace it, read its memory or open its report
    pipe through /proc (the student's exec makes the student dumpable again)."""
    set_dumpable(False)
    student = os.fork()
    if student == 0:
        try:
            become_student(config, reporter)
        except BaseException as error:  # noqa: BLE001 - the grader sees it via the report
            reporter.send(event="fatal", error=f"{type(error).__name__}: {error}")
        os._exit(FATAL_EXIT)
    _, status, usage = os.wait4(student, 0)
    # The student's CPU time and peak memory: bubblewrap's init is not reaped by bubblewrap's
    # outer process, so the grader's own wait4 does not see them.
    reporter.send(event="worker_exit", status=status, nested=bool(config["nested"]),
                  cpu_seconds=usage.ru_utime + usage.ru_stime, maxrss_kib=usage.ru_maxrss)
    os._exit(0)


def become_student(config: dict, reporter: Reporter) -> None:
    """Limits, uid, confinement, then exec the runner as the student process; never returns
    (raises on failure)."""
    sandbox = config["sandbox"]
    set_rlimits(config)
    if config["drop"]:
        drop_privileges(config["uid"], config["gid"])
    os.chdir(f"{sandbox}/home")  # only the sandbox uid may enter it
    no_new_privs()
    notes, prefix = confine(config)
    reporter.send(event="setup", uid=os.getuid(), notes=notes)
    env = {key: value.replace("{sandbox}", sandbox) for key, value in config["env"].items()}
    python = config["python"]
    argv = [*prefix, python, "-I", "-B", *config["program"]]
    os.execve(argv[0], argv, env)


def confine(config: dict) -> tuple[list[str], list[str]]:
    """The seccomp filter (bwrap and restricted backends) and Landlock (restricted); returns
    notes for the grader and the command prefix that starts the runner (the nested bubblewrap,
    which then installs the filter itself just before the runner: the filter refuses the
    namespace calls it needs)."""
    nested = list(config["nested"])
    if config["backend"] == "none":
        return [], nested
    sys.path.insert(0, str(HERE))
    import confine as confinement  # the copy beside this file

    notes = []
    allow = config["landlock"]
    if config["backend"] == "restricted" and allow is not None:
        abi = confinement.restrict_filesystem(allow["read"], allow["write"], allow["devices"])
        notes.append(f"landlock ABI {abi}")
    sockets = bool(config["allow_network"])
    if nested:  # [bwrap, options..., "--"]: the filter goes in before the "--"
        fd = _readable_pipe(confinement.seccomp_program(allow_sockets=sockets))
        nested = [*nested[:-1], "--seccomp", str(fd), nested[-1]]
    else:
        confinement.install_seccomp(allow_sockets=sockets)
    notes.append("seccomp filter installed")
    return notes, nested


def _readable_pipe(data: bytes) -> int:
    """The read end of a pipe holding ``data`` (under the pipe's 64 KiB buffer), inheritable."""
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    os.set_inheritable(read, True)
    return read


def set_rlimits(config: dict) -> None:
    """Resource limits of the student process (inherited by everything it starts)."""
    for name, (soft, hard) in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    # RLIMIT_NPROC counts every task of the real uid. In a user namespace or under a dedicated
    # sandbox uid that is the sandbox's own tasks; only a grader's own uid without a user
    # namespace (the "none" backend) counts the grader's processes too, so add those.
    base = _tasks_of_uid(os.getuid()) - 1 if config["count_own_tasks"] else 0
    nproc = base + config["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _tasks_of_uid(uid: int) -> int:
    """Number of tasks (threads included) whose real uid is ``uid``."""
    count = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text()
                          .splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` with no supplementary groups, for good (checked)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise PermissionError("privileges were not dropped")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise PermissionError("root privileges could be regained after setuid")


PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38


def _prctl(option: int, value: int, what: str) -> None:
    """``prctl(option, value)``; OSError naming ``what`` when the kernel refuses."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    if libc.prctl(option, value, 0, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"prctl({what}): {os.strerror(number)}")


def no_new_privs() -> None:
    """PR_SET_NO_NEW_PRIVS: no setuid binary can give privileges back."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")


def set_dumpable(dumpable: bool) -> None:
    """PR_SET_DUMPABLE: a non-dumpable process can be traced, read through /proc or have its
    file descriptors taken only by a process with CAP_SYS_PTRACE, even of its own uid."""
    _prctl(PR_SET_DUMPABLE, int(dumpable), "PR_SET_DUMPABLE")


if __name__ == "__main__":
    main(sys.argv[1])
