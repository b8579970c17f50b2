"""One sandbox run from start to finish: backend, folder, supervised run, results."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from autograder.sandbox import supervise, untrusted
from autograder.sandbox.api import (Failure, Isolation, IsolationReport, IsolationUnavailable,
                                    Limits, Outcome, ProbeRequest, SandboxError, SandboxResult)
from autograder.sandbox.backend import Backend, choose_backend, describe
from autograder.sandbox.folder import SandboxFolder, check_requests
from autograder.sandbox.permissions import exposed_secrets, permits
from autograder.sandbox.supervise import GONE_TIMEOUT_SECONDS, Run

SHARED_SANDBOX_FOLDER = "prunekit-sandboxes"  # see _sandbox_base


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
        workdir: where the sandbox folder is created (``workdir/sandbox-XXXX``); anywhere on the
            machine (the student process sees only its own folder). With bubblewrap the
            system's temporary folder (``$TMPDIR``) is used instead: a mount's source path is
            visible inside, and that one says nothing of the grader's folders.
        extra_files: name (relative path) -> file to copy into the child's working folder,
            e.g. the submitted model files; read-only to the student code.
        isolation: user, network and backend policy; default ``Isolation()``.
        keep_sandbox: keep the sandbox folder (for debugging); by default it is deleted.

    Returns:
        A SandboxResult; never raises for anything the student code does.

    Raises:
        IsolationUnavailable: nothing isolates here and ``isolation.allow_unisolated`` is False
            (the message says what is missing and how to get it).
        SandboxError: the sandbox could not be set up (a machine or grader problem).
    """
    isolation = isolation or Isolation()
    cells = [student_source] if isinstance(student_source, str) else list(student_source)
    check_requests(requests)
    backend = choose_backend(isolation)
    owner = (isolation.uid, isolation.gid) if backend.drop else None
    folder = SandboxFolder.create(_sandbox_base(Path(workdir), backend, isolation), owner)
    try:
        folder.populate(cells, requests, limits, extra_files or {})
        run = supervise.run_launcher(folder, limits, isolation, backend)
        result = _collect(folder, run, requests, limits, isolation, backend)
        result.sandbox_dir = folder.root if keep_sandbox else None
        return result
    finally:
        if not keep_sandbox:
            folder.remove()


# What the canary's student process runs instead of the runner: the standard library modules
# the runner needs and torch's files, read (not imported: that takes seconds) as the sandbox uid.
CANARY_PROGRAM = ["-c", "import ctypes, json, os, importlib.util\n"
                        "spec = importlib.util.find_spec('torch')\n"
                        "assert spec is not None and spec.origin, 'torch is not importable'\n"
                        "open(spec.origin, 'rb').read(1)\n"
                        "lib = os.path.join(os.path.dirname(spec.origin), 'lib')\n"
                        "for name in os.listdir(lib):\n"
                        "    if name.startswith(('libtorch_cpu', 'libc10.')):\n"
                        "        open(os.path.join(lib, name), 'rb').read(1)\n"]
_VERIFIED: dict[tuple, Backend] = {}


def verify_backend(isolation: Isolation, workdir: Path | None = None) -> Backend:
    """The backend ``isolation`` gets here, once a canary has run through it: the real launcher
    and confinement, as the sandbox uid, starting Python and reading its standard library and
    torch's files (about 0.2 s; once per process and isolation). Call before a batch.

    Raises:
        IsolationUnavailable: as :func:`choose_backend`, or the canary failed: the message says
            why and what to do.
    """
    backend = choose_backend(isolation)
    key = (backend, isolation)
    if key not in _VERIFIED and backend.name != "none":
        with tempfile.TemporaryDirectory(prefix="prunekit-canary-") as temporary:
            failure = _canary_failure(isolation, backend, Path(workdir or temporary))
        if failure:
            raise IsolationUnavailable(canary_message(backend, isolation, failure))
        _VERIFIED[key] = backend
    return backend


def _canary_failure(isolation: Isolation, backend: Backend, workdir: Path) -> str:
    """"" when the canary ran, else the last line it (or the launcher) said."""
    owner = (isolation.uid, isolation.gid) if backend.drop else None
    folder = SandboxFolder.create(_sandbox_base(workdir, backend, isolation), owner)
    try:
        folder.populate([], [], Limits(wall_seconds=60, cpu_seconds=60), {})
        run = supervise.run_launcher(folder, Limits(wall_seconds=60, cpu_seconds=60),
                                     isolation, backend, program=CANARY_PROGRAM)
    finally:
        folder.remove()
    fatal = _setup_failure(run.report)
    if fatal is not None:
        return fatal
    if run.timed_out or not os.WIFEXITED(run.wait_status) or os.WEXITSTATUS(run.wait_status):
        lines = run.stderr_tail.strip().splitlines() or [f"wait status {run.wait_status}"]
        return untrusted.clean_text(lines[-1])[:300]
    return ""


def canary_message(backend: Backend, isolation: Isolation, failure: str) -> str:
    """Why the chosen backend cannot run student code here, and what to do about it."""
    who = f"uid {isolation.uid}" if backend.drop else "the sandbox's user"
    return (f"the {describe(backend)} backend cannot run student code here: started as {who}, "
            f"the grader's Python failed ({failure}). Every user must be able to read the "
            f"grader's interpreter, its standard library and torch ({sys.executable} and the "
            "folders above it): install them outside a private home (not under /root, e.g. "
            "pyenv's default; the system Python, /opt or /usr/local work), or grade where "
            "bubblewrap runs (its allow-list shows the interpreter whatever the folders above "
            "it allow).")


