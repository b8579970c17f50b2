"""One submission in a platform's folder (Gradescope's ``ROOT/submission``, PrairieLearn's
``ROOT/student``), graded as a batch of one under the platform's student id: what both
platforms' entry points call (``autograder/frontends/gradescope.py``, ``prairielearn.py``).
"""
from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path
from typing import Callable

from autograder.core import batch
from autograder.manifest import packaged_setting
from autograder.results import SubmissionResult
from autograder.sandbox import IsolationUnavailable

SUBMISSION_ID = "submission"  # only where the platform names no student (a local try-out)


def platform_folder(root: Path, name: str, platform: str, error: type[Exception]) -> Path:
    """The platform's folder ``root/name`` (the student's files); ``error`` naming the
    platform's layout when it is not a folder (then nothing is graded or written)."""
    folder = Path(root) / name
    if not folder.is_dir():
        raise error(f"no {name} folder at {folder} ({platform}'s layout: ROOT/{name}, "
                    "ROOT/results)")
    return folder


def find_submission(folder: Path, submission_id: str = SUBMISSION_ID) -> batch.Submission:
    """The one submission in a platform's submission folder, under ``submission_id``: the
    folder itself when it holds one notebook, else the one zip in it; a submission with a
    ``problem`` (graded as unreadable) when it holds neither or several."""
    folder = Path(folder)
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                       and "__MACOSX" not in p.parts)
    zips = sorted(folder.glob("*.zip"))
    if len(notebooks) == 1:
        return batch.Submission(submission_id, notebooks[0].parent)
    if not notebooks and len(zips) == 1:
        return batch.Submission(submission_id, zips[0])
    if not notebooks and not zips:
        return batch.Submission(submission_id, folder, "the submission holds no notebook "
                                "(.ipynb): upload the zip that grader.export() made, or your "
                                "notebook with finegrained.pt and channel_pruned.pt")
    names = ", ".join(p.relative_to(folder).as_posix() for p in notebooks or zips)
    return batch.Submission(submission_id, folder, f"the submission holds several notebooks or "
                            f"zips ({names}); upload exactly one")


def platform_id(identity: str | None, source: str) -> str:
    """``identity``, else SUBMISSION_ID with a warning to staff (standard error): without the
    platform's identity every submission would be graded on the same inputs."""
    if identity:
        return identity
    print(f"warning: no student identity in {source}: this submission is graded under the id "
          f"{SUBMISSION_ID!r}, on the inputs every such submission shares", file=sys.stderr)
    return SUBMISSION_ID


def grade_folder(folder: Path, identity: str | None, identity_source: str,
                 grade_fn: Callable | None = None, timeout_s: float | None = None,
                 profile: str | None = None, allow_unisolated: bool = False,
                 before: Callable[[], None] | None = None) -> tuple[SubmissionResult, dict]:
    """Grade the one submission in ``folder`` (:func:`find_submission`) as one batch of one, with
    the batch's hard deadline; never raises. Returns the result (status ``error`` with a reason
    for the student when the grader could not start or cannot isolate; the details go to
    standard error) and the points possible per question.

    Args:
        identity: the platform's student (it seeds the submission's inputs), None where the
            platform named none (:func:`platform_id`); ``identity_source`` names where it is
            read from, for the warning.
        grade_fn: the grader (default: the hardened grader of ``profile``, else of the
            platform zip's profile (``manifest.packaged_setting``), else offline).
        before: called before the default grader is built (hardening the kit's files).
    """
    submission_id = platform_id(identity, identity_source)
    question_max: dict[str, float] = {}
    try:
        if grade_fn is None:
            if before is not None:
                before()
            grade_fn = batch.CoreGrader(profile=profile or packaged_setting("profile", "offline"),
                                  timeout_s=timeout_s,
                                  allow_unisolated=allow_unisolated)
        question_max = _question_max(grade_fn)
        submission = find_submission(folder, submission_id)
        with tempfile.TemporaryDirectory(prefix="prunekit-single-") as records:
            outcome = batch.run_batch(
                [submission], grade_fn, Path(records), workers=1,
                deadline_s=getattr(grade_fn, "deadline_s", None),
                settings=getattr(grade_fn, "settings", {}), question_max=question_max,
                progress=False, preload=getattr(grade_fn, "preload", ()))
        return outcome.results[0], question_max
    except IsolationUnavailable as error:
        print(f"refusing to grade: {error}", file=sys.stderr)
        reason = ("the autograder cannot isolate submissions on this machine, so it graded "
                  "nothing; please contact the course staff")
    except Exception as error:  # noqa: BLE001 - the platform must always get a results file
        traceback.print_exc()
        reason = (f"the autograder failed ({type(error).__name__}: {error}); please contact "
                  "the course staff")
    return SubmissionResult(submission_id, "error", reason, question_max=question_max), \
        question_max


def _question_max(grade_fn) -> dict[str, float]:
    getter = getattr(grade_fn, "question_max", None)
    return dict(getter()) if callable(getter) else {}
