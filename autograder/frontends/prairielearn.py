"""PrairieLearn: an external-grader entry point that runs this hardened grader.

PrairieLearn's external grader starts a container per submission with the student's files in
``/grade/student`` and reads ``/grade/results/results.json`` back. ``python -m autograder
prairielearn-run [--root /grade]`` finds the one submission in ``ROOT/student`` (a notebook with
its model files, or the zip ``grader.export`` makes), grades it like ``gradescope-run`` does (the
same sandbox, one worker, the batch's hard deadline) and writes:

- ``gradable``: false when there was nothing to grade (no notebook, several, a corrupt one) or
  the grader itself could not run (it cannot isolate here, a bug of ours): PrairieLearn then
  neither scores the attempt nor counts it; true otherwise, timeouts and crashes included
  (those cost the points they affect, as everywhere in the kit);
- ``score``: the total as a fraction of the points possible, in [0, 1]: PrairieLearn takes no
  more than full credit for a question, so bonus points (the optional extension's) make up
  for points lost elsewhere but cannot lift the score above 1 (a course that wants them on
  top gives the extension its own PrairieLearn question, or uses the assessment's bonus
  points);
- ``message``: how grading went, in one line; ``tests``: one entry per question with
  ``name``, ``points``, ``max_points``, ``output`` (each check, failed ones with their message)
  and ``message``; a bonus question's entry is named so (its ``max_points`` are what it may
  add).

The root is configurable so that tests run the entry point on a temporary folder with
PrairieLearn's layout. How to build the image: see docs/gradescope-prairielearn.md.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from autograder import questions
from autograder.core.single import grade_folder, platform_folder
from autograder.frontends import report
from autograder.results import SubmissionResult

DATA_FILE = "data/data.json"  # PrairieLearn's question data, beside student/

UNGRADABLE = ("unreadable", "error")  # statuses PrairieLearn should not count as an attempt


class PrairieLearnError(RuntimeError):
    """The PrairieLearn folder is not there (one line)."""


def run(root: Path = Path("/grade"), timeout_s: float | None = None,
        grade_fn: Callable | None = None, profile: str | None = None,
        allow_unisolated: bool = False) -> SubmissionResult:
    """Grade ``root/student`` under the student's variant (:func:`prairielearn_identity`) and
    write ``root/results/results.json``; returns the result.

    Raises:
        PrairieLearnError: ``root/student`` does not exist (nothing is written then).
    """
    root = Path(root)
    student = platform_folder(root, "student", "PrairieLearn", PrairieLearnError)
    result, question_max = grade_folder(student, prairielearn_identity(root), DATA_FILE, grade_fn,
                                        timeout_s, profile, allow_unisolated)
    write_results(result, root / "results" / "results.json", question_max)
    return result


def prairielearn_identity(root: Path) -> str | None:
    """The submission id that seeds the inputs: the student's variant of the question
    (``variant_seed`` in ``ROOT/data/data.json``; each student gets their own variant, and a
    resubmission to it is graded on the same inputs), "pl-<seed>"; None when it is missing."""
    try:
        seed = json.loads((Path(root) / DATA_FILE).read_text())["variant_seed"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    text = str(seed)
    return f"pl-{text}" if text.isalnum() and len(text) <= 64 else None


def results_json(result: SubmissionResult, question_max: dict[str, float] | None = None) -> dict:
    """PrairieLearn's results of one grading (see the module docstring); plain JSON."""
    maxima = report.question_maxima([result], question_max)
    possible = report.points_possible(result, maxima)
    scores = result.question_scores
    gradescope = report.gradescope_results(result, maxima, question_titles=questions.load().titles())
    tests = [{"name": row["name"], "points": round(scores.get(question, 0.0), 4),
              "max_points": round(maxima[question], 4),
              "output": row["output"],
              "message": "" if row.get("status") == "passed" else "not all checks passed"}
             for question, row in zip(maxima, gradescope["tests"])]
    return {"gradable": result.status not in UNGRADABLE,
            "score": round(min(1.0, max(0.0, result.total / possible)), 6) if possible else 0.0,
            "message": gradescope["output"],
            "tests": tests}


def write_results(result: SubmissionResult, path: Path,
                  question_max: dict[str, float] | None = None) -> Path:
    """Write :func:`results_json` to ``path`` (folders made); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results_json(result, question_max), indent=2) + "\n",
                    encoding="utf-8")
    return path
