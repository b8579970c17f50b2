"""Run student code in a separate, limited OS process and bring back only plain data.

The grader's process draws inputs, writes them with the student's code and a list of probe requests
into a fresh sandbox directory, and starts a child that runs the code and the probes
(``runner.py``, ``probes.py``, copied in). After the child and every process it started are gone,
the grader loads the results with ``torch.load(weights_only=True)``, validates them as untrusted
data and returns them; it compares them with its reference in its own process (not here).

Isolation layers, and when each one applies:

============================  ===========================================  =====================
layer                          what it stops                                needs
============================  ===========================================  =====================
separate process, new session  patching the grader, killing it; timeouts    always
rlimits (CPU, AS, FSIZE,       busy loops, memory bombs, huge files,        always (NPROC only
NPROC, CORE)                   fork bombs                                   binds non-root uids)
output to files, tails kept    gigabytes of printing filling memory         always
unprivileged uid (65534)       reading root-only secrets, signalling us     grader runs as root
network namespace              network access (even 127.0.0.1)              root, kernel allows
mount namespace                reading the kit repo (solutions, hidden      root, kernel allows
                               checks), other sandboxes, /root; private
                               size-limited home, /tmp, /dev/shm
disk watch (grader polls)      filling the disk with many files             always
pid namespace                  background processes outliving the run       root, kernel allows
============================  ===========================================  =====================

When a layer is missing the run still happens and ``SandboxResult.isolation`` says what was missing
(``degraded`` is True when student code could read secrets or reach the network, or ran as the
grader's own user). Without a mount namespace the protection of secrets is file permissions only:
call ``harden_permissions`` on them (root-owned, mode 0700) before grading.

Measured on the kit's machine (torch 2.14 CUDA build, CPU only, one thread): ``import torch`` maps
about 3.1 GiB of address space (0.5 GiB resident); a full-width VGG forward + backward pass peaks at
about 3.4 GiB of address space (0.75 GiB resident). Hence the 6 GiB default of
``Limits.address_space_bytes``; CUDA is hidden from the child (``CUDA_VISIBLE_DEVICES=""``), since
initialising it would reserve far more address space.

This file is also the sandbox's launcher: ``python -I -B sandbox.py --launch CONFIG`` is the first
process of every sandbox; it sets up namespaces and limits, drops privileges and execs the runner.
So the top level of this module imports only the standard library (torch is imported lazily).
"""
from __future__ import annotations

import io
import itertools
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping, Sequence

KiB, MiB, GiB = 2**10, 2**20, 2**30
AUTOGRADER_DIR = Path(__file__).resolve().parent
REPO_ROOT = AUTOGRADER_DIR.parent
LAUNCHER_FILE = Path(__file__).resolve()
RUNNER_FILE = AUTOGRADER_DIR / "runner.py"
PROBES_FILE = AUTOGRADER_DIR / "probes.py"
NOBODY = 65534
SANDBOX_MOUNTPOINT = "/tmp/prunekit-sandbox"  # where the sandbox appears inside a mount namespace
# World-writable places, replaced by private size-limited tmpfs in a mount namespace.
SCRATCH_DIRS = ("/tmp", "/dev/shm", "/var/tmp", "/run/lock")
HIDDEN_ROOTS = ("/home", "/mnt", "/media", "/opt", "/root", "/srv", "/work")
STAGES = ("startup", "cells", "probes")  # what the runner times in the student process
FATAL_EXIT = 125  # exit code of a launcher that could not set the sandbox up
STATUSES = ("ok", "timeout", "crashed", "killed", "memory", "exit")
MAX_TEXT_CHARS = 1000  # error messages and reasons coming back from the sandbox
MAX_PLAIN_NODES = 1_000_000  # values in one result (stops "billion laughs" pickles)
MAX_PLAIN_DEPTH = 40
MAX_REPORT_BYTES = 64 * KiB  # launcher report lines, total
MAX_SANDBOX_FILES = 10_000  # files and directories the student may leave in the sandbox dir
DISK_CHECK_SECONDS = 0.5  # how often the grader measures the sandbox dir while the child runs
GONE_TIMEOUT_SECONDS = 5.0  # longest wait for killed processes to disappear

# Linux constants (sched.h, sys/mount.h, sys/prctl.h); Python 3.11 has no os.unshare / os.mount.
CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


# ---------------------------------------------------------------------------------------------
# Public data types
# ---------------------------------------------------------------------------------------------

