"""Grading one submission: load it, run its code and every probe in one sandbox, judge every
hidden check in this (the grader's) process after the sandbox is gone.

``grade_submission(path, config, workdir, worker_index)`` never raises for anything a submission
does; it returns a :class:`~autograder.results.SubmissionResult`:

- ``graded``: the code ran and every check was judged (failures included);
- ``unreadable``: no notebook could be read (corrupt JSON or zip, no notebook, several): zero for
  every question, the reason says why;
- ``timeout`` / ``memory`` / ``crashed``: the student process hit a limit or died; the checks whose
  probes came back are judged as usual, the others get zero with the sandbox's reason;
- ``error``: a bug of ours (or a broken grading set-up): the reason says what; a batch carries on.

Determinism: inputs are drawn from a per-submission seed derived from the secret grading salt and
the submission id (SHA-256), and Python's, NumPy's and torch's global generators are seeded with
it, so a re-grade gives identical scores. The one measured quantity, the latency speedup of q9,
is timed in the grading thread's CPU time (so the machine's load stays out) and judged with a
wide margin (``checks/settings.py``).
"""
from __future__ import annotations

import os
import re
import resource
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from autograder.results import CheckResult, SubmissionResult
from autograder.sandbox import (NOBODY, Isolation, Limits, ProbeRequest, SandboxError, describe,
                                harden_permissions, run_in_sandbox, verify_backend)
from autograder.sandbox.backend import Backend, parallel_safe, permissions_only
from autograder.sandbox.uids import lease_uid
from autograder.sandbox.untrusted import clean_text
from autograder.core.submission import ASSIGNMENT_NAME, load_submission, submission_id

from autograder.checks import GRADED_QUESTIONS, build_plan, judge_plan, question_points
from autograder.checks.base import Context, derive_seed
from autograder.checks.resources import Resources
from autograder.checks.settings import GradingSettings, load_settings

DEFAULT_TIMEOUT_SECONDS = 90.0  # wall time of the student's process (notebook + probes)
QUESTION_POINTS: dict[str, float] = question_points()  # from autograder/questions.json
SANDBOX_STATUS = {"ok": "graded", "timeout": "timeout", "memory": "memory", "crashed": "crashed",
                  "killed": "crashed", "exit": "crashed"}


@dataclass(frozen=True)
class GradingConfig:
    """How to grade: the profile's settings (thresholds, salt, hidden split), the limits of the
    student's process, point values and the questions to grade.

    Build with :meth:`for_profile`. ``isolation`` None means: an unprivileged uid per worker
    (leased by :func:`autograder.sandbox.uids.lease_uid`, so no two sandboxes on the machine
    share a uid, whichever grader runs them) and the strongest
    isolation backend the machine allows; ``allow_unisolated`` lets grading run where only the
    "none" backend works (otherwise :func:`check_isolation` and every sandbox run refuse).
    """
    settings: GradingSettings
    limits: Limits = field(default_factory=lambda: Limits(wall_seconds=DEFAULT_TIMEOUT_SECONDS,
                                                          cpu_seconds=int(DEFAULT_TIMEOUT_SECONDS)))
    points: dict[str, float] = field(default_factory=lambda: dict(QUESTION_POINTS))
    questions: tuple[str, ...] = GRADED_QUESTIONS
    isolation: Isolation | None = None
    grader_threads: int = 1  # torch threads in the grader's process (latency pins its own)
    assignment_name: str = ASSIGNMENT_NAME
    allow_unisolated: bool = False

    @classmethod
    def for_profile(cls, profile: str = "offline", timeout_s: float | None = None,
                    **overrides: Any) -> "GradingConfig":
        """The configuration of ``profile`` (its calibration must exist); ``timeout_s`` sets the
        student process's wall and CPU limits."""
        config = cls(settings=load_settings(profile), **overrides)
        if timeout_s:
            config = replace(config, limits=replace(config.limits, wall_seconds=float(timeout_s),
                                                    cpu_seconds=int(max(1, timeout_s))))
        return config

    def isolation_for(self, worker_index: int) -> Isolation:
        if self.isolation is not None:
            return self.isolation
        # A root grader's sandbox uid is leased machine-wide (another grader on this machine
        # must not share it: the restricted backend cleans up by uid); as another user the uid
        # is not used (bubblewrap maps the student into a user namespace).
        uid = lease_uid(worker_index) if os.geteuid() == 0 else NOBODY - 1 - int(worker_index)
        return Isolation(uid=uid, gid=uid, allow_unisolated=self.allow_unisolated)


def check_isolation(config: GradingConfig) -> str:
    """The isolation student code will get under ``config`` (e.g. "full (bwrap)"), found out by
    trying it once; call before grading a batch. Under the restricted backend (a container
    without namespaces) the kit's secrets are made root-only first, since permissions (and
    Landlock, where the kernel has it) are then what keeps them from the sandbox uid.

    Side effects: chown/chmod of the secret folders (restricted backend only).

    Raises:
        IsolationUnavailable: nothing isolates here and ``config.allow_unisolated`` is False;
            the message says what is missing and how to get it.
    """
    return describe(_checked_backend(config))