def _sandbox_base(workdir: Path, backend: Backend, isolation: Isolation) -> Path:
    """Where the sandbox folder goes: with bubblewrap the system's temporary folder (its path
    shows in the sandbox's /proc/self/mountinfo); else ``workdir``, unless the student process
    sees real paths as a sandbox uid that cannot reach ``workdir`` (e.g. below a 0700 folder);
    then a root-owned folder in the system's temporary folder that anyone may traverse but not
    list (mode 0711)."""
    if backend.name == "bwrap":
        return Path(tempfile.gettempdir())
    workdir.mkdir(parents=True, exist_ok=True)
    if not backend.drop:
        return workdir
    if all(permits(folder, isolation.uid, isolation.gid, "x")
           for folder in [workdir, *workdir.resolve().parents]):
        return workdir
    shared = Path(tempfile.gettempdir()) / SHARED_SANDBOX_FOLDER
    shared.mkdir(mode=0o711, exist_ok=True)
    os.chown(shared, 0, 0, follow_symlinks=False)
    os.chmod(shared, 0o711)
    return shared


def _collect(folder: SandboxFolder, run: Run, requests: Sequence[ProbeRequest], limits: Limits,
             isolation: Isolation, backend: Backend) -> SandboxResult:
    """Turn the finished run into a SandboxResult: load and validate every result file, classify
    the exit, describe the isolation. Runs only after every sandbox process is gone."""
    fatal = _setup_failure(run.report)
    if fatal is not None:
        raise SandboxError(f"sandbox set-up failed: {fatal}; "
                           f"stderr: {run.stderr_tail[-500:]}")
    started = any(e.get("event") == "setup" for e in run.report)
    if backend.name == "bwrap" and not started and not run.timed_out:  # bwrap itself failed
        raise SandboxError(f"bubblewrap could not start the sandbox: {run.stderr_tail[-500:]}")
    if folder.owner:  # a process that escaped the kill can no longer create files here
        os.chown(folder.out, 0, 0)
    budget = untrusted.Budget(limits.result_bytes)
    progress = untrusted.read_progress(folder.out)
    cells_run, cell_errors = untrusted.load_cells(folder.out, budget)
    try:
        finished = untrusted.load_record(folder.out / "done.pt", budget,
                                         untrusted.check_done) is True
        tampered = ""
    except untrusted.BadResult as error:  # written by student code: its verdict, not ours
        finished, tampered = False, str(error).split(" (", 1)[0][:100]
    loaded = [untrusted.load_outcome(folder.out / f"req-{i}.pt", budget)
              for i in range(len(requests))]
    stage_seconds = untrusted.load_stage_seconds(folder.out, budget, run.wall_seconds)
    memory_where = untrusted.memory_where(cell_errors, loaded, requests)
    status, reason = supervise.classify(run, finished, progress, limits, memory_where)
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
        else os.waitstatus_to_exitcode(run.wait_status),
        isolation=isolation_report(run, isolation, backend), sandbox_id=folder.sandbox_id,
        stage_seconds=stage_seconds)


def _setup_failure(report: Sequence[dict]) -> str | None:
    """Why the launcher could not set the sandbox up (its "fatal" event, cleaned), or None.
    Only events before the "setup" event count: once the student code runs, nothing it may have
    written into the report can turn its own failure into a grader error."""
    for event in report:
        if event.get("event") == "setup":
            return None
        if event.get("event") == "fatal":
            return untrusted.clean_text(str(event.get("error")))[:untrusted.MAX_TEXT_CHARS]
    return None


def isolation_report(run: Run, isolation: Isolation, backend: Backend) -> IsolationReport:
    """What isolated this run, from the grader's own set-up (never from what the sandbox says:
    in a user namespace the student could write to the launcher's report), plus a permission
    check of the secrets where no allow-list hides them."""
    setup = next((e for e in run.report if e.get("event") == "setup"), {})
    notes = list(backend.notes)
    notes += [str(n)[:300] for n in setup.get("notes", []) if isinstance(n, str)][:10]
    if run.leftovers:
        notes.append(f"killed processes were still alive {GONE_TIMEOUT_SECONDS:g} s later")
    notes.append(f"memory and tasks counted by a {run.cgroup}" if run.cgroup else
                 "no cgroup here: memory counted by rlimits (memfd refused, unlinked files "
                 "counted by the disk watch)")
    bwrap, restricted = backend.name == "bwrap", backend.name == "restricted"
    # As root without a uid drop the student is root in there; a non-root grader's uid is
    # confined by the user namespace and the allow-list under bwrap.
    own_user = not backend.drop and (os.geteuid() == 0 or not bwrap)
    if own_user:
        notes.append("student code ran as the grader's own user"
                     + (" (root)" if os.geteuid() == 0 else ""))
    if bwrap:
        exposed: list[Path] = []
    elif backend.drop:
        exposed = exposed_secrets(isolation.secret_paths, isolation.uid, isolation.gid)
    else:
        exposed = [p for p in isolation.secret_paths if p.exists()]
    network = (bwrap or restricted) and not isolation.allow_network
    degraded = own_user or bool(exposed) or not (network or isolation.allow_network)
    uid = isolation.uid if backend.drop else (None if not bwrap else supervise.plan.NOBODY)
    return IsolationReport(
        level=backend.level if not degraded else "none", backend=backend.name, uid=uid,
        summary=f"{describe(backend)}, {run.cgroup or 'rlimits'}" if not degraded else "none",
        privileges_dropped=backend.drop or bwrap, network_isolated=network,
        mounts_isolated=bwrap or (restricted and backend.landlock_abi > 0),
        pid_namespace=bwrap, ipc_isolated=bwrap or restricted,
        user_namespace=bwrap and (backend.nested_userns or not backend.drop),
        degraded=degraded, exposed_secrets=tuple(map(str, exposed)), notes=tuple(notes))
