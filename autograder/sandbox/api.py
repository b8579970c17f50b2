"""The sandbox's public data types: what the grader asks for and what it gets back."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from autograder import manifest

KiB, MiB, GiB = 2**10, 2**20, 2**30
REPO_ROOT = manifest.KIT_ROOT
NOBODY = 65534
BACKENDS = ("auto", "bwrap", "restricted", "none")
LEVELS = ("full", "restricted", "none")  # isolation levels, strongest first


class SandboxError(RuntimeError):
    """The sandbox could not be set up (a grader or machine problem, never the submission's)."""


class IsolationUnavailable(SandboxError):
    """No backend can isolate student code here and unisolated runs were not allowed; the
    message says what is missing and how to get it."""


@dataclass(frozen=True)
class ProbeRequest:
    """One probe call in the student's process: ``probes.<probe>(ns, **kwargs)``.

    ``kwargs`` must be plain data (tensors, dicts, lists, tuples, numbers, strings, None); the
    student code can read them, so they must hold inputs only, never expected answers. ``seed``
    seeds Python, torch and NumPy just before the call (None: leave them as they are).
    """
    id: str
    probe: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None


# A late infinite loop (or a slow cell) costs only what it affects: the runner stops a cell at
# its share of the wall limit, and the probes keep the last quarter. Honest notebooks' graded
# cells take about a second in all (benchmarks/results/grading_throughput.md).
CELL_SHARE = 0.5  # of Limits.wall_seconds, one cell at most
CELLS_SHARE = 0.75  # of Limits.wall_seconds, every cell together
MIN_CELL_SECONDS = 2.0  # a cell starting after the cells' budget is spent


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox run (units in the names).

    Measured on the kit's machine (torch 2.14 CUDA build, CPU only, one thread): ``import torch``
    maps about 3.1 GiB of address space (0.5 GiB resident); a full-width VGG forward + backward
    pass peaks at about 3.4 GiB of address space (0.75 GiB resident). Hence the 6 GiB default of
    ``address_space_bytes``; CUDA is hidden from the child, since initialising it would reserve
    far more address space.
    """
    wall_seconds: float = 120.0  # whole run, ~3 s of Python + torch start-up included
    cpu_seconds: int = 120  # RLIMIT_CPU: SIGXCPU at the limit, SIGKILL 1 s of CPU later
    address_space_bytes: int = 6 * GiB  # RLIMIT_AS; importing torch alone maps ~3.1 GiB
    max_processes: int = 64  # RLIMIT_NPROC: processes AND threads of the sandbox uid
    file_size_bytes: int = 256 * MiB  # RLIMIT_FSIZE: any file the child writes, stdout included
    output_tail_bytes: int = 64 * KiB  # last bytes of stdout and of stderr kept in the result
    result_bytes: int = 512 * MiB  # result files loaded back, all together
    threads: int = 1  # torch / OpenMP / MKL threads in the child
    scratch_bytes: int = 256 * MiB  # size of each private tmpfs: /tmp, /var/tmp, /dev/shm
    disk_bytes: int = 1 * GiB  # on-disk bytes the child may write in the sandbox dir; more: killed
    # Memory as the kernel counts it, where a cgroup can be had (cgroups.py): resident pages of
    # every process, shared memory, tmpfs files, page cache. None: see cgroup_memory_bytes.
    memory_bytes: int | None = None

    @property
    def cgroup_memory_bytes(self) -> int:
        """The cgroup's memory limit: ``memory_bytes``, else what one process may hold under
        RLIMIT_AS plus the three private tmpfs folders full, plus 1 GiB. Above both, so that a
        single process's allocations meet the deterministic RLIMIT_AS (a MemoryError in the
        cell) before the kernel's out-of-memory kill, whose timing varies with the machine; the
        cgroup then stops only what rlimits cannot see (several processes together, memory
        outside the scratch folders' limits)."""
        if self.memory_bytes is not None:
            return int(self.memory_bytes)
        return int(self.address_space_bytes + 3 * self.scratch_bytes + GiB)

    @property
    def cell_seconds(self) -> float:
        """Longest one cell may run (wall seconds) before the runner stops it, records it as
        the cell's error and goes on with the next cell: half the wall limit."""
        return CELL_SHARE * self.wall_seconds

    @property
    def cells_seconds(self) -> float:
        """Wall seconds for all cells together; the rest is the probes' (which call the
        notebook's functions on the checks' inputs). A cell that starts after this budget is
        spent still gets MIN_CELL_SECONDS, enough to define its functions."""
        return CELLS_SHARE * self.wall_seconds


@dataclass(frozen=True)
class Isolation:
    """Who the student code runs as, what it may reach, and which backend isolates it.

    ``uid``/``gid``: the unprivileged user the student process becomes when the grader is root
    (None: stay root inside the namespaces; only for tests). Give each parallel worker its own.
    ``backend``: "auto" picks the strongest that works here (bwrap, then restricted, then none);
    naming one forces it (a backend that cannot run raises SandboxError).
    ``allow_unisolated``: run even when only the "none" backend is available (student code then
    has the grader's user, network and files); otherwise such a run raises IsolationUnavailable.
    ``secret_paths``: what must stay unreadable; with the allow-list (bwrap) none of it is
    visible; under the other backends it is checked by permission bits and reported in
    ``IsolationReport.exposed_secrets``.
    """
    uid: int | None = NOBODY
    gid: int = NOBODY
    allow_network: bool = False
    backend: str = "auto"
    allow_unisolated: bool = False
    secret_paths: tuple[Path, ...] = manifest.secret_paths(REPO_ROOT)


@dataclass(frozen=True)
class Failure:
    """Why a cell or a probe gave no value.

    ``kind`` is the exception type raised in the student's process ("ZeroDivisionError",
    "SystemExit", "ProbeError", ...) or one of the sandbox's own: "NoResult" (the process ended
    before the probe finished) and "BadResult" (the result file was refused). ``where`` is
    "cell N, line L" when known; ``memory`` is True when the error says memory ran out.
    """
    kind: str
    message: str
    where: str = ""
    memory: bool = False

    def __str__(self) -> str:
        message = f": {self.message}" if self.message else ""
        location = f" ({self.where})" if self.where else ""
        return f"{self.kind}{message}{location}"


@dataclass(frozen=True)
class Outcome:
    """What one probe request gave: ``value`` (plain data) when ``failure`` is None."""
    value: Any = None
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class IsolationReport:
    """Which isolation was in force for one run, as the grader set it up.

    ``level``: "full" (bubblewrap: new user, mount, pid, network, IPC and UTS namespaces, an
    allow-list filesystem, no capabilities), "restricted" (a container without namespaces: a
    dedicated uid, a seccomp filter against sockets and shared IPC, Landlock where the kernel has
    it, secrets by permissions) or "none" (the grader's own user, network and files).
    """
    level: str
    backend: str
    uid: int | None  # uid the student code ran as (inside its user namespace, if any)
    privileges_dropped: bool  # the student's uid owns nothing of the grader's
    network_isolated: bool
    mounts_isolated: bool  # an allow-list filesystem (Landlock counts)
    pid_namespace: bool
    ipc_isolated: bool  # no System V / POSIX IPC object is shared with other processes
    user_namespace: bool
    degraded: bool  # student code could read secrets or reach the network, or ran as the grader
    summary: str = ""  # one line for the gradebook: "full (bwrap)", "restricted (...)", "none"
    exposed_secrets: tuple[str, ...] = ()  # secret paths the student uid could read
    notes: tuple[str, ...] = ()


@dataclass
class SandboxResult:
    """Everything one sandbox run gave back. ``outcomes`` has one entry per request id, whatever
    happened; ``status`` ("ok", "timeout", "crashed", "killed", "memory", "exit") and ``reason``
    (one line, "" when ok) say what went wrong overall. Outcomes that exist are valid whatever the
    status (e.g. probes that finished before a later one timed out)."""
    status: str
    reason: str
    outcomes: dict[str, Outcome]
    cell_errors: dict[int, Failure]
    cells_run: int
    stdout_tail: str
    stderr_tail: str
    wall_seconds: float
    cpu_seconds: float
    peak_memory_bytes: int  # largest resident set of one student process, bytes
    returncode: int | None  # like Popen.returncode: negative signal number when killed
    isolation: IsolationReport
    sandbox_id: str  # also in the child's environment as PRUNEKIT_SANDBOX_ID
    sandbox_dir: Path | None = None  # only with keep_sandbox=True
    # Seconds the runner says it spent on start-up (importing torch), the cells and the probes.
    # Written by the student's process, so it may lie: for benchmarks only, never for grading.
    stage_seconds: dict[str, float] = field(default_factory=dict)