def parallel_sandboxes_safe(config: GradingConfig) -> bool:
    """Whether several workers may grade at once under ``config`` (see
    :func:`autograder.sandbox.backend.parallel_safe`)."""
    return parallel_safe(_checked_backend(config))


def files_protected_by_permissions_only(config: GradingConfig) -> bool:
    """Whether only file permissions keep files from student code under ``config`` (see
    :func:`autograder.sandbox.backend.permissions_only`): a batch must then make its
    submissions and output root-only too, or one submission could read another's."""
    return permissions_only(_checked_backend(config))


def _checked_backend(config: GradingConfig) -> Backend:
    isolation = config.isolation_for(0)
    backend = verify_backend(isolation)
    if backend.name == "restricted":
        harden_permissions(isolation.secret_paths)
    return backend


def submission_seed(salt: str, sub_id: str) -> int:
    """The per-submission seed: a 63-bit hash of the secret salt and the submission id."""
    return derive_seed(salt, f"submission/{sub_id}")


def grade_submission(path: str | Path, config: GradingConfig, workdir: str | Path,
                     worker_index: int = 0) -> SubmissionResult:
    """Grade the submission at ``path`` (notebook, Otter zip or folder); see the module docstring.

    Args:
        path: the submission.
        config: see :class:`GradingConfig`.
        workdir: scratch folder for this worker (sandboxes and extracted files go below it).
        worker_index: this worker's slot (picks its sandbox uid).

    Returns:
        A SubmissionResult with one CheckResult per check of every graded question (none when
        the submission is unreadable), timings per stage in seconds and peak memory in bytes.
    """
    started = time.perf_counter()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    question_max = {q: float(config.points[q]) for q in config.questions}
    result = SubmissionResult(submission=submission_id(Path(path)), status="error",
                              question_max=question_max)
    timings: dict[str, float] = {}
    threads = torch.get_num_threads()
    try:
        with _timed(timings, "load"):
            submission = load_submission(path, scratch_dir=workdir,
                                         assignment_name=config.assignment_name)
        with submission:
            result.submission = submission.id
            result.notes.extend(submission.problems)
            if submission.readable:
                result.notes.append(f"graded notebook: {clean_text(submission.notebook_name)}")
            if not submission.readable:
                result.status = "unreadable"
                result.reason = "; ".join(submission.problems) or "the submission is unreadable"
                return result
            _grade_readable(submission, config, workdir, worker_index, result, timings)
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the batch
        result.status, result.checks = "error", []
        result.reason = f"grader error: {type(error).__name__}: {str(error)[:500]}"
        result.notes.append(traceback.format_exc(limit=12))
    finally:
        torch.set_num_threads(threads)
        timings["total"] = time.perf_counter() - started
        result.timings_s = {k: round(v, 3) for k, v in timings.items()}
        grader_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result.memory_bytes["grader"] = grader_peak
        result.peak_memory_bytes = grader_peak + result.memory_bytes.get("student", 0)
    return result


def _grade_readable(submission, config: GradingConfig, workdir: Path, worker_index: int,
                    result: SubmissionResult, timings: dict[str, float]) -> None:
    """Seed, plan, run the sandbox, judge (fills ``result``)."""
    settings = config.settings
    seed = submission_seed(settings.salt, submission.id)
    result.seed = seed
    torch.set_num_threads(max(1, int(config.grader_threads)))
    _seed_everything(seed)
    ctx = Context(seed=seed, settings=settings, resources=_resources(settings),
                  files=dict(submission.model_files), file_problems=dict(submission.file_problems))
    with _timed(timings, "plan"):
        plans, plan_errors = {}, {}
        for question in config.questions:
            try:
                plans[question] = build_plan(question, ctx)
            except Exception as error:  # noqa: BLE001 - judged below as a grader error
                plan_errors[question] = f"{type(error).__name__}: {error}"
                result.notes.append(f"{question}: building the checks failed:\n"
                                    + traceback.format_exc(limit=8))
    requests = [ProbeRequest(plan.request_id(call.key), call.probe, dict(call.kwargs),
                             seed=derive_seed(seed, plan.request_id(call.key)) % 2**31)
                for plan in plans.values() for call in plan.calls.values()]
    with _timed(timings, "sandbox"):
        try:
            sandbox = run_in_sandbox(submission.cells, requests, config.limits,
                                     workdir / "sandboxes",
                                     isolation=config.isolation_for(worker_index))
        except SandboxError as error:
            raise RuntimeError(f"the sandbox could not be set up: {error}") from None
    result.memory_bytes["student"] = int(sandbox.peak_memory_bytes)
    result.isolation = sandbox.isolation.summary
    for stage, seconds in sandbox.stage_seconds.items():  # parts of "sandbox", as the child saw it
        timings[f"sandbox_{stage}"] = seconds
    _note_sandbox(result, sandbox, submission.cells)
    explain = _explainer(submission.cells, sandbox.cell_errors)
    locate = _locator(submission.cells)
    judge_started = time.perf_counter()
    errors = []
    for question in config.questions:
        if question in plan_errors:
            result.checks.append(CheckResult(question, "grader_error", 0.0,
                                             float(config.points[question]), False,
                                             "the grader could not build this question's checks "
                                             "(internal error; staff notified)"))
            continue
        checks, judge_errors = judge_plan(plans[question], sandbox.outcomes,
                                          float(config.points[question]), explain, locate)
        result.checks.extend(checks)
        errors.extend(judge_errors)
    judged = time.perf_counter() - judge_started
    for stage, seconds in ctx.timings.items():
        timings[stage] = timings.get(stage, 0.0) + seconds
    timings["checks"] = judged - sum(ctx.timings.values())
    result.metrics.update({k: float(v) for k, v in ctx.metrics.items()})
    if plan_errors:  # a question's checks could not even be built: a bug of ours
        result.status = "error"
        result.reason = "grader error while building the checks: " + \
            next(iter(plan_errors.values())).splitlines()[0][:300]
    else:
        result.status = SANDBOX_STATUS.get(sandbox.status, "crashed")
        result.reason = _locator(submission.cells)(sandbox.reason) or \
            _stopped_cells(submission.cells, sandbox.cell_errors)
    # Checks that met data they could not handle failed with a message; staff get the trace.
    result.notes.extend(f"check error: {error}" for error in errors)


