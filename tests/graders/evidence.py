"""Grading every case once and judging the outcome against what each case file declares.

:func:`collect` builds the submissions (``harness``), snapshots what must not change, grades
everything in one batch through the real grader (two workers, sandboxes, records, reports),
snapshots again and returns an :class:`Evidence`. :func:`problems` says, for one case, what is
wrong with its outcome (empty: the grader behaved as the case requires); the tests assert it
is empty and the report (``report.py``) prints it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from tests.graders import harness
from tests.graders.harness import Case, Graded

EPSILON = 1e-6  # points: float sums of check shares
# Kit folders no submission may change (the grader's own code, the reference, the support
# package, the checkpoints, this evidence's data); __pycache__ folders are ignored.
PROTECTED = ("autograder", "solutions", "prunekit", "assignment/checkpoints", "checkpoints",
             "tests/graders/mutants", "tests/graders/alternatives", "tests/graders/attacks")
ATTACK_PROCESS_NAME = "pkattack"  # attacks that leave processes behind rename them so


@dataclass
class Evidence:
    """Everything one evidence run produced."""
    cases: list[Case]
    graded: dict[str, Graded]
    maxima: dict[str, float]
    root: Path
    seconds: float
    changed_outside: list[str] = field(default_factory=list)  # paths changed outside the output
    markers: list[str] = field(default_factory=list)  # files attacks managed to create
    leftovers: list[str] = field(default_factory=list)  # attack processes still alive
    secrets: list[str] = field(default_factory=list)
    # IPC objects, files and processes of the sandbox uids left on the host after the batch
    host_leftovers: list[str] = field(default_factory=list)
    loopback_visits: int = 0  # connections that reached the loopback socket attacks aim at

    def case(self, name: str) -> Case:
        return next(c for c in self.cases if c.name == name)


def collect(root: Path, cases: Sequence[Case] | None = None, workers: int = harness.WORKERS,
            timeout_s: float = harness.TIMEOUT_S, progress: bool = False) -> Evidence:
    """Build and grade ``cases`` (default: every case file) plus the solved and blank
    submissions under ``root``; see the module docstring."""
    cases = list(cases if cases is not None else harness.load_cases())
    root = Path(root)
    outside = root / "outside"  # attacks aim at it; nothing may appear or change there
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "canary.txt").write_text("nothing may change this file\n")
    submissions = root / "submissions"
    with LoopbackListener() as listener, PlantedSecrets() as planted:
        paths = harness.build_submissions(submissions, cases, outside,
                                          loopback_port=listener.port)
        watched = [outside, submissions, *(harness.REPO_ROOT / p for p in PROTECTED)]
        before = harness.tree_snapshot(watched)
        started = time.monotonic()
        graded = harness.grade_all(paths, root / "out", workers=workers, timeout_s=timeout_s,
                                   progress=progress)
        seconds = time.monotonic() - started
        time.sleep(1.0)  # anything that escaped the sandbox gets a moment to act
        after = harness.tree_snapshot(watched)
    changed = sorted(path for path in set(before) | set(after)
                     if before.get(path) != after.get(path))
    return Evidence(cases=cases, graded=graded, maxima=harness.question_max(), root=root,
                    seconds=seconds, changed_outside=changed,
                    markers=find_markers(root, cases), leftovers=attack_processes(),
                    secrets=harness.secret_strings() + planted.texts,
                    host_leftovers=sandbox_uid_leftovers(sandbox_uids()),
                    loopback_visits=listener.visits)


class LoopbackListener:
    """A TCP socket on 127.0.0.1 that counts the connections it gets (attacks aim at it; with
    a network namespace per sandbox none can arrive)."""

    def __enter__(self) -> "LoopbackListener":
        import socket
        import threading

        self.visits = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            self.visits += 1
            connection.close()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()


class PlantedSecrets:
    """Secret files where a deny-list sandbox would have shown them: beside the interpreter
    (its base prefix's folder) and in a new top-level folder; removed afterwards. ``texts``:
    their contents, which no feedback may show."""

    NAME = "prunekit-planted-secret.txt"

    def __enter__(self) -> "PlantedSecrets":
        import secrets

        token = secrets.token_hex(8)
        self.texts = [f"PLANTED-{token}-beside-interpreter", f"PLANTED-{token}-top-level"]
        top = Path(f"/prunekit-planted-{token}")
        self._paths = [Path(sys.base_prefix).parent / self.NAME, top / self.NAME]
        self._folders = [top]
        for path, text in zip(self._paths, self.texts):
            try:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text)
                os.chmod(path, 0o644)
            except OSError:  # not root: the folder is not ours to write to
                continue
        return self

    def __exit__(self, *exc) -> None:
        for path in self._paths:
            path.unlink(missing_ok=True)
        for folder in self._folders:
            try:
                folder.rmdir()
            except OSError:
                pass


def sandbox_uids() -> list[int]:
    """The uids the batch's sandboxes may run as: each worker leases one of the range that
    autograder/sandbox/uids.py hands out (which one depends on what else is grading)."""
    from autograder.sandbox.uids import FIRST_UID, UID_COUNT

    return list(range(FIRST_UID, FIRST_UID - UID_COUNT, -1))


def uids_leased_elsewhere() -> set[int]:
    """Sandbox uids that another live process holds a lease on now (another grader on this
    machine, e.g. a test running beside this one): what runs as them is theirs, not a leftover
    of a batch whose workers are gone."""
    import fcntl
    import tempfile

    from autograder.sandbox import uids as leases

    folder = Path(tempfile.gettempdir()) / leases.LEASE_FOLDER
    own = {uid for uid, _ in leases._LEASES.values()}
    busy = set()
    for uid in sandbox_uids():
        try:
            descriptor = os.open(folder / f"{uid}.lock", os.O_RDONLY)
        except OSError:
            continue  # never leased
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            busy.add(uid)
        finally:
            os.close(descriptor)  # closing drops the probe's own lock
    return busy - own


def sandbox_uid_leftovers(uids: Sequence[int]) -> list[str]:
    """What the sandbox uids still own on the host: System V IPC objects, files in the shared
    temporary folders, live processes; less what belongs to uids that another grader on the
    machine leases (looked up after the scan, so a lease taken meanwhile counts too)."""
    found: list[tuple[int, str]] = []
    for kind in ("shm", "msg", "sem"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        header = lines[0].split() if lines else []
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            owner = next((int(row[k]) for k in ("cuid", "uid") if int(row.get(k, -1)) in uids),
                         None)
            if owner is not None:
                found.append((owner, f"System V {kind} key {row.get('key')}"))
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        for directory, subdirs, files in os.walk(folder):
            if directory.count("/") > 3:
                subdirs.clear()
            for name in [*subdirs, *files]:
                path = Path(directory) / name
                try:
                    owner = path.lstat().st_uid
                except OSError:
                    continue
                if owner in uids:
                    found.append((owner, f"file {path}"))
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            owner = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        if owner in uids:
            found.append((owner, f"process {entry}"))
    busy = uids_leased_elsewhere()
    return [what for owner, what in found if owner not in busy]


def find_markers(root: Path, cases: Iterable[Case]) -> list[str]:
    """Files that attacks try to create outside the grader's output (none may exist)."""
    found = []
    for case in cases:
        for path in (root / "outside" / f"pwned-{case.name}", root / f"outside-{case.name}.txt",
                     Path(f"/tmp/prunekit-pwned-{case.name}.txt")):
            if path.exists():
                found.append(str(path))
    found += [str(p) for p in (root / "outside").glob("pwned-*")]
    return sorted(set(found))


def attack_processes() -> list[str]:
    """Live processes named like the attacks' own (``pkattack``): a sandbox that let a process
    outlive it."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{entry}/comm").read_text().strip()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if name.startswith(ATTACK_PROCESS_NAME) and state != "Z":
            found.append(f"{entry} ({name})")
    return found


# ---------------------------------------------------------------------------------------------
# Judging one case
# ---------------------------------------------------------------------------------------------

def lost_questions(graded: Graded, maxima: Mapping[str, float]) -> list[str]:
    return [q for q in maxima if graded.scores.get(q, 0.0) < maxima[q] - EPSILON]


def failed_checks(graded: Graded, questions: Iterable[str] | None = None) -> list[str]:
    wanted = set(questions) if questions is not None else None
    return [f"{c.question}/{c.name}" for c in graded.failed()
            if wanted is None or c.question in wanted]


def problems(case: Case, evidence: Evidence) -> list[str]:
    """What is wrong with the grading of ``case`` (empty when it behaved as declared)."""
    graded = evidence.graded.get(case.id)
    if graded is None:
        return [f"{case.id}: no result in the batch"]
    if case.kind == "mutant":
        return _mutant_problems(case, graded, evidence)
    if case.kind == "alternative":
        return _alternative_problems(graded, evidence)
    return _attack_problems(case, graded, evidence)


def _mutant_problems(case: Case, graded: Graded, evidence: Evidence) -> list[str]:
    found = []
    if graded.result.status != "graded":
        found.append(f"status {graded.result.status}: {graded.result.reason}")
    lost = lost_questions(graded, evidence.maxima)
    for question in case.loses:
        if question not in lost:
            found.append(f"kept full marks on {question}")
    for question in lost:
        if question not in case.loses:
            found.append(f"lost points on {question} too: {failed_checks(graded, [question])} "
                         f"{graded.messages(question)[:300]}")
    messages = "\n".join(graded.messages(q) for q in case.loses).lower()
    for phrase in case.feedback:
        if phrase.lower() not in messages:
            found.append(f"feedback on {', '.join(case.loses)} does not say {phrase!r}: "
                         f"{messages[:400]!r}")
    for phrase in case.lacks:  # a wrong diagnosis, or a check failed for another's cause
        if phrase.lower() in messages:
            found.append(f"feedback on {', '.join(case.loses)} says {phrase!r}, which is not "
                         f"the mistake")
    return found


def _alternative_problems(graded: Graded, evidence: Evidence) -> list[str]:
    found = []
    if graded.result.status != "graded":
        found.append(f"status {graded.result.status}: {graded.result.reason}")
    for question in lost_questions(graded, evidence.maxima):
        found.append(f"lost points on {question}: {graded.messages(question)[:300]}")
    return found


def allowed_gain(case: Case, graded: Graded) -> dict[str, float]:
    """Points per question the attack may earn beyond its base by policy (``earns:``)."""
    gain: dict[str, float] = {}
    for check in graded.result.checks:
        if f"{check.question}/{check.name}" in case.earns:
            gain[check.question] = gain.get(check.question, 0.0) + check.max_points
    return gain


def _attack_problems(case: Case, graded: Graded, evidence: Evidence) -> list[str]:
    found = []
    base = evidence.graded.get(case.base_id)
    if base is None:
        return [f"no result for its base {case.base_id}"]
    if graded.result.status not in case.statuses:
        found.append(f"status {graded.result.status} ({graded.result.reason}), expected "
                     f"{' or '.join(case.statuses)}")
    gain = allowed_gain(case, graded)
    for question, maximum in evidence.maxima.items():
        got, honest = graded.scores.get(question, 0.0), base.scores.get(question, 0.0)
        if got > honest + gain.get(question, 0.0) + EPSILON:
            extra = [f"{c.question}/{c.name}" for c in graded.result.checks
                     if c.question == question and c.passed
                     and f"{c.question}/{c.name}" not in case.earns]
            found.append(f"gained points on {question}: {got:.4g} > {honest:.4g} (its honest "
                         f"part); passed {extra}")
        if case.keeps_all and abs(got - honest) > EPSILON:
            found.append(f"{question}: {got:.4g} instead of its base's {honest:.4g} "
                         f"({graded.messages(question)[:200]})")
    for check in case.earns:
        if check not in {f"{c.question}/{c.name}" for c in graded.result.checks if c.passed}:
            found.append(f"the policy row {check} no longer passes; drop it from 'earns:'")
    texts = (graded.feedback, graded.results_json)
    for phrase in case.lacks:
        if any(phrase.lower() in text.lower() for text in texts):
            found.append(f"its feedback says {phrase!r}: the attack worked")
    leaks = harness.leaked(texts, evidence.secrets)
    if leaks:
        found.append(f"feedback leaks hidden source or secrets: {leaks[:3]}")
    markers = [m for m in evidence.markers if case.name in m]
    if markers:
        found.append(f"created files outside the sandbox: {markers}")
    return found


# ---------------------------------------------------------------------------------------------
# Determinism: the same submissions graded again, optionally on a loaded machine
# ---------------------------------------------------------------------------------------------

class CpuBurner:
    """Context manager running ``count`` busy-looping processes (default: one per core), so that
    grading happens on a loaded machine. Only the processes it started are stopped."""

    def __init__(self, count: int | None = None):
        self.count = count or os.cpu_count() or 2
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> "CpuBurner":
        for _ in range(self.count):
            self.processes.append(subprocess.Popen(
                [sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGKILL)
        for process in self.processes:
            process.wait()


def fingerprint(graded: Graded) -> list[tuple]:
    """What must be identical between gradings: every check's question, name, points and
    message, and the status."""
    return [(graded.result.status,)] + [(c.question, c.name, round(c.points, 9), c.message)
                                         for c in graded.result.checks]


def regrade(paths: Mapping[str, Path], root: Path, runs: int, loaded: bool,
            workers: int = harness.WORKERS) -> list[dict[str, Graded]]:
    """Grade ``paths`` ``runs`` times (each a separate batch), under CPU load when ``loaded``."""
    results = []
    for run in range(runs):
        out = Path(root) / f"{'loaded' if loaded else 'idle'}-{run}"
        if loaded:
            with CpuBurner():
                results.append(harness.grade_all(paths, out, workers=workers))
        else:
            results.append(harness.grade_all(paths, out, workers=workers))
    return results
