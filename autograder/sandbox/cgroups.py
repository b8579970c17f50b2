"""A memory and pids cgroup per sandbox run, where the grader may create one.

Resource limits (rlimits) count a process's own address space and its uid's processes; they do
not see pages the sandbox holds outside them: shared memory and tmpfs files (its private /tmp,
/dev/shm), files unlinked while open, memfd pages. The kernel charges all of those to the
writer's memory cgroup, so a cgroup's ``memory`` limit counts them, and its ``pids`` limit counts
every task of the sandbox whatever its uid.

Where one can be had: as root, on cgroup v1 (a ``memory`` and a ``pids`` hierarchy, as on the
kit's own machines) or cgroup v2 (a unified hierarchy whose controllers the grader's own
cgroup delegates to its children). The group is made below the grader's own cgroup in each
hierarchy, so the limits of whatever runs the grader still apply. Elsewhere (an ordinary user
without a delegated cgroup, a container that mounts cgroups read-only) :func:`create` returns
None and the sandbox keeps its rlimits, the seccomp filter's refusal of memfd and the disk watch
over unlinked files; the gradebook's isolation column says which applied.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "prunekit-"


@dataclass
class SandboxCgroup:
    """One run's cgroup: its folders (v2: one; v1: the memory and the pids one)."""
    version: int
    folders: tuple[Path, ...]

    @property
    def label(self) -> str:
        """For the gradebook's isolation column: "cgroup v1" or "cgroup v2"."""
        return f"cgroup v{self.version}"

    def open_procs(self) -> list[int]:
        """Descriptors of each folder's ``cgroup.procs`` (close-on-exec), for :func:`join`
        in the child between fork and exec."""
        return [os.open(folder / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
                for folder in self.folders]

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the group at its memory limit."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            lines = (self.folders[0] / name).read_text().splitlines()
        except OSError:
            return False
        counts = dict(line.split()[:2] for line in lines if len(line.split()) >= 2)
        return counts.get("oom_kill", "0") != "0"

    def kill_and_remove(self, wait_s: float = 5.0) -> bool:
        """SIGKILL every process still in the group, then remove its folders; True when they
        are gone (a process that escaped every other kill is caught here)."""
        deadline = time.monotonic() + wait_s
        while True:
            pids = {pid for folder in self.folders for pid in _pids(folder)}
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if not pids or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        removed = True
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                removed = False
        return removed


def join(procs_fds: list[int]) -> None:
    """Move the calling process into the group (writing "0" to ``cgroup.procs`` moves the
    writer). Runs in the child between fork and exec: descriptors only, nothing imported."""
    for fd in procs_fds:
        os.write(fd, b"0")


def create(name: str, memory_bytes: int, max_tasks: int) -> SandboxCgroup | None:
    """A new cgroup ``prunekit-<name>`` with the memory (swap included) and task limits, below
    the grader's own cgroups; None where none can be made here (see the module docstring)."""
    if os.geteuid() != 0:
        return None
    own = _own_cgroups()
    if "" in own and (CGROUP_ROOT / "cgroup.controllers").exists():
        return _create_v2(CGROUP_ROOT / own[""].lstrip("/") / f"{PREFIX}{name}", memory_bytes,
                          max_tasks)
    if "memory" in own and "pids" in own:
        return _create_v1(name, own, memory_bytes, max_tasks)
    return None


def _create_v1(name: str, own: dict[str, str], memory_bytes: int,
               max_tasks: int) -> SandboxCgroup | None:
    folders = []
    try:
        for controller in ("memory", "pids"):
            folder = CGROUP_ROOT / controller / own[controller].lstrip("/") / f"{PREFIX}{name}"
            folder.mkdir()
            folders.append(folder)
        memory, pids = folders
        (memory / "memory.limit_in_bytes").write_text(str(int(memory_bytes)))
        if (memory / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
            (memory / "memory.memsw.limit_in_bytes").write_text(str(int(memory_bytes)))
        (pids / "pids.max").write_text(str(int(max_tasks)))
        return SandboxCgroup(1, tuple(folders))
    except OSError:
        for folder in reversed(folders):
            _remove_quietly(folder)
        return None


def _create_v2(folder: Path, memory_bytes: int, max_tasks: int) -> SandboxCgroup | None:
    try:
        folder.mkdir()
    except OSError:
        return None
    try:  # the files exist only where the parent delegates the controllers
        (folder / "memory.max").write_text(str(int(memory_bytes)))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
        (folder / "pids.max").write_text(str(int(max_tasks)))
        return SandboxCgroup(2, (folder,))
    except OSError:
        _remove_quietly(folder)
        return None


def _own_cgroups() -> dict[str, str]:
    """The grader's cgroup path per controller ("memory", "pids"; "" for the v2 hierarchy),
    from /proc/self/cgroup; only hierarchies mounted at CGROUP_ROOT count."""
    found = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            mounted = CGROUP_ROOT / controller if controller else CGROUP_ROOT
            if (mounted / "cgroup.procs").exists():
                found[controller] = path
    return found


def _pids(folder: Path) -> set[int]:
    try:
        return {int(pid) for pid in (folder / "cgroup.procs").read_text().split()}
    except (OSError, ValueError):
        return set()


def _remove_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
