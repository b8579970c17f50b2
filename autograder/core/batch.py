"""Grading many submissions: finding them, running the grader in parallel worker processes with a
hard per-submission deadline, and keeping one record per submission so a batch can resume.

Which paths are submissions (the rule ``python -m autograder grade PATH...`` documents):

- a ``.ipynb`` file is one submission (id: the file name without ``.ipynb``);
- a ``.zip`` file is one submission, an Otter export or any zip holding one notebook
  (id: the file name without ``.zip``);
- a folder that directly holds exactly one ``.ipynb``, no ``.zip`` and no subfolder holding a
  notebook or a zip is **one submission** (the notebook plus the files beside it, e.g.
  ``finegrained.pt``; id: the folder name);
- any other folder is a **folder of submissions**: each ``.ipynb`` and ``.zip`` directly in it is
  one, and so is each subfolder; a subfolder holding exactly one notebook is graded as a folder,
  one holding just one zip (and no notebook, as in Gradescope's export) as that zip, and one
  holding neither or several gets a row saying why it could not be graded. Other files are
  ignored, and so are hidden entries, ``__MACOSX`` and ``.ipynb_checkpoints``.

Ids keep letters, digits, ``.``, ``_`` and ``-`` (anything else becomes ``_``); a repeated id gets
``-2``, ``-3``, ... in the order the submissions were found (paths in command-line order, each
folder sorted by name).

How a batch runs (:func:`run_batch`): up to ``workers`` worker processes (``multiprocessing``
forkserver, which preloads the grader so a worker starts in milliseconds) each grade one
submission at a time, so that the grader's per-process caches (base model, hidden split) are
loaded once per worker. Each worker has a slot number ``0 .. workers - 1``, passed to the grader
as ``worker_index`` (each slot sandboxes student code under its own uid). A worker still busy at
the submission's deadline gets SIGTERM (the grader's ``finally`` blocks run: sandboxes are
killed), then SIGKILL after :data:`KILL_GRACE_SECONDS`; the submission gets status ``timeout``
and a fresh worker takes the slot. A grader that raises gives status ``error`` with the reason;
a worker that dies, too. Each result is written to ``records/<id>.json`` as soon as it exists, so
an interrupted batch loses only the submissions in flight; a re-run skips every submission whose
record matches (same file contents, same grading settings) unless ``redo`` is set. Records with
status ``error`` (the grader's own failures) are always retried.

This module does not import torch; the grader (a picklable callable
``grade_fn(path, workdir, worker_index) -> SubmissionResult``) is imported by the workers.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from autograder.manifest import KIT_ROOT
from autograder.results import SubmissionResult, one_line
from autograder.sandbox.untrusted import clean_text
from prunekit.files import write_text_atomic

GradeFn = Callable[[Path, Path, int], SubmissionResult]

SUBMISSION_SUFFIXES = (".ipynb", ".zip")
IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
RECORD_FORMAT = 1  # bump when the record layout changes (old records are then regraded)
KILL_GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL of a worker past its deadline
POLL_SECONDS = 0.5  # longest sleep of the scheduler (deadlines are checked this often)
DEFAULT_DEADLINE_SECONDS = 600.0  # hard limit per submission when the caller sets none
DEADLINE_GRACE_SECONDS = 120.0  # the grader's own work per submission, beyond the student's


class DiscoveryError(ValueError):
    """A path given on the command line does not exist or holds no submission (one line)."""


@dataclass(frozen=True)
class Submission:
    """One thing to grade: ``id`` (unique in the batch), ``path`` (a notebook, a zip or a folder)
    and ``problem``: why it cannot be graded at all ("" when it can be), e.g. a folder with
    two notebooks; such a submission gets a row with status ``unreadable`` without a worker."""
    id: str
    path: Path
    problem: str = ""


# ---------------------------------------------------------------------------------------------
# Finding submissions
# ---------------------------------------------------------------------------------------------

def discover(paths: Sequence[Path | str]) -> list[Submission]:
    """The submissions named by ``paths`` (see the module docstring for the rule), ids unique.

    Raises:
        DiscoveryError: a path does not exist, is a file that is neither a notebook nor a zip,
            or is a folder with nothing to grade.
    """
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise DiscoveryError(f"no such file or folder: {raw}")
        if path.is_file():
            if path.suffix.lower() not in SUBMISSION_SUFFIXES:
                raise DiscoveryError(f"{raw} is not a notebook (.ipynb) or a zip (.zip), nor a "
                                     "folder of them")
            if is_gradescope_export(path):
                raise DiscoveryError(
                    f"{raw} is Gradescope's \"Download submissions\" export (a zip of "
                    f"submission_<n>/ folders), not one submission: unpack it and grade the "
                    f"folder, e.g. `unzip -q {raw} -d export && python -m autograder grade "
                    f"export/ --out runs/grades --format gradescope`")
            found.append(Submission(_stem(path), path))
        elif _is_one_submission(path):
            found.append(Submission(path.name, path))
        elif path != unwrapped(path) and _is_one_submission(unwrapped(path)):
            # a class folder holding one student's folder (a TA trying one submission first):
            # that student, with the model files beside the notebook, not the notebook alone
            found.append(Submission(unwrapped(path).name, unwrapped(path)))
        else:
            inside = _folder_of_submissions(unwrapped(path))
            if not inside:
                raise DiscoveryError(f"{raw} holds no submission (no .ipynb, no .zip, no "
                                     "subfolder)")
            found.extend(inside)
    if not found:
        raise DiscoveryError("no submission to grade")
    return _unique_ids(found)


GRADESCOPE_EXPORT_MEMBER = re.compile(r"^(?:[^/]+/)?(?:submission_metadata\.yml|submission_\d+/)")


def is_gradescope_export(path: Path) -> bool:
    """Whether the zip at ``path`` is a Gradescope "Download submissions" export: its
    ``submission_metadata.yml`` and ``submission_<n>/`` folders, at the top or in one wrapper
    folder (only the zip's directory is read)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    matched = [name for name in names if GRADESCOPE_EXPORT_MEMBER.match(name)]
    return any(name.endswith("submission_metadata.yml") for name in matched) and \
        any("/submission_" in "/" + name for name in matched if "submission_metadata" not in name)


def unwrapped(folder: Path) -> Path:
    """``folder``, or the folder inside it when that is all it holds (an export unpacked into a
    folder of its own: ``downloads/assignment_4242_export/``), as deep as such wrappers go."""
    folder = Path(folder)
    while True:
        entries = _visible_entries(folder)
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
            return folder
        folder = entries[0]


def _visible_entries(folder: Path) -> list[Path]:
    return sorted(entry for entry in folder.iterdir()
                  if not entry.name.startswith(".") and entry.name not in IGNORED_NAMES)


def _with_suffix(entries: Iterable[Path], suffix: str) -> list[Path]:
    return [entry for entry in entries if entry.is_file() and entry.suffix.lower() == suffix]


def _is_one_submission(folder: Path) -> bool:
    """A folder that directly holds exactly one notebook, no zip, and no subfolder holding a
    notebook or a zip (that would make it a folder of submissions)."""
    entries = _visible_entries(folder)
    if len(_with_suffix(entries, ".ipynb")) != 1 or _with_suffix(entries, ".zip"):
        return False
    return not any(entry.is_dir() and any(_with_suffix(_visible_entries(entry), suffix)
                                          for suffix in SUBMISSION_SUFFIXES)
                   for entry in entries)


def _folder_of_submissions(folder: Path) -> list[Submission]:
    found = []
    for entry in _visible_entries(folder):
        if entry.is_file():
            if entry.suffix.lower() in SUBMISSION_SUFFIXES:
                found.append(Submission(_stem(entry), entry))
        elif entry.is_dir():
            found.append(_subfolder_submission(entry))
    return found


def _subfolder_submission(folder: Path) -> Submission:
    """A subfolder of a folder of submissions: a notebook folder, a folder holding one zip, or a
    row that says why neither."""
    entries = _visible_entries(unwrapped(folder))  # a student who zipped a folder of the lab
    notebooks, zips = _with_suffix(entries, ".ipynb"), _with_suffix(entries, ".zip")
    if len(notebooks) == 1 and not zips:
        return Submission(folder.name, unwrapped(folder))
    if len(zips) == 1 and not notebooks:
        return Submission(folder.name, zips[0])
    if not notebooks and not zips:
        return Submission(folder.name, folder, "the folder holds no notebook (.ipynb) or zip")
    names = clean_text(", ".join(entry.name for entry in notebooks + zips))
    return Submission(folder.name, folder,
                      f"the folder holds several submissions ({names}); keep one notebook or zip")


def _stem(path: Path) -> str:
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def safe_id(name: str) -> str:
    """``name`` with anything but letters, digits, ``.``, ``_``, ``-`` replaced by ``_`` (so it
    is a safe file name); never empty, never starting with a dot."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "submission"
    return cleaned[:120]


def _unique_ids(found: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    unique = []
    for submission in found:
        base = safe_id(submission.id)
        count = seen.get(base, 0) + 1
        seen[base] = count
        new_id = base if count == 1 else f"{base}-{count}"
        while new_id in seen and new_id != base:  # "a-2" given and generated
            count += 1
            new_id = f"{base}-{count}"
        seen.setdefault(new_id, 1)
        unique.append(Submission(new_id, submission.path, submission.problem))
    return unique


# ---------------------------------------------------------------------------------------------
# Records (resumability)
# ---------------------------------------------------------------------------------------------

def fingerprint(path: Path) -> str:
    """SHA-256 of a submission's content: the file's bytes, or for a folder every visible file's
    relative path and bytes (so renaming or editing anything in it changes the fingerprint)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = [path] if path.is_file() else sorted(
        file for file in path.rglob("*")
        if file.is_file() and not any(part.startswith(".") or part in IGNORED_NAMES
                                      for part in file.relative_to(path).parts))
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode())
        digest.update(b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


class RecordStore:
    """``<out>/records/<id>.json``: one grading record per submission, written atomically.

    A record is ``{"format", "submission", "source", "fingerprint", "settings", "result"}``
    where ``result`` is :meth:`SubmissionResult.to_dict` and ``settings`` the grading settings
    that produced it (profile, limits).
    """

    def __init__(self, out_dir: Path):
        self.folder = Path(out_dir) / "records"

    def path(self, submission_id: str) -> Path:
        return self.folder / f"{submission_id}.json"

    def load(self, submission_id: str) -> dict | None:
        """The record, or None when there is none or it cannot be read (it is then regraded)."""
        try:
            record = json.loads(self.path(submission_id).read_text(encoding="utf-8"))
            SubmissionResult.from_dict(record["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return record if record.get("format") == RECORD_FORMAT else None

    def save(self, submission: Submission, result: SubmissionResult, source_fingerprint: str,
             settings: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Path:
        record = {"format": RECORD_FORMAT, "submission": submission.id,
                  "source": str(submission.path), "fingerprint": source_fingerprint,
                  "settings": dict(settings), "result": result.to_dict(), **(extra or {})}
        path = self.path(submission.id)
        return write_text_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")

    def reusable(self, submission: Submission, source_fingerprint: str,
                 settings: Mapping[str, Any]) -> SubmissionResult | None:
        """The recorded result when it was made from the same content with the same settings and
        is not a grader error; else None (grade again)."""
        record = self.load(submission.id)
        if (record is None or record.get("fingerprint") != source_fingerprint
                or record.get("settings") != json.loads(json.dumps(dict(settings)))):
            return None
        result = SubmissionResult.from_dict(record["result"])
        return None if result.status == "error" else result


# ---------------------------------------------------------------------------------------------
# Running a batch
# ---------------------------------------------------------------------------------------------

@dataclass
class BatchRun:
    """What :func:`run_batch` did: ``results`` (one per submission, in the given order),
    ``graded`` / ``skipped`` ids (graded now / taken from records) and the wall seconds."""
    results: list[SubmissionResult]
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Job:
    submission: Submission
    content_hash: str
    started: float
    deadline: float
    terminated_at: float | None = None  # when SIGTERM was sent (past the deadline)


@dataclass
class _Worker:
    """One worker process (slot ``slot``) and the job it is grading (None: idle)."""
    slot: int
    process: Any
    connection: Any
    job: _Job | None = None


def run_batch(submissions: Sequence[Submission], grade_fn: GradeFn, out_dir: Path,
              workers: int = 1, deadline_s: float | None = None, redo: bool = False,
              settings: Mapping[str, Any] | None = None,
              question_max: Mapping[str, float] | None = None, progress: bool = True,
              workdir: Path | None = None, threads_per_worker: int | None = None,
              preload: Sequence[str] = ()) -> BatchRun:
    """Grade ``submissions`` with ``grade_fn`` in up to ``workers`` parallel processes.

    Args:
        grade_fn: picklable ``grade_fn(path, workdir, worker_index) -> SubmissionResult``. Each
            worker process grades one submission after the other (so the grader's per-process
            caches, e.g. the base model, are loaded once per worker); a worker that is stopped or
            dies is replaced by a fresh one.
        out_dir: records go to ``out_dir/records/<id>.json``.
        deadline_s: hard wall-clock limit per submission (default
            :data:`DEFAULT_DEADLINE_SECONDS`); past it the worker is stopped and the row says
            ``timeout``.
        redo: grade again even when a matching record exists.
        settings: plain data describing the grading settings (profile, limits); a record made
            with other settings is not reused.
        question_max: points possible per question, copied into the rows the batch makes itself
            (timeouts, errors, unreadable folders) so they list every question.
        workdir: where workers make their sandboxes (default: a fresh temporary folder, removed
            at the end); each worker uses ``workdir/worker-<slot>``.
        threads_per_worker: torch threads in each worker (default: CPU count // workers).
        preload: modules the forkserver imports once, so that workers start fast (e.g. the
            grader and torch).

    Returns:
        A :class:`BatchRun`; every submission has a result, whatever happened.

    Side effects: writes the records; starts and stops worker processes. On KeyboardInterrupt
    the workers are killed and the exception propagates (finished records are kept).
    """
    started = time.monotonic()
    workers = max(1, int(workers))
    deadline_s = float(deadline_s or DEFAULT_DEADLINE_SECONDS)
    settings = dict(settings or {})
    question_max = dict(question_max or {})
    threads = threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
    store = RecordStore(out_dir)
    results: dict[str, SubmissionResult] = {}
    run = BatchRun(results=[])
    queue: list[tuple[Submission, str]] = []
    for submission in submissions:
        content_hash = fingerprint(submission.path)
        reused = None if redo else store.reusable(submission, content_hash, settings)
        if reused is not None:
            reused.submission = submission.id
            results[submission.id] = reused
            run.skipped.append(submission.id)
        elif submission.problem:
            result = _batch_result(submission, "unreadable", submission.problem, question_max)
            store.save(submission, result, content_hash, settings)
            results[submission.id] = result
            run.graded.append(submission.id)
        else:
            queue.append((submission, content_hash))

    bar = _progress_bar(len(submissions), len(submissions) - len(queue), progress)
    own_workdir = workdir is None
    if own_workdir:
        # Private (mkdtemp's 0700): extracted submissions lie here. The sandboxes are reached by
        # bubblewrap as the grader; without it they go to a shared folder (sandbox/run.py).
        workdir = Path(tempfile.mkdtemp(prefix="prunekit-grading-"))
    else:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    context = _context(preload) if queue else None
    pool: list[_Worker | None] = [None] * min(workers, len(queue))
    try:
        while queue or any(worker and worker.job for worker in pool):
            for slot, worker in enumerate(pool):
                if queue and (worker is None or worker.job is None):
                    if worker is not None and not worker.process.is_alive():
                        _stop(worker)  # died while idle: replace it
                        worker = pool[slot] = None
                    if worker is None:
                        worker = pool[slot] = _spawn(context, grade_fn, slot, workdir, threads)
                    submission, content_hash = queue.pop(0)
                    worker.connection.send(submission)
                    now = time.monotonic()
                    worker.job = _Job(submission, content_hash, now, now + deadline_s)
            for worker, result, extra in _collect_finished(pool, question_max):
                job = worker.job
                worker.job = None
                if not worker.process.is_alive():
                    pool[worker.slot] = None  # replaced by a fresh worker when needed
                store.save(job.submission, result, job.content_hash, settings, extra)
                results[job.submission.id] = result
                run.graded.append(job.submission.id)
                bar.update(1)
                bar.set_postfix_str(f"{job.submission.id}: {result.status}", refresh=True)
    except BaseException:
        for worker in pool:
            if worker is not None:
                _kill(worker.process)
        raise
    finally:
        for worker in pool:
            if worker is not None:
                _stop(worker)
        bar.close()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    run.results = [results[submission.id] for submission in submissions]
    run.seconds = time.monotonic() - started
    return run


def _context(preload: Sequence[str]):
    """The forkserver context (every worker is forked from a fresh server process, never from
    this one, which may hold torch's OpenMP state), preloading ``preload`` where importable."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    importable = [name for name in preload if _findable(name)]
    if importable:
        context.set_forkserver_preload(importable)
    return context


def _findable(module: str) -> bool:
    """Whether ``module`` can be found (without importing it here)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _spawn(context, grade_fn: GradeFn, slot: int, workdir: Path, threads: int) -> _Worker:
    parent_end, child_end = context.Pipe(duplex=True)
    process = context.Process(target=_worker_main, name=f"grading-worker-{slot}",
                              args=(child_end, grade_fn, workdir / f"worker-{slot}", slot,
                                    threads))
    process.start()
    child_end.close()  # only the worker holds it now: EOF here once the worker is gone
    return _Worker(slot, process, parent_end)


def _stop(worker: _Worker) -> None:
    """Ask an idle worker to leave, then make sure it is gone."""
    if worker.process.is_alive() and worker.job is None:
        try:
            worker.connection.send(None)
        except (OSError, ValueError):
            pass
        worker.process.join(KILL_GRACE_SECONDS)
    _kill(worker.process)
    worker.connection.close()


def _collect_finished(pool: Sequence[_Worker | None], question_max: Mapping[str, float]):
    """Wait (at most :data:`POLL_SECONDS`) for busy workers to report or die; enforce deadlines.
    Returns ``(worker, result, extra record fields)`` for every job that is over."""
    busy = [worker for worker in pool if worker is not None and worker.job is not None]
    if not busy:
        return []
    ready = wait_for([w.connection for w in busy] + [w.process.sentinel for w in busy],
                     timeout=POLL_SECONDS)
    finished = []
    now = time.monotonic()
    for worker in busy:
        job, process = worker.job, worker.process
        message = None
        if worker.connection in ready or process.sentinel in ready:
            message = _receive(worker.connection)
        if message is not None and job.terminated_at is None:  # a result, or the grader's error
            finished.append((worker, *_result_from_message(worker, message, question_max)))
        elif job.terminated_at is not None:  # past the deadline, SIGTERM sent: a timeout,
            # whatever the worker still says (its grader may have turned the stop into an error)
            if (message is not None or not process.is_alive()
                    or now >= job.terminated_at + KILL_GRACE_SECONDS):
                _kill(process)
                reason = (f"grading did not finish within {job.deadline - job.started:.0f} s "
                          "(the batch's limit per submission); the grading worker was stopped")
                finished.append((worker, _batch_result(job.submission, "timeout", reason,
                                                       question_max,
                                                       {"batch_wall": now - job.started}), {}))
        elif not process.is_alive():
            finished.append((worker, _died(worker, question_max), {}))
        elif now >= job.deadline:  # SIGTERM first: the grader's cleanup kills its sandboxes
            job.terminated_at = now
            process.terminate()
    return finished


def _receive(connection):
    """The worker's message, or None when the pipe is empty or closed without one."""
    try:
        if connection.poll():
            return connection.recv()
    except (EOFError, OSError):
        return None
    except Exception as error:  # noqa: BLE001 - an unpicklable message is a grader error
        return {"error": f"could not read the worker's result: {error!r}"}
    return None


def _result_from_message(worker: _Worker, message: dict,
                         question_max: Mapping[str, float]) -> tuple[SubmissionResult, dict]:
    job = worker.job
    if isinstance(message, dict) and "result" in message:
        try:
            result = SubmissionResult.from_dict(message["result"])
            result.submission = job.submission.id  # the batch's id, whatever the grader said
            for question, points in question_max.items():
                result.question_max.setdefault(question, points)
            return result, {}
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            message = {"error": f"the grader returned a malformed result: {error!r}"}
    if not isinstance(message, dict):
        message = {"error": f"unexpected message from the worker: {type(message).__name__}"}
    reason = f"grader error: {message.get('error', 'unknown')}"
    return (_batch_result(job.submission, "error", reason, question_max,
                          {"batch_wall": time.monotonic() - job.started}),
            {"traceback": message.get("traceback", "")})


def _died(worker: _Worker, question_max: Mapping[str, float]) -> SubmissionResult:
    worker.process.join(1.0)
    code = worker.process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        how = f"was killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    else:
        how = f"exited with status {code}"
    return _batch_result(worker.job.submission, "error",
                         f"grader error: the grading worker {how} before reporting a result",
                         question_max, {"batch_wall": time.monotonic() - worker.job.started})


def _kill(process) -> None:
    if process.is_alive():
        process.kill()
    process.join(KILL_GRACE_SECONDS)


def _batch_result(submission: Submission, status: str, reason: str,
                  question_max: Mapping[str, float],
                  timings: Mapping[str, float] | None = None) -> SubmissionResult:
    """A row the batch writes itself (the grader gave none): no checks, zero everywhere."""
    return SubmissionResult(submission=submission.id, status=status,
                            reason=one_line(reason), question_max=dict(question_max),
                            timings_s={k: round(v, 3) for k, v in (timings or {}).items()})


class _WorkerStopped(BaseException):
    """Raised in a worker by SIGTERM (its deadline passed), so that ``finally`` blocks in the
    grader run and kill the sandboxes before the process ends."""


def _on_sigterm(signum, frame):  # pragma: no cover - runs in the worker
    raise _WorkerStopped()


def _worker_main(connection, grade_fn: GradeFn, worker_dir: Path, slot: int,
                 threads: int) -> None:  # pragma: no cover - runs in the worker process
    """Body of one worker process: grade the submissions the parent sends, one at a time, and
    send back each result (or the grader's error); leave on ``None`` or end of file."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    try:
        while True:
            try:
                submission = connection.recv()
            except (EOFError, OSError):
                return
            if submission is None:
                return
            connection.send(_grade_one(grade_fn, submission, worker_dir, slot))
    except _WorkerStopped:
        return


def _grade_one(grade_fn: GradeFn, submission: Submission, worker_dir: Path,
               slot: int) -> dict:  # pragma: no cover - runs in the worker process
    try:
        worker_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(worker_dir, 0o700)  # extracted submissions: no other sandbox uid may look in
        result = grade_fn(Path(submission.path), worker_dir, slot)
        if not isinstance(result, SubmissionResult):
            raise TypeError(f"the grader returned {type(result).__name__}, not SubmissionResult")
        message = {"result": result.to_dict()}
        pickle.dumps(message)  # an unpicklable value is reported, not sent half-way
        return message
    except _WorkerStopped:
        raise
    except BaseException as error:  # noqa: BLE001 - whatever the grader did, report it
        return {"error": one_line(f"{type(error).__name__}: {error}"),
                "traceback": traceback.format_exc()[-20_000:]}


def _progress_bar(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="grading", unit="submission",
                disable=not enabled, file=sys.stderr, dynamic_ncols=True)


# ---------------------------------------------------------------------------------------------
# The real grader (the grading core, ``autograder/core/grade.py``) as a batch grading function
# ---------------------------------------------------------------------------------------------

class CoreMissing(RuntimeError):
    """The grading core cannot grade this profile: it is not calibrated (``not_calibrated``);
    one line saying what is missing and what to run."""

    def __init__(self, message: str, not_calibrated: bool = False):
        super().__init__(message)
        self.not_calibrated = not_calibrated

    def __reduce__(self):  # crosses from the pre-flight process with its flag
        return (CoreMissing, (str(self), self.not_calibrated))


class CoreGrader:
    """The hardened grader (``autograder.core.grade.grade_submission``) as a picklable
    ``grade_fn(path, workdir, worker_index)``.

    ``timeout_s``: seconds for the student's code (None: the core's
    ``DEFAULT_TIMEOUT_SECONDS``); ``deadline_s``: the batch's hard limit per submission, that
    plus ``grace_s`` for the grader's own work plus the profile's allowance for evaluating the
    models (``checks.settings.EVALUATION_SLOWDOWN`` x ``evaluation_seconds``); ``allow_unisolated``: grade even where student
    code cannot be isolated. The core's ``GradingConfig`` is built once per worker process, on
    first use. ``isolation`` says how student code will be isolated ("full (bwrap)", ...).

    The pre-flight (configuration, isolation check, points, grader fingerprint) runs in a
    process forked from the batch's forkserver (:func:`call_in_worker`), so that the calling
    process never imports torch: measured on the Gradescope entry point, that kept 290 MiB of
    anonymous memory (torch's import) out of the process that only waits for the workers.

    Raises (at construction, in the calling process, so a batch fails before it starts):
        CoreMissing: the profile is not calibrated.
        IsolationUnavailable: student code cannot be isolated here and ``allow_unisolated``
            is False (the message says what is missing and how to get it).
        ValueError: unknown profile.
    """

    preload = ("torch", "autograder.core.grade")

    def __init__(self, profile: str | None = None, timeout_s: float | None = None,
                 grace_s: float = DEADLINE_GRACE_SECONDS, allow_unisolated: bool = False):
        from prunekit.profiles import default_profile_name, get_profile

        self.profile = profile or default_profile_name()
        get_profile(self.profile)  # ValueError naming the known profiles
        self.timeout_s = timeout_s
        self.grace_s = float(grace_s)
        self.allow_unisolated = bool(allow_unisolated)
        facts = call_in_worker(_core_facts, (self.profile, timeout_s, self.allow_unisolated),
                               preload=self.preload)
        self._core_timeout = facts["core_timeout"]
        self.isolation = facts["isolation"]
        # None: any number of workers; 1 where parallel sandboxes could meet (see grade.py)
        self.max_workers = facts["max_workers"]
        # True where only permissions protect files: the batch makes its inputs root-only
        self.permissions_only = facts["permissions_only"]
        self._question_max = facts["question_max"]
        self._grader_hash = facts["grader_hash"]
        self._evaluation_allowance = facts["evaluation_allowance_s"]

    @property
    def deadline_s(self) -> float:
        """The student's time limit, the grace for the grader's own work and the profile's
        allowance for evaluating the models (a real-data profile's hidden split is larger)."""
        return float(self.timeout_s or self._core_timeout) + self.grace_s + \
            self._evaluation_allowance

    @property
    def settings(self) -> dict:
        """What a record must match to be reused: the profile, the time limit and a hash of the
        grader (its code, the reference solutions and the profile's calibration), so that
        records made before a change of any of them are graded again."""
        return {"profile": self.profile, "timeout_s": self.timeout_s,
                "grader": self._grader_hash}

    def question_max(self) -> dict[str, float]:
        """Points possible per graded question (the core's configuration)."""
        return {question: float(points) for question, points in self._question_max.items()}

    def __call__(self, path: Path, workdir: Path, worker_index: int) -> SubmissionResult:
        from autograder.core import grade as core  # torch: in the worker only

        return core.grade_submission(Path(path), self._config(core), Path(workdir),
                                     worker_index=worker_index)

    def _config(self, core):
        key = (self.profile, self.timeout_s, self.allow_unisolated)
        if _CONFIGS.get("key") != key:
            _CONFIGS["key"], _CONFIGS["config"] = key, _core_config(
                core, self.profile, self.timeout_s, self.allow_unisolated)
        return _CONFIGS["config"]


def _core_facts(profile: str, timeout_s: float | None, allow_unisolated: bool) -> dict:
    """What :class:`CoreGrader` needs to know before a batch, as plain data: the core's default
    time limit (seconds), the isolation it gets here, the most parallel workers (None: any),
    points per question and the grader fingerprint. Runs in a pre-flight process.

    Side effects: the isolation check (under the restricted backend it makes the kit's secrets
    root-only)."""
    import math

    from autograder.checks.settings import EVALUATION_SLOWDOWN, evaluation_seconds

    from autograder.core import grade as core

    config = _core_config(core, profile, timeout_s, allow_unisolated)
    _check_grading_data(profile)
    return {"core_timeout": float(getattr(core, "DEFAULT_TIMEOUT_SECONDS", 0)
                                  or DEFAULT_DEADLINE_SECONDS),
            "isolation": core.check_isolation(config),
            "max_workers": None if core.parallel_sandboxes_safe(config) else 1,
            "permissions_only": core.files_protected_by_permissions_only(config),
            "question_max": {q: float(p) for q, p in config.points.items()},
            "grader_hash": _grader_fingerprint(Path(config.settings.source)),
            "evaluation_allowance_s": math.ceil(EVALUATION_SLOWDOWN
                                                * evaluation_seconds(config.settings))}


def _check_grading_data(profile: str) -> None:
    """A real-data profile grades on CIFAR-10's test set: where the images are absent, refuse
    before the batch (else every submission would lose its accuracy points).

    Raises:
        prunekit.data.cifar10.DataUnavailableError: one message that names the profile, where
            it looked and the offline profile."""
    from autograder.manifest import grader_data_root
    from prunekit.data import load_datasets
    from prunekit.profiles import cifar10_available, get_profile

    settings = get_profile(profile)
    if settings.dataset != "offline" and not cifar10_available(grader_data_root()):
        load_datasets(settings, root=grader_data_root())  # raises, saying what is missing


def call_in_worker(function: Callable, args: tuple = (), preload: Sequence[str] = ()):
    """``function(*args)`` computed in one process forked from the batch's forkserver (the one
    :func:`run_batch` forks its workers from, preloading ``preload``), so that what it imports
    stays out of this process. Returns its value; re-raises its exception here (both must
    pickle).

    Raises:
        RuntimeError: the process died without an answer (its exit status says how).
    """
    context = _context(preload)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_answer, args=(sender, function, args),
                              name="grading-preflight")
    process.start()
    sender.close()  # only the child holds it now: EOF here once the child is gone
    try:
        kind, value = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"the pre-flight process exited with status {process.exitcode} "
                           "before answering") from None
    finally:
        receiver.close()
    process.join()
    if kind == "error":
        raise value
    return value


def _answer(sender, function: Callable, args: tuple) -> None:  # pragma: no cover - child side
    """Body of :func:`call_in_worker`'s process: send ``("value", result)`` or
    ``("error", exception)``."""
    try:
        message = ("value", function(*args))
    except BaseException as error:  # noqa: BLE001 - the caller re-raises it
        message = ("error", error)
    try:
        sender.send(message)
    except Exception as error:  # noqa: BLE001 - an unpicklable answer is reported as such
        sender.send(("error", RuntimeError(f"the pre-flight answer could not be sent: "
                                           f"{error!r}")))


_CONFIGS: dict[str, Any] = {}  # per worker process: the core's configuration, built once
# What in autograder/ only runs, collects or reports gradings: a change there never changes a
# grade, so it does not make records stale.
NOT_GRADING = ("frontends", "core/batch.py", "core/single.py", "core/references.py", "master.py",
               "__main__.py")


def _grader_fingerprint(calibration: Path, kit: Path | None = None) -> str:
    """SHA-256 (16 hex digits) of everything a grade depends on: the grading core and its
    checks (the front ends and the batch runner excluded), the sandbox and what runs inside
    it, the question table (points), the reference solutions, the support package the checks
    grade through and the calibration file. ``kit``: the kit's folder (default: this one's)."""
    kit = kit or KIT_ROOT
    grader = [f for f in (kit / "autograder").rglob("*.py") if not _not_grading(f, kit)]
    files = sorted([*grader, kit / "autograder" / "questions.json",
                    *(kit / "solutions").rglob("*.py"), *(kit / "prunekit").rglob("*.py")])
    digest = hashlib.sha256()
    for file in [*files, calibration]:
        if file.is_file() and "__pycache__" not in file.parts:
            name = file.relative_to(kit) if file.is_relative_to(kit) else file.name
            digest.update(str(name).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _not_grading(file: Path, kit: Path) -> bool:
    relative = file.relative_to(kit / "autograder").as_posix()
    return any(relative == part or relative.startswith(part + "/") for part in NOT_GRADING)


def _core_config(core, profile: str, timeout_s: float | None, allow_unisolated: bool = False):
    """The core's grading configuration for ``profile``, the student-code time limit and the
    isolation policy."""
    from autograder.checks.settings import NotCalibrated

    try:
        config = core.GradingConfig.for_profile(profile, timeout_s=timeout_s,
                                                allow_unisolated=allow_unisolated)
    except NotCalibrated as error:
        raise CoreMissing(str(error), not_calibrated=True) from None
    return config