class SandboxError(RuntimeError):
    """The sandbox could not be set up (a grader or machine problem, never the submission's)."""


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


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox run (units in the names; see the module docstring for the
    measured memory need of torch)."""
    wall_seconds: float = 120.0  # whole run, ~3 s of Python + torch start-up included
    cpu_seconds: int = 120  # RLIMIT_CPU: SIGXCPU at the limit, SIGKILL 1 s of CPU later
    address_space_bytes: int = 6 * GiB  # RLIMIT_AS; importing torch alone maps ~3.1 GiB
    max_processes: int = 64  # RLIMIT_NPROC: processes AND threads of the sandbox uid
    file_size_bytes: int = 256 * MiB  # RLIMIT_FSIZE: any file the child writes, stdout included
    output_tail_bytes: int = 64 * KiB  # last bytes of stdout and of stderr kept in the result
    result_bytes: int = 512 * MiB  # result files loaded back, all together
    threads: int = 1  # torch / OpenMP / MKL threads in the child
    scratch_bytes: int = 256 * MiB  # size of each private tmpfs: home, /tmp, /dev/shm, ...
    disk_bytes: int = 1 * GiB  # on-disk bytes the child may write in the sandbox dir; more: killed


@dataclass(frozen=True)
class Isolation:
    """Who the student code runs as and what it may see.

    ``uid``/``gid``: the unprivileged user the child becomes when the grader is root (None: stay
    the grader's user, unsafe). Processes of this uid can signal each other, so graders that run
    sandboxes in parallel should give each worker its own uid. ``secret_roots``: directories masked
    by an empty tmpfs in the child's mount namespace (the interpreter inside them stays visible).
    ``secret_paths``: what must stay unreadable; checked by permission bits when no mount namespace
    hides it, and reported in ``IsolationReport.exposed_secrets``.
    """
    uid: int | None = NOBODY
    gid: int = NOBODY
    allow_network: bool = False
    use_namespaces: bool = True
    secret_roots: tuple[Path, ...] = (REPO_ROOT,)
    secret_paths: tuple[Path, ...] = (REPO_ROOT / "solutions", REPO_ROOT / "autograder" / "checks",
                                      REPO_ROOT / "assignment")


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
    """Which isolation layers were in force for one run (see the module docstring's table)."""
    uid: int | None  # uid the student code ran as; None if the process died before reporting
    privileges_dropped: bool
    network_isolated: bool
    mounts_isolated: bool
    pid_namespace: bool
    degraded: bool  # student code could read secrets or reach the network, or ran as the grader
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
    peak_memory_bytes: int  # largest resident set of the student process, bytes
    returncode: int | None  # like Popen.returncode: negative signal number when killed
    isolation: IsolationReport
    sandbox_id: str  # also in the child's environment as PRUNEKIT_SANDBOX_ID
    sandbox_dir: Path | None = None  # only with keep_sandbox=True
    # Seconds the runner says it spent on start-up (importing torch), the cells and the probes.
    # Written by the student's process, so it may lie: for benchmarks only, never for grading.
    stage_seconds: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def run_in_sandbox(student_source: str | Sequence[str], requests: Sequence[ProbeRequest],
                   limits: Limits, workdir: Path, extra_files: Mapping[str, Path] | None = None,
                   *, isolation: Isolation | None = None,
                   keep_sandbox: bool = False) -> SandboxResult:
    """Run the student's code and ``requests`` in a fresh sandbox under ``workdir``.

    Args:
        student_source: the code extracted from the notebook, one string or a list of cells (each
            cell runs even if an earlier one failed).
        requests: probe calls; their ids must be unique.
        limits: resource limits of the child.
        workdir: where the sandbox directory is created (``workdir/sandbox-XXXX``).
        extra_files: name (relative path) -> file to copy into the child's working directory,
            e.g. the submitted model files; read-only to the student code.
        isolation: user, network and secrets policy; default ``Isolation()``.
        keep_sandbox: keep the sandbox directory (for debugging); by default it is deleted.

    Returns:
        A SandboxResult; never raises for anything the student code does.

    Raises:
        SandboxError: the sandbox could not be set up (e.g. the interpreter is unreachable for the
            unprivileged user and no mount namespace is available).
    """
    isolation = isolation or Isolation()
    cells = [student_source] if isinstance(student_source, str) else list(student_source)
    _check_requests(requests)
    drop = os.geteuid() == 0 and isolation.uid is not None
    sandbox = _Sandbox.create(Path(workdir), isolation if drop else None)
    try:
        sandbox.populate(cells, requests, limits, extra_files or {})
        config = _launch_config(sandbox, limits, isolation, drop)
        run = _run_launcher(sandbox, config, limits)
        result = _collect(sandbox, run, requests, limits, isolation, drop)
        result.sandbox_dir = sandbox.root if keep_sandbox else None
        return result
    finally:
        if not keep_sandbox:
            _remove_tree(sandbox.root)


def harden_permissions(paths: Iterable[Path]) -> list[str]:
    """Make each secret directory (or file) root-owned with mode 0700 (files: 0600), so that the
    sandbox user can neither list nor read anything under it.

    Only the given paths change, not their contents: a directory without permission bits for
    "others" already hides everything below it. Needs root for the chown; as another user only
    the modes of one's own paths change. Missing paths are skipped.

    Side effects: chown / chmod of ``paths``. Returns: one line per change or skip, for the log.
    """
    actions = []
    for path in map(Path, paths):
        if not path.exists():
            actions.append(f"skipped {path}: missing")
            continue
        mode = 0o700 if path.is_dir() else 0o600
        if os.geteuid() == 0:
            os.chown(path, 0, 0, follow_symlinks=False)
        os.chmod(path, mode)
        owner = "root" if os.geteuid() == 0 else "unchanged owner"
        actions.append(f"{path}: mode {mode:o}, {owner}")
    return actions


def readable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid`` (with primary group ``gid`` and no supplementary groups, as in the sandbox)
    could open ``path`` for reading, judged from the permission bits of the path and of every
    directory above it (ACLs and capabilities are not considered; uid 0 reads everything)."""
    real = Path(os.path.realpath(path))
    if uid == 0:
        return real.exists()
    try:
        if not all(_permits(parent, uid, gid, "x") for parent in reversed(real.parents)):
            return False
        return _permits(real, uid, gid, "r")
    except OSError:
        return False


def exposed_secrets(paths: Iterable[Path], uid: int, gid: int, limit: int = 20) -> list[Path]:
    """Files and directories under ``paths`` that ``uid``/``gid`` could read (see readable_by);
    at most ``limit`` of them. Directories the uid cannot enter are not walked into."""
    exposed: list[Path] = []
    for top in map(Path, paths):
        if not top.exists():
            continue
        for directory, subdirs, files in os.walk(top):
            here = Path(directory)
            if not readable_by(here, uid, gid) or not _permits(here, uid, gid, "x"):
                subdirs.clear()  # nothing below an unreadable or closed directory is reachable
                continue
            exposed.append(here)
            exposed.extend(here / name for name in files if readable_by(here / name, uid, gid))
            if len(exposed) >= limit:
                return exposed[:limit]
    return exposed


# ---------------------------------------------------------------------------------------------
# Preparing the sandbox directory
# ---------------------------------------------------------------------------------------------

@dataclass
class _Sandbox:
    """Paths of one sandbox directory (real paths, as the grader sees them)."""
    root: Path
    owner: tuple[int, int] | None  # (uid, gid) owning home/ and out/ when privileges are dropped
    sandbox_id: str

    home = property(lambda self: self.root / "home")
    out = property(lambda self: self.root / "out")
    config = property(lambda self: self.root / "launch.json")
    stdout = property(lambda self: self.root / "stdout.txt")
    stderr = property(lambda self: self.root / "stderr.txt")

    @classmethod
    def create(cls, workdir: Path, isolation: Isolation | None) -> "_Sandbox":
        """A fresh, empty sandbox directory under ``workdir`` (traversable by everyone, writable
        only by the grader)."""
        workdir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="sandbox-", dir=workdir))
        os.chmod(root, 0o755)
        owner = (isolation.uid, isolation.gid) if isolation else None
        return cls(root=root, owner=owner, sandbox_id=uuid.uuid4().hex)

    def populate(self, cells: list[str], requests: Sequence[ProbeRequest], limits: Limits,
                 extra_files: Mapping[str, Path]) -> None:
        """Copy the runner, the probes and the support package in, write the job, make home/ and
        out/ (owned by the sandbox user), copy ``extra_files`` into home/."""
        shutil.copyfile(RUNNER_FILE, self.root / "runner.py")
        shutil.copyfile(PROBES_FILE, self.root / "probes.py")
        shutil.copytree(_support_package_dir(), self.root / "lib" / "prunekit",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _write_job(self.root / "job.pt", cells, requests, limits)
        (self.home / "tmp").mkdir(parents=True)
        self.out.mkdir()
        for name, source in extra_files.items():
            target = self.home / _safe_relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        _make_public(self.root)
        for private in (self.home, self.home / "tmp", self.out):
            if self.owner:
                os.chown(private, *self.owner)
            os.chmod(private, 0o700)


def _check_requests(requests: Sequence[ProbeRequest]) -> None:
    """ValueError unless every request has a unique string id and a plain probe name."""
    ids = [request.id for request in requests]
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"probe request ids must be unique strings, got {ids}")
    for request in requests:
        if not request.probe.isidentifier() or request.probe.startswith("_"):
            raise ValueError(f"not a probe name: {request.probe!r}")
        try:  # the runner loads them with weights_only: catch a grader bug here, clearly
            _plain(dict(request.kwargs), _Budget(2**62))
        except BadResult as error:
            raise ValueError(f"request {request.id!r}: kwargs must be plain data ({error})") \
                from None


def _support_package_dir() -> Path:
    """Directory of the public ``prunekit`` package that the grader itself uses."""
    import importlib.util

    spec = importlib.util.find_spec("prunekit")
    if spec and spec.origin:
        return Path(spec.origin).resolve().parent
    return REPO_ROOT / "prunekit"


def _write_job(path: Path, cells: list[str], requests: Sequence[ProbeRequest],
               limits: Limits) -> None:
    """Save what the runner must do (plain data only; the runner loads it with weights_only)."""
    import torch

    job = {
        "cells": [str(cell) for cell in cells],
        "requests": [{"probe": r.probe, "kwargs": dict(r.kwargs), "seed": r.seed}
                     for r in requests],
        "settings": {"threads": int(limits.threads), "max_result_bytes": int(limits.result_bytes)},
    }
    torch.save(job, path)


def _safe_relative(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside the sandbox home; ValueError otherwise."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise ValueError(f"extra file name must be a relative path inside the sandbox: {name!r}")
    return relative


def _make_public(root: Path) -> None:
    """Grader-written files readable (0644) and directories traversable (0755) by everyone: the
    sandbox user must read the runner, the job and the support package, but not change them."""
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(Path(directory) / name, 0o644)


# ---------------------------------------------------------------------------------------------
# Planning the launch: mounts, limits, environment
# ---------------------------------------------------------------------------------------------

def _launch_config(sandbox: _Sandbox, limits: Limits, isolation: Isolation, drop: bool) -> dict:
    """Everything the launcher needs, as JSON-able data (it runs as a separate program)."""
    uid, gid = (isolation.uid, isolation.gid) if drop else (os.geteuid(), os.getegid())
    needed = _interpreter_paths()
    # Besides the secret roots, hide the places where other copies of the kit, other users'
    # files or instructor checkouts may live (kept: only the way to the interpreter).
    mask_roots = [*isolation.secret_roots, sandbox.root.parent,  # other sandboxes too
                  *(Path(d) for d in HIDDEN_ROOTS if os.path.isdir(d))]
    return {
        "python": sys.executable,
        "sandbox_real": str(sandbox.root),
        "sandbox_ns": SANDBOX_MOUNTPOINT,
        "drop": drop, "uid": uid, "gid": gid,
        "use_namespaces": isolation.use_namespaces,
        "isolate_network": not isolation.allow_network,
        "mounts": _mount_plan(needed, mask_roots, uid, gid, limits.scratch_bytes),
        "reachable_without_mounts": all(readable_by(p, uid, gid) for p in
                                        [*needed, sandbox.root / "runner.py"]),
        "rlimits": _rlimits(limits),
        "max_processes": int(limits.max_processes),
        "env": _child_env(limits, sandbox.sandbox_id),
    }


def _interpreter_paths() -> list[str]:
    """Directories the child's Python needs (executable, prefixes, stdlib, site-packages), both as
    named and with symlinks resolved."""
    named = {sys.prefix, sys.base_prefix, os.path.dirname(sys.executable),
             os.path.dirname(os.path.realpath(sys.executable))}
    named.update(sysconfig.get_path(key) for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    paths = {os.path.realpath(p) for p in named if p and os.path.exists(p)}
    return sorted(paths)


def _mount_plan(needed: list[str], mask_roots: Sequence[Path], uid: int, gid: int,
                scratch_bytes: int) -> dict:
    """Mounts for the child's private mount namespace.

    masks: directories covered by an empty tmpfs, keeping only the children that lead to
        ``needed`` paths: the secret roots, and the directories above the interpreter that the
        sandbox uid may not traverse (e.g. /root, mode 0700, above a pyenv interpreter).
    scratch: directories replaced by a private, size-limited tmpfs.
    """
    every_scratch = [os.path.realpath(d) for d in SCRATCH_DIRS if os.path.isdir(d)]
    scratch = [d for d in every_scratch if not any(_within(p, d) for p in needed)]
    # A scratch dir that holds the interpreter (a virtual environment in a clone under /tmp)
    # cannot be replaced wholesale: it is masked instead, keeping only the way to the interpreter.
    masks: dict[str, set[str]] = {d: set() for d in every_scratch if d not in scratch}
    for root in mask_roots:
        real = os.path.realpath(root)
        if os.path.isdir(real) and real != "/" and real not in needed:
            masks[real] = set()
    for path in needed:
        blocked = next((str(a) for a in reversed(Path(path).parents)
                        if not _permits(a, uid, gid, "x")), None)
        if blocked:
            masks.setdefault(blocked, set())
    for mask, keep in masks.items():
        keep.update(Path(p).relative_to(mask).parts[0] for p in needed if _within(p, mask))
    masks = {m: k for m, k in masks.items()
             if not any(_within(m, s) for s in scratch) and not _hidden_by(m, masks)}
    ordered = sorted(masks.items(), key=lambda item: item[0].count("/"))
    return {"masks": [[m, sorted(k)] for m, k in ordered], "scratch": scratch,
            "scratch_bytes": int(scratch_bytes)}


def _hidden_by(path: str, masks: Mapping[str, set[str]]) -> bool:
    """Whether another mask hides ``path`` (it lies under that mask but not under a kept child)."""
    for mask, keep in masks.items():
        if mask != path and _within(path, mask):
            if Path(path).relative_to(mask).parts[0] not in keep:
                return True
    return False


def _within(path: str, directory: str) -> bool:
    """Whether ``path`` lies strictly below ``directory`` (both absolute, normalised)."""
    return path != directory and path.startswith(directory.rstrip("/") + "/")


def _permits(path: Path | str, uid: int, gid: int, what: str) -> bool:
    """Whether the owner/group/other permission bits of ``path`` that apply to ``uid``/``gid``
    include ``what`` ("r" or "x")."""
    info = os.stat(path)
    if uid == 0:
        return True
    shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
    bit = {"r": 4, "x": 1}[what]
    return bool((info.st_mode >> shift) & bit)


def _rlimits(limits: Limits) -> dict[str, list[int]]:
    """Soft and hard resource limits of the child, by ``resource`` constant name (NPROC is set by
    the launcher, which knows which uid the child runs as)."""
    cpu = int(limits.cpu_seconds)
    return {
        "RLIMIT_CPU": [cpu, cpu + 1],  # SIGXCPU first, SIGKILL 1 CPU-second later
        "RLIMIT_AS": [int(limits.address_space_bytes)] * 2,
        "RLIMIT_FSIZE": [int(limits.file_size_bytes)] * 2,
        "RLIMIT_CORE": [0, 0],  # a crash must not write gigabytes of core dump
        "RLIMIT_NOFILE": [1024, 1024],
    }


def _child_env(limits: Limits, sandbox_id: str) -> dict[str, str]:
    """The child's whole environment; "{sandbox}" is replaced by the launcher with the sandbox
    path as the child sees it."""
    threads = str(int(limits.threads))
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "{sandbox}/home",
        "TMPDIR": "{sandbox}/home/tmp",
        "PYTHONPATH": "{sandbox}/lib",  # for the student's own subprocesses (the runner runs -I)
        "PRUNEKIT_GRADING": "1",
        "PRUNEKIT_SANDBOX_ID": sandbox_id,
        "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads, "NUMEXPR_NUM_THREADS": threads,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "{sandbox}/home/.matplotlib",
        "CUDA_VISIBLE_DEVICES": "",  # CUDA start-up would reserve far more than RLIMIT_AS allows
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
    }


# ---------------------------------------------------------------------------------------------
# Running the launcher and waiting for it
# ---------------------------------------------------------------------------------------------

@dataclass
class _Run:
    """What the grader saw of one launcher run."""
    timed_out: bool
    wait_status: int
    cpu_seconds: float
    peak_bytes: int
    wall_seconds: float
    report: list[dict]
    stdout_tail: str
    stderr_tail: str
    violation: str  # why the grader killed the child early (disk use), "" if it did not
    leftovers: bool  # some killed process had not disappeared when results were loaded


def _run_launcher(sandbox: _Sandbox, config: dict, limits: Limits) -> _Run:
    """Start the launcher in a new session, wait up to the wall limit, kill every process of the
    sandbox, reap the launcher and read the output tails.

    Side effects: writes launch.json, stdout.txt and stderr.txt in the sandbox directory.
    """
    read_fd, write_fd = os.pipe()
    config = dict(config, report_fd=write_fd)
    sandbox.config.write_text(json.dumps(config))
    os.chmod(sandbox.config, 0o600)
    with open(sandbox.stdout, "w+b") as out, open(sandbox.stderr, "w+b") as err:
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-B", str(LAUNCHER_FILE), "--launch", str(sandbox.config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(write_fd,),
                start_new_session=True, cwd=sandbox.root, env={"PATH": "/usr/bin:/bin"})
        finally:
            os.close(write_fd)
        watcher = _Watcher(process.pid, read_fd, [sandbox.home, sandbox.out], limits.disk_bytes)
        try:
            timed_out = watcher.wait_until(started + limits.wall_seconds)
        finally:
            watcher.kill_all()
            status, usage = watcher.reap()
            process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        wall = time.monotonic() - started
        tails = _tail(out, limits.output_tail_bytes), _tail(err, limits.output_tail_bytes)
    cpu = usage.ru_utime + usage.ru_stime
    peak = max(usage.ru_maxrss * KiB, watcher.peak_bytes)  # ru_maxrss is in KiB on Linux
    return _Run(timed_out, status, cpu, peak, wall, watcher.events, *tails, watcher.violation,
                watcher.leftovers)


class _Watcher:
    """Follows one launcher: reads its report pipe, watches the student process's memory and
    disk use, detects its exit without reaping it (so its process group id stays valid for
    killpg), kills all."""

    def __init__(self, pid: int, report_fd: int, disk_dirs: list[Path], disk_bytes: int):
        self.pid = pid
        self.report_fd = report_fd
        self.events: list[dict] = []
        self.peak_bytes = 0
        self.violation = ""
        self.leftovers = False  # processes of the group still alive after the kill and wait
        self._disk_dirs, self._disk_bytes = disk_dirs, disk_bytes
        self._next_disk_check = 0.0
        self._buffer = b""
        self._received = 0
        self._worker_pid = pid  # the student process: the launcher, or as reported
        self._init_pidfd: int | None = None  # init of the pid namespace, if there is one
        self._report_open = True
        os.set_blocking(report_fd, False)

    def wait_until(self, deadline: float) -> bool:
        """Poll until the launcher exits (False), ``deadline`` (time.monotonic) passes (True) or
        the child uses too much disk (False, with ``violation`` set)."""
        while True:
            self._read_report()
            self._sample_memory()
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return False
            if time.monotonic() >= deadline:
                return True
            if self._check_disk():
                return False
            if self._report_open:  # wakes up early for report lines
                select.select([self.report_fd], [], [], 0.05)
            else:  # at end of file the pipe is always "readable": sleep instead
                time.sleep(0.05)

    def kill_all(self) -> None:
        """SIGKILL the pid-namespace init (which takes every process in the namespace with it)
        and the launcher's process group (without a pid namespace: everything but processes
        that left the group with setsid). Safe after exit: the pidfd and the unreaped launcher
        keep the ids from being reused."""
        if self._init_pidfd is not None:
            try:
                signal.pidfd_send_signal(self._init_pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> tuple[int, Any]:
        """Reap the launcher and wait until every process of the sandbox is gone (SIGKILL takes
        effect asynchronously); return the launcher's wait status and resource usage (children
        included). Reads what is left of the report; closes the pipe and the pidfd."""
        _, status, usage = os.wait4(self.pid, 0)
        if self._init_pidfd is not None:  # init exits only once its namespace is empty
            select.select([self._init_pidfd], [], [], GONE_TIMEOUT_SECONDS)
            os.close(self._init_pidfd)
        self.leftovers = not _wait_until_group_gone(self.pid, GONE_TIMEOUT_SECONDS)
        end = time.monotonic() + 1.0  # the report's writers are all dead or exec'd by now
        while time.monotonic() < end and self._read_report():
            select.select([self.report_fd], [], [], 0.05)
        os.close(self.report_fd)
        return status, usage

    def _read_report(self) -> bool:
        """Read available report lines; False at end of file."""
        try:
            chunk = os.read(self.report_fd, 4096)
        except BlockingIOError:
            return True
        if not chunk:
            self._report_open = False
            return False
        self._received += len(chunk)
        if self._received <= MAX_REPORT_BYTES:
            self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle_event(line)
        return True

    def _handle_event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        self.events.append(event)
        pid = event.get("pid")
        if not isinstance(pid, int):
            return
        if event.get("event") == "worker":
            self._worker_pid = pid
        elif event.get("event") == "init":
            try:  # a pidfd cannot be confused with a later process that reuses the pid
                self._init_pidfd = os.pidfd_open(pid)
            except OSError:
                self._init_pidfd = None

    def _check_disk(self) -> bool:
        """Every DISK_CHECK_SECONDS: whether the sandbox dir holds more than allowed (RLIMIT_FSIZE
        bounds single files only); sets ``violation``."""
        if time.monotonic() < self._next_disk_check:
            return False
        self._next_disk_check = time.monotonic() + DISK_CHECK_SECONDS
        used, entries = _disk_usage(self._disk_dirs, MAX_SANDBOX_FILES)
        if used > self._disk_bytes:
            self.violation = f"wrote more than {self._disk_bytes / MiB:g} MiB to disk"
        elif entries > MAX_SANDBOX_FILES:
            self.violation = f"created more than {MAX_SANDBOX_FILES} files"
        return bool(self.violation)

    def _sample_memory(self) -> None:
        """Track the student process's peak resident set (VmHWM); wait4's figure is lost when the
        launcher is killed before it reaps a pid-namespace worker."""
        try:
            with open(f"/proc/{self._worker_pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        self.peak_bytes = max(self.peak_bytes, int(line.split()[1]) * KiB)
        except (OSError, ValueError, IndexError):
            pass


def _wait_until_group_gone(pgid: int, timeout: float) -> bool:
    """Wait until no live (non-zombie) process is in process group ``pgid``; False on timeout.
    Only looks (no signals): once the group is empty its id may be reused by someone else."""
    end = time.monotonic() + timeout
    while _live_group_members(pgid):
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)
    return True


def _live_group_members(pgid: int) -> list[int]:
    """Pids of processes in group ``pgid`` that are not zombies (from /proc/<pid>/stat)."""
    members = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                fields = stat_file.read().rsplit(b")", 1)[1].split()  # after "(comm)"
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def _disk_usage(directories: list[Path], max_entries: int) -> tuple[int, int]:
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


def _tail(stream, max_bytes: int) -> str:
    """The last ``max_bytes`` of an output file (via the grader's own file object, so renaming or
    replacing the file from inside the sandbox changes nothing), decoded leniently."""
    size = os.fstat(stream.fileno()).st_size
    start = max(0, size - max_bytes)
    data = os.pread(stream.fileno(), max_bytes, start)
    text = data.decode("utf-8", errors="replace")
    return f"[... {start} earlier bytes dropped ...]\n{text}" if start else text


# ---------------------------------------------------------------------------------------------
# Loading and judging what came back
# ---------------------------------------------------------------------------------------------

def _collect(sandbox: _Sandbox, run: _Run, requests: Sequence[ProbeRequest], limits: Limits,
             isolation: Isolation, drop: bool) -> SandboxResult:
    """Turn the finished run into a SandboxResult: load and validate every result file, classify
    the exit, describe the isolation. Runs only after every sandbox process is gone."""
    fatal = next((e.get("error") for e in run.report if e.get("event") == "fatal"), None)
    if fatal is not None:
        raise SandboxError(f"sandbox set-up failed: {str(fatal)[:MAX_TEXT_CHARS]}; "
                           f"stderr: {run.stderr_tail[-500:]}")
    if drop:  # a process that escaped the kill can no longer create files here
        os.chown(sandbox.out, 0, 0)
    budget = _Budget(limits.result_bytes)
    progress = _read_progress(sandbox.out)
    cells_run, cell_errors = _load_cells(sandbox.out, budget)
    try:
        finished, tampered = _load_record(sandbox.out / "done.pt", budget, _check_done) is True, ""
    except BadResult as error:  # written by student code: its verdict, not a grader error
        finished, tampered = False, str(error).split(" (", 1)[0][:100]
    loaded = [_load_outcome(sandbox.out / f"req-{i}.pt", budget) for i in range(len(requests))]
    stage_seconds = _load_stage_seconds(sandbox.out, budget, run.wall_seconds)
    status_code = _worker_status(run)
    status, reason = _classify(run, status_code, finished, progress, limits,
                               _memory_where(cell_errors, loaded, requests), run.stderr_tail)
    if tampered and status == "exit":
        reason = f"the student code tampered with the sandbox's completion record ({tampered})"
    missing = Failure("NoResult", f"no result came back: {reason or 'the probe did not run'}")
    outcomes = {r.id: (o if o is not None else Outcome(failure=missing))
                for r, o in zip(requests, loaded)}
    return SandboxResult(
        status=status, reason=reason, outcomes=outcomes, cell_errors=cell_errors,
        cells_run=cells_run, stdout_tail=run.stdout_tail, stderr_tail=run.stderr_tail,
        wall_seconds=run.wall_seconds, cpu_seconds=run.cpu_seconds,
        peak_memory_bytes=run.peak_bytes,
        returncode=None if run.timed_out or run.violation
        else os.waitstatus_to_exitcode(status_code),
        isolation=_isolation_report(run, isolation, drop), sandbox_id=sandbox.sandbox_id,
        stage_seconds=stage_seconds)


class BadResult(ValueError):
    """A result file written in the sandbox was refused (the message says why)."""


class _Budget:
    """Bytes and values that the results of one run may still hold."""

    def __init__(self, max_bytes: int):
        self.bytes_left = max_bytes
        self.nodes_left = MAX_PLAIN_NODES

    def spend(self, nbytes: int = 0) -> None:
        self.bytes_left -= nbytes
        self.nodes_left -= 1
        if self.bytes_left < 0:
            raise BadResult("results exceed the size limit")
        if self.nodes_left < 0:
            raise BadResult("results hold too many values")


def load_untrusted(path: Path, max_bytes: int) -> Any:
    """Load a file that untrusted code wrote with ``torch.save``.

    Refuses (BadResult) anything but a regular, singly linked file (no symlink, FIFO or hard link
    to someone else's file) of at most ``max_bytes``, a zip archive whose members are stored
    uncompressed (no zip bombs) and add up to at most ``max_bytes``, and a pickle that needs more
    than ``torch.load(weights_only=True)`` allows (no code runs while loading). Does not validate
    the structure; see ``_plain``.
    """
    import torch

    data = _read_regular_file(path, max_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise BadResult(f"not a torch archive ({error})") from None
    if any(m.compress_type != zipfile.ZIP_STORED for m in members):
        raise BadResult("compressed archive members (torch.save never writes them)")
    if sum(m.file_size for m in members) > max_bytes:
        raise BadResult("archive larger than the size limit")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any refusal or corruption is the same verdict
        message = " ".join(str(error).split())[:300]
        raise BadResult(f"refused by weights_only loading ({type(error).__name__}: "
                        f"{message})") from None


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file with one link and at most ``max_bytes``."""
    try:  # O_NONBLOCK: opening a FIFO planted by the student must not hang the grader
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise BadResult(f"cannot open ({error.strerror}; symlinks are refused)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise BadResult("not a regular file with a single link")
        if info.st_size > max_bytes:
            raise BadResult(f"file of {info.st_size} bytes exceeds the limit of {max_bytes}")
        chunks, left = [], info.st_size + 1
        while left > 0 and (chunk := os.read(fd, min(left, 16 * MiB))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise BadResult("file grew beyond the size limit while being read")
        return data
    finally:
        os.close(fd)


def _plain(value: Any, budget: _Budget, depth: int = 0) -> Any:
    """A validated copy of untrusted loaded data: None, bool, int, float, str (at most 1 MB),
    dense CPU tensors, dicts with str/int keys, lists and tuples, at most MAX_PLAIN_DEPTH deep.
    Raises BadResult for anything else (including cycles, which exceed the depth)."""
    import torch

    if depth > MAX_PLAIN_DEPTH:
        raise BadResult("nested too deeply")
    if isinstance(value, torch.Tensor):
        return _plain_tensor(value, budget)
    budget.spend()
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        budget.spend(len(value))
        if len(value) > MiB:
            raise BadResult("string too long")
        return value
    if isinstance(value, torch.Size):
        return tuple(int(v) for v in value)
    if isinstance(value, dict):  # OrderedDict too
        if not all(type(k) in (str, int) for k in value):
            raise BadResult("dict keys must be str or int")
        return {k: _plain(v, budget, depth + 1) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_plain(v, budget, depth + 1) for v in value)
    raise BadResult(f"unexpected type {type(value).__name__}")


def _plain_tensor(tensor, budget: _Budget):
    """A plain, detached, dense CPU tensor (charged at its storage size), or BadResult."""
    import torch

    if tensor.layout != torch.strided or tensor.device.type != "cpu" or tensor.is_quantized:
        raise BadResult("only dense CPU tensors may come back")
    budget.spend(tensor.untyped_storage().nbytes())
    plain = tensor.detach()
    return plain if type(plain) is torch.Tensor else plain.as_subclass(torch.Tensor)


def _load_record(path: Path, budget: _Budget, check) -> Any:
    """``check(plain data of the file)``; None if the file is missing; BadResult if refused."""
    if not os.path.lexists(path):
        return None
    data = _plain(load_untrusted(path, budget.bytes_left), budget)
    return check(data)


def _load_outcome(path: Path, budget: _Budget) -> Outcome | None:
    """The Outcome stored in one request file; None if missing; a BadResult failure if refused."""
    try:
        return _load_record(path, budget, _check_request_record)
    except BadResult as error:
        return Outcome(failure=Failure("BadResult", f"the result file was refused: {error}"))


def _check_request_record(data: Any) -> Outcome:
    if not isinstance(data, dict) or type(data.get("ok")) is not bool:
        raise BadResult("not a result record")
    if data["ok"]:
        if "value" not in data:
            raise BadResult("result record without a value")
        return Outcome(value=data["value"])
    return Outcome(failure=_failure_from(data.get("error")))


def _load_stage_seconds(out: Path, budget: _Budget, wall_seconds: float) -> dict[str, float]:
    """The runner's timing record ({"startup", "cells", "probes"} -> seconds); {} when missing
    or implausible (not numbers, negative, or more than the run's wall time)."""
    def check(data: Any) -> dict[str, float]:
        if (not isinstance(data, dict) or set(data) != set(STAGES)
                or not all(type(v) is float and 0 <= v <= wall_seconds for v in data.values())):
            raise BadResult("not a timing record")
        return {stage: data[stage] for stage in STAGES}

    try:
        return _load_record(out / "timing.pt", budget, check) or {}
    except BadResult:
        return {}


def _check_done(data: Any) -> bool:
    return data == {"finished": True}


def _failure_from(data: Any) -> Failure:
    """A Failure from an error record written in the sandbox (fields checked and truncated)."""
    if not isinstance(data, dict):
        raise BadResult("error record is not a dict")
    text = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in ("type", "message",
                                                                            "where")}
    return Failure(kind=text["type"][:100] or "Exception", message=text["message"][:MAX_TEXT_CHARS],
                   where=text["where"][:100], memory=data.get("memory") is True)


def _load_cells(out: Path, budget: _Budget) -> tuple[int, dict[int, Failure]]:
    """How many cells ran, and the error of each failing cell (by cell index)."""
    try:
        data = _load_record(out / "cells.pt", budget, lambda d: d)
    except BadResult:
        return 0, {}
    if not isinstance(data, dict) or not isinstance(data.get("errors"), dict):
        return 0, {}
    done = data.get("done") if type(data.get("done")) is int else 0
    errors = {}
    for index, error in data["errors"].items():
        try:
            errors[int(index)] = _failure_from(error)
        except (BadResult, ValueError):
            continue
    return done, errors


def _read_progress(out: Path) -> str:
    """What the runner said it was doing last ("cell 3", "probe 2 (call_function)"), or "" when
    it said nothing readable (printable ASCII, at most 200 bytes)."""
    try:
        text = _read_regular_file(out / "progress.txt", 200).decode("ascii")
    except (BadResult, UnicodeDecodeError):
        return ""
    return text if text.isprintable() else ""


def _memory_where(cell_errors: Mapping[int, Failure], loaded: Sequence[Outcome | None],
                  requests: Sequence[ProbeRequest]) -> str:
    """Where student code reported running out of memory first ("cell 2", "probe 'x'"), or ""."""
    for index, failure in sorted(cell_errors.items()):
        if failure.memory:
            return f"cell {index}"
    for request, outcome in zip(requests, loaded):
        if outcome is not None and outcome.failure is not None and outcome.failure.memory:
            return f"probe {request.id!r}"
    return ""


def _worker_status(run: _Run) -> int:
    """Wait status of the student process: as reported by the pid namespace's init, else the
    launcher's own (it exec'd the runner)."""
    for event in run.report:
        if event.get("event") == "worker_exit" and isinstance(event.get("status"), int):
            return event["status"]
    return run.wait_status


def _classify(run: _Run, status: int, finished: bool, progress: str, limits: Limits,
              memory_where: str, stderr_tail: str) -> tuple[str, str]:
    """(status, reason) of a run; see SandboxResult for the status values."""
    where = f" during {progress}" if progress else " before the student code ran"
    memory = f"out of memory (address-space limit {limits.address_space_bytes / GiB:g} GiB)"
    if run.timed_out:
        return "timeout", f"wall-time limit of {limits.wall_seconds:g} s exceeded{where}"
    if run.violation:
        return "killed", f"killed: the student code {run.violation}{where}"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = _signal_name(number)
        if number == signal.SIGXCPU or (number == signal.SIGKILL
                                        and run.cpu_seconds >= limits.cpu_seconds):
            return "timeout", f"CPU-time limit of {limits.cpu_seconds} s exceeded{where}"
        memory_signs = memory_where or "bad_alloc" in stderr_tail or "MemoryError" in stderr_tail
        if number == signal.SIGKILL:
            near_limit = run.peak_bytes >= 0.8 * limits.address_space_bytes
            if memory_signs or near_limit:
                return "memory", f"killed {memory}{where}"
            return "killed", f"killed by {name}{where}"
        if number in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE):
            if memory_signs:
                return "memory", f"crashed ({name}) {memory}{where}"
            return "crashed", f"crashed with {name}{where}"
        return "killed", f"killed by {name}{where}"
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not finished:
        return "exit", f"the student process exited with code {code}{where}, before finishing"
    if memory_where:
        return "memory", f"the student code ran {memory} in {memory_where}"
    return "ok", ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _isolation_report(run: _Run, isolation: Isolation, drop: bool) -> IsolationReport:
    """Combine the launcher's report with a permission check of the secrets."""
    setup = next((e for e in run.report if e.get("event") == "setup"), {})
    mounts = setup.get("mounts_isolated") is True
    network = setup.get("network_isolated") is True
    uid = setup.get("uid") if isinstance(setup.get("uid"), int) else None
    dropped = drop and uid == isolation.uid
    notes = [str(n)[:300] for n in setup.get("notes", []) if isinstance(n, str)][:20]
    if run.leftovers:
        notes.append(f"killed processes were still alive {GONE_TIMEOUT_SECONDS:g} s later")
    if not drop:
        notes.append("student code ran as the grader's own user"
                     + (" (grader not root)" if os.geteuid() != 0 else " (Isolation.uid is None)"))
    if mounts:
        exposed: list[Path] = []
    elif dropped:
        exposed = exposed_secrets(isolation.secret_paths, isolation.uid, isolation.gid)
    else:
        exposed = [p for p in isolation.secret_paths if p.exists()]
    degraded = not dropped or bool(exposed) or (not network and not isolation.allow_network)
    return IsolationReport(uid=uid, privileges_dropped=dropped, network_isolated=network,
                           mounts_isolated=mounts, pid_namespace=setup.get("pid_namespace") is True,
                           degraded=degraded, exposed_secrets=tuple(map(str, exposed)),
                           notes=tuple(notes))


def _remove_tree(root: Path) -> None:
    """Delete a sandbox directory, whatever modes the student code left in it."""
    def make_writable_and_retry(function, path, _):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            function(path)
        except OSError:
            pass

    shutil.rmtree(root, onerror=make_writable_and_retry)


# ---------------------------------------------------------------------------------------------
# The launcher: first process of every sandbox (python -I -B sandbox.py --launch CONFIG)
# ---------------------------------------------------------------------------------------------

class _Reporter:
    """Sends JSON lines to the grader through the report pipe. The pipe is close-on-exec, so
    student code never holds it and cannot forge the report."""

    def __init__(self, fd: int):
        self.fd = fd
        os.set_inheritable(fd, False)

    def send(self, **event: Any) -> None:
        line = json.dumps(event)[:4000].encode() + b"\n"  # one write under PIPE_BUF is atomic
        try:
            os.write(self.fd, line)
        except OSError:
            pass


def _launcher_main(config_path: str) -> None:
    """Set the sandbox up as the config says and exec the runner; never returns. Any failure of
    the set-up is reported as a "fatal" event and exits with FATAL_EXIT."""
    config = json.loads(Path(config_path).read_text())
    reporter = _Reporter(config["report_fd"])
    try:
        setup = _isolate(config)
        if setup["pid_namespace"]:
            _supervise(config, setup, reporter)
        _become_worker(config, setup, reporter)
    except BaseException as error:  # noqa: BLE001 - report whatever stopped the set-up
        reporter.send(event="fatal", error=f"{type(error).__name__}: {error}")
        os._exit(FATAL_EXIT)


def _isolate(config: dict) -> dict:
    """Enter new network, mount and pid namespaces where possible (root only) and set up the
    mounts. Returns what worked, with notes on what did not."""
    setup = {"network_isolated": False, "mounts_isolated": False, "pid_namespace": False,
             "notes": []}
    notes = setup["notes"]
    if os.geteuid() != 0 or not config["use_namespaces"]:
        notes.append("no namespaces: " + ("grader not root" if os.geteuid() != 0 else "disabled"))
        return setup
    if config["isolate_network"]:
        setup["network_isolated"] = _try(lambda: _unshare(CLONE_NEWNET), notes, "network namespace")
    if _try(lambda: _unshare(CLONE_NEWNS), notes, "mount namespace"):
        _apply_mounts(config["mounts"], config["sandbox_real"], config["sandbox_ns"],
                      (config["uid"], config["gid"]))
        setup["mounts_isolated"] = True  # a half-applied mount plan raises: fatal, not degraded
    setup["pid_namespace"] = _try(lambda: _unshare(CLONE_NEWPID), notes, "pid namespace")
    return setup


def _try(action, notes: list[str], what: str) -> bool:
    """Run ``action``; on OSError note why ``what`` is unavailable and return False."""
    try:
        action()
        return True
    except OSError as error:
        notes.append(f"no {what}: {error}")
        return False


def _apply_mounts(plan: dict, sandbox_real: str, sandbox_ns: str,
                  owner: tuple[int, int]) -> None:
    """In a fresh mount namespace: mask directories with empty tmpfs (re-binding the kept
    children), give the scratch dirs (/tmp, ...) private size-limited tmpfs, bind the sandbox at
    ``sandbox_ns`` and give it a private home owned by ``owner`` (uid, gid). Paths to keep are
    opened first (O_PATH), since the masks hide them."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here may leak back to the host
    keep = {f"{mask}/{child}": os.open(f"{mask}/{child}", os.O_PATH | os.O_CLOEXEC)
            for mask, children in plan["masks"] for child in children}
    sandbox_fd = os.open(sandbox_real, os.O_PATH | os.O_CLOEXEC)
    for mask, children in plan["masks"]:
        _mount("tmpfs", mask, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for child in children:
            _bind(keep[f"{mask}/{child}"], f"{mask}/{child}")
    for directory in plan["scratch"]:
        _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV,
               f"mode=1777,size={plan['scratch_bytes']}")
    _bind(sandbox_fd, sandbox_ns)
    _private_home(sandbox_fd, f"{sandbox_ns}/home", plan["scratch_bytes"], owner)
    for fd in [*keep.values(), sandbox_fd]:
        os.close(fd)


def _private_home(sandbox_fd: int, home: str, size: int, owner: tuple[int, int]) -> None:
    """Cover the sandbox's home/ with a tmpfs of ``size`` bytes (plus what the grader put there)
    owned by ``owner``, and copy the grader's files (the extra files) in: what the student code
    writes stays bounded in memory and vanishes with the namespace."""
    real_home = f"/proc/self/fd/{sandbox_fd}/home"  # still the real directory under the tmpfs
    given, _ = _disk_usage([Path(real_home)], MAX_SANDBOX_FILES)
    uid, gid = owner
    _mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV,
           f"mode=0700,uid={uid},gid={gid},size={size + given}")
    shutil.copytree(real_home, home, dirs_exist_ok=True)
    for directory, subdirs, _ in os.walk(home):
        for name in subdirs:  # copied directories (home/tmp) must be the student's, as before
            os.chown(os.path.join(directory, name), uid, gid)


def _bind(source_fd: int, target: str) -> None:
    """Bind-mount what ``source_fd`` (O_PATH) refers to at ``target``, creating the mount point."""
    if stat.S_ISDIR(os.fstat(source_fd).st_mode):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        Path(target).touch()
    _mount(f"/proc/self/fd/{source_fd}", target, None, MS_BIND | MS_REC)


def _supervise(config: dict, setup: dict, reporter: _Reporter) -> None:
    """Fork the init of the new pid namespace, report its pid, wait for it; never returns."""
    init = os.fork()
    if init == 0:
        _guarded(lambda: _run_init(config, setup, reporter), reporter)
    reporter.send(event="init", pid=init)
    os.waitpid(init, 0)
    os._exit(0)


def _run_init(config: dict, setup: dict, reporter: _Reporter) -> None:
    """Pid 1 of the namespace; stays root and runs no student code. Starts the student process,
    reaps every orphan, reports the student process's wait status and exits, which makes the
    kernel kill whatever is left in the namespace. (The student process is not pid 1 itself,
    because the kernel ignores signals that pid 1 sends itself, e.g. os.abort().)"""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # launcher killed -> init dies -> namespace dies
    worker = os.fork()
    if worker == 0:
        _guarded(lambda: _become_worker(config, setup, reporter), reporter)
    while True:
        pid, status = os.wait()
        if pid == worker:
            reporter.send(event="worker_exit", status=status)
            os._exit(0)


def _guarded(action, reporter: _Reporter) -> None:
    """Run ``action`` in a forked child; report any failure; never return into the parent's
    code path."""
    try:
        action()
    except BaseException as error:  # noqa: BLE001 - the grader sees it via the report
        reporter.send(event="fatal", error=f"{type(error).__name__}: {error}")
    os._exit(FATAL_EXIT)


def _mount_private_proc(notes: list[str]) -> None:
    """A /proc of the pid namespace, where possible with hidepid=2: the student's uid then sees
    only its own processes, not the root-owned init above it (whose command line names the
    launcher and the kit's folder)."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    if not _try(lambda: _mount("proc", "/proc", "proc", flags, "hidepid=2"), [], ""):
        _try(lambda: _mount("proc", "/proc", "proc", flags), notes, "private /proc")


def _become_worker(config: dict, setup: dict, reporter: _Reporter) -> None:
    """Apply rlimits, drop privileges and exec the runner as the student process; never
    returns (raises on failure)."""
    sandbox = config["sandbox_ns"] if setup["mounts_isolated"] else config["sandbox_real"]
    if setup["pid_namespace"]:
        reporter.send(event="worker", pid=_outer_pid())  # the grader samples its memory
        if setup["mounts_isolated"]:  # the student sees only the namespace's processes
            _mount_private_proc(setup["notes"])
    os.chdir(f"{sandbox}/home")
    _set_rlimits(config)
    if config["drop"]:
        if not setup["mounts_isolated"] and not config["reachable_without_mounts"]:
            raise PermissionError(f"uid {config['uid']} cannot reach the interpreter or the "
                                  "sandbox and no mount namespace is available; install Python "
                                  "and choose a workdir readable by that user")
        _drop_privileges(config["uid"], config["gid"])
    _prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid binary can give the privileges back
    reporter.send(event="setup", uid=os.getuid(), **setup)
    env = {key: value.replace("{sandbox}", sandbox) for key, value in config["env"].items()}
    python = config["python"]
    os.execve(python, [python, "-I", "-B", f"{sandbox}/runner.py"], env)


def _outer_pid() -> int:
    """This process's pid as the grader sees it: the first NSpid entry of the /proc mounted in
    the grader's pid namespace (call before a private /proc replaces it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[1])
    return os.getpid()


def _set_rlimits(config: dict) -> None:
    """Resource limits of the student process (inherited by everything it starts)."""
    import resource

    for name, (soft, hard) in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    # RLIMIT_NPROC counts every task of the real uid: for a non-root grader that includes its
    # own processes, so the child gets that many more (this process, the future student
    # process, is part of its own budget, as with a dropped uid).
    base = 0 if config["drop"] else _tasks_of_uid(os.getuid()) - 1
    nproc = base + config["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _tasks_of_uid(uid: int) -> int:
    """Number of tasks (threads included) whose real uid is ``uid``."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text()
                          .splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def _drop_privileges(uid: int, gid: int) -> None:
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


def _libc():
    """(ctypes, libc) with errno tracking; imported here to keep the grader's import light."""
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    """OSError with errno when a libc call returned non-zero."""
    if result != 0:
        import ctypes

        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _unshare(flags: int) -> None:
    ctypes, libc = _libc()
    libc.unshare.argtypes = [ctypes.c_int]
    _check(libc.unshare(flags), f"unshare({flags:#x})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    ctypes, libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    encode = (lambda text: None if text is None else text.encode())
    _check(libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)),
           f"mount {target}")


def _prctl(option: int, value: int) -> None:
    ctypes, libc = _libc()
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    _check(libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


if __name__ == "__main__" and sys.argv[1:2] == ["--launch"]:
    _launcher_main(sys.argv[2])
