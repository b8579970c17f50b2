"""Fake results and fake grading functions for the tests of the batch runner, the reports, the
command line and the Gradescope entry point (so they run without the grading core).

The fake graders are module-level and picklable: the batch runner sends them to worker processes.
A fake's behaviour is chosen by the submission's file name (``ok-*``, ``raise-*``, ``hang-*``,
``die-*``), and its scores follow from the file's bytes, so they are deterministic.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from autograder.results import CheckResult, SubmissionResult

QUESTION_MAX = {"q1": 2.0, "q2": 3.0, "q12": 1.0}


def fake_result(submission: str = "alice", status: str = "graded", reason: str = "",
                failed: tuple[str, ...] = ()) -> SubmissionResult:
    """A result with two checks on q1, two on q2 and one on q12; the checks named in ``failed``
    ("q1/a", ...) fail with a message."""
    specs = [("q1", "a", 1.0), ("q1", "b", 1.0), ("q2", "mask_exact", 2.0),
             ("q2", "in_place", 1.0), ("q12", "speedup", 1.0)]
    checks = []
    for question, name, points in specs:
        lost = f"{question}/{name}" in failed
        checks.append(CheckResult(question, name, 0.0 if lost else points, points, not lost,
                                  f"{name} failed on a (3, 4) tensor" if lost else ""))
    if status != "graded":
        checks = []
    return SubmissionResult(submission=submission, status=status, reason=reason, checks=checks,
                            question_max=dict(QUESTION_MAX), timings_s={"total": 1.5}, seed=7)


def score_from_bytes(path: Path) -> tuple[str, ...]:
    """Which checks fail, derived from the submission's bytes (deterministic)."""
    data = path.read_bytes() if path.is_file() else path.name.encode()
    digest = hashlib.sha256(data).digest()
    names = ("q1/a", "q1/b", "q2/mask_exact", "q2/in_place", "q12/speedup")
    return tuple(name for name, byte in zip(names, digest) if byte % 2)


def fake_grade(path: Path, workdir: Path, worker_index: int) -> SubmissionResult:
    """Grades by file name: ``raise-*`` raises, ``hang-*`` sleeps forever, ``stubborn-*`` sleeps
    and turns the batch's stop into an error result, ``die-*`` exits the process without a word, anything else gets a result derived from its bytes. Also leaves a
    marker file in ``workdir`` so tests can see which worker slots were used."""
    name = path.name
    (Path(workdir) / f"slot-{worker_index}-{os.getpid()}").write_text(name)
    if name.startswith("raise-"):
        raise RuntimeError(f"the grader broke on {name}")
    if name.startswith("hang-"):
        while True:
            time.sleep(1)
    if name.startswith("stubborn-"):  # catches the batch's stop and reports an error instead
        try:
            while True:
                time.sleep(1)
        except BaseException as error:  # noqa: BLE001 - on purpose
            return fake_result(name, status="error", reason=f"caught {type(error).__name__}")
    if name.startswith("die-"):
        os._exit(3)
    if name.startswith("slow-"):
        time.sleep(1.0)
    stem = name[: -len(path.suffix)] if path.suffix else name
    return fake_result(stem, failed=score_from_bytes(path))


class CountingGrader:
    """A picklable grader that appends each graded path to a log file (to see what a re-run
    grades again) and then grades like :func:`fake_grade`."""

    def __init__(self, log: Path):
        self.log = Path(log)

    def __call__(self, path: Path, workdir: Path, worker_index: int) -> SubmissionResult:
        with open(self.log, "a") as handle:
            handle.write(f"{Path(path).name}\n")
        return fake_grade(path, workdir, worker_index)


def write_notebooks(folder: Path, names: list[str]) -> list[Path]:
    """Write small distinct files ``<name>.ipynb`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / f"{name}.ipynb"
        path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, '
                        f'"name": "{name}"}}')
        paths.append(path)
    return paths


class FakeGrader:
    """Stands in for :class:`autograder.core.batch.CoreGrader` in command-line and Gradescope tests:
    the same attributes, grading with :func:`fake_grade`."""

    preload: tuple[str, ...] = ()

    def __init__(self, profile: str = "offline", timeout_s: float | None = None,
                 deadline_s: float = 30.0):
        self.profile, self.timeout_s, self.deadline_s = profile, timeout_s, deadline_s

    @property
    def settings(self) -> dict:
        return {"profile": self.profile, "timeout_s": self.timeout_s}

    def question_max(self) -> dict[str, float]:
        return dict(QUESTION_MAX)

    def __call__(self, path: Path, workdir: Path, worker_index: int) -> SubmissionResult:
        return fake_grade(path, workdir, worker_index)