def _note_sandbox(result: SubmissionResult, sandbox, cells: list[str]) -> None:
    """Cell errors and isolation shortfalls, for the log and the feedback."""
    for index, failure in sorted(sandbox.cell_errors.items()):
        result.notes.append(f"{_cell_label(cells, index)} raised {failure.kind}: "
                            f"{_locator(cells)(failure.message[:200])}")
    if sandbox.isolation.degraded:
        result.notes.append("isolation degraded: " + "; ".join(sandbox.isolation.notes)[:500])


def _stopped_cells(cells: list[str], cell_errors: dict) -> str:
    """The feedback's note on cells the runner stopped at their share of the time limit (the
    rest of the notebook and the checks still ran), or ""."""
    stopped = [f"{_cell_label(cells, index)} was {failure.message.split(';')[0]}"
               for index, failure in sorted(cell_errors.items()) if failure.kind == "CellTimeout"]
    if not stopped:
        return ""
    return f"{'; '.join(stopped)[:400]}; the later cells and the checks still ran"


def _cell_label(cells: list[str], index: int) -> str:
    """"the cell starting 'def fine_grained_prune(...'" for feedback (students do not see our
    cell numbering: skipped cells shift it)."""
    if not 0 <= index < len(cells):
        return f"cell {index}"
    first = next((line.strip() for line in cells[index].splitlines() if line.strip()), "")
    return f"the cell starting {clean_text(first[:60])!r}"


def _explainer(cells: list[str], cell_errors: dict):
    """``explain(name)``: why ``name`` is undefined, e.g. the cell that defines it failed."""
    def explain(name: str) -> str:
        if not name:
            return ""
        pattern = re.compile(rf"^\s*(def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*(:[^=]*)?=",
                             re.MULTILINE)
        defining = [i for i, source in enumerate(cells) if pattern.search(source)]
        for index in defining:
            if index in cell_errors:
                failure = cell_errors[index]
                line = failure.where.split("line", 1)[-1].strip() if "line" in failure.where else ""
                at = f" at line {line}" if line else ""
                message = _locator(cells)(failure.message[:200])
                return f" ({_cell_label(cells, index)} failed{at}: {failure.kind}: {message})"
        if not defining:
            return " (no cell of the notebook defines it)"
        return ""
    return explain


_CELL_REFERENCE = re.compile(r"\s*\(<cell (\d+)>, line (\d+)\)|<?cell (\d+)>?(?:, line (\d+))?")


def _locator(cells: list[str]):
    """``locate(text)``: the sandbox's cell numbers in ``text`` ("cell 7, line 3", "(<cell 7>,
    line 3)" in a SyntaxError) rewritten as "line 3 of the cell starting 'def ...'" (students do
    not see our numbering: skipped cells shift it)."""
    def replace_one(match: re.Match) -> str:
        if match.group(1) is not None:  # "(<cell N>, line L)" inside a SyntaxError message
            return ""
        label = _cell_label(cells, int(match.group(3)))
        return f"line {match.group(4)} of {label}" if match.group(4) else label

    def locate(text: str) -> str:
        return _CELL_REFERENCE.sub(replace_one, text)
    return locate


_RESOURCES: dict[Any, Resources] = {}


def _resources(settings: GradingSettings) -> Resources:
    """Per-process grader resources (base model, hidden split) for these settings."""
    key = (settings.profile, settings.source, settings.split_seed)
    if key not in _RESOURCES:
        _RESOURCES[key] = Resources(settings)
    return _RESOURCES[key]


def _seed_everything(seed: int) -> None:
    from prunekit.runtime import seed_everything

    seed_everything(seed % 2**63)


class _timed:
    """Context manager adding the block's wall time to ``timings[stage]``."""

    def __init__(self, timings: dict[str, float], stage: str):
        self.timings, self.stage = timings, stage

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = (self.timings.get(self.stage, 0.0)
                                    + time.perf_counter() - self.start)
        return False
