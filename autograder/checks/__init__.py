"""The hidden checks (SECRET: never copied into a sandbox or shipped to students).

One plan builder per graded question; each draws fresh inputs from the submission's seed,
declares the probe calls the sandbox must make and registers weighted checks that judge the
outcomes against the reference (``solutions/``) in the grader's own process.

==========  ===================================================  =======================
question    what it grades                                       module
==========  ===================================================  =======================
q1          get_sparsity, get_model_sparsity                     ``q_sparsity``
q2          get_num_parameters, get_model_size                   ``q_sparsity``
q3          fine_grained_prune                                   ``q_fine_grained``
q4          target_sparsity                                      ``q_fine_grained``
q5          FineGrainedPruner                                    ``q_fine_grained``
q6          sparsity_dict + finegrained.pt                       ``q_models``
q7          get_num_channels_to_keep, channel_prune              ``q_channel``
q8          get_input_channel_importance, apply_channel_sorting  ``q_channel``
q9          channel_pruned.pt (accuracy, MACs, speedup)          ``q_models``
q10         nm_prune (bonus: extra credit)                       ``q_semi_structured``
==========  ===================================================  =======================

Point values come from the master notebook (``points.py``); within a question every check has a
relative weight, and a passed check earns ``points * weight / sum of the question's weights``.
A bonus question (``autograder/questions.py``) is graded the same way; only the reports keep
its points out of the points possible.
"""
from __future__ import annotations

import math
import traceback
from typing import Any, Callable, Mapping

from autograder.results import CheckResult

from .base import Context, Fail, Outputs, Plan
from .points import GRADED_QUESTIONS, question_points
from .q_channel import plan_q7, plan_q8
from .q_fine_grained import plan_q3, plan_q4, plan_q5
from .q_models import plan_q6, plan_q9
from .q_semi_structured import plan_q10
from .q_sparsity import plan_q1, plan_q2

PLAN_BUILDERS: dict[str, Callable[[Context], Plan]] = {
    "q1": plan_q1, "q2": plan_q2, "q3": plan_q3, "q4": plan_q4, "q5": plan_q5,
    "q6": plan_q6, "q7": plan_q7, "q8": plan_q8, "q9": plan_q9, "q10": plan_q10,
}
assert tuple(PLAN_BUILDERS) == GRADED_QUESTIONS

__all__ = ["PLAN_BUILDERS", "GRADED_QUESTIONS", "Context", "Fail", "Outputs", "Plan",
           "build_plan", "judge_plan", "question_points", "check_shares"]


def build_plan(question: str, ctx: Context) -> Plan:
    """The plan of one question for the submission described by ``ctx``."""
    return PLAN_BUILDERS[question](ctx)


def check_shares(plan: Plan, points: float) -> list[float]:
    """Maximum points of each check of ``plan``: ``points`` split by weight, the last share
    adjusted so that the shares, added in order, give exactly ``points``."""
    total = sum(check.weight for check in plan.checks)
    shares = [round(points * check.weight / total, 6) for check in plan.checks]
    if shares:
        running = 0.0
        for share in shares[:-1]:
            running += share
        last = points - running
        while running + last < points:
            last = math.nextafter(last, math.inf)
        while running + last > points:
            last = math.nextafter(last, -math.inf)
        shares[-1] = last
    return shares


def judge_plan(plan: Plan, outcomes: Mapping[str, Any], points: float,
               explain_missing: Callable[[str], str] | None = None,
               locate: Callable[[str], str] | None = None
               ) -> tuple[list[CheckResult], list[str]]:
    """Judge every check of ``plan`` on the probe ``outcomes`` (request id -> Outcome).

    Returns:
        (one CheckResult per check, internal errors). A judge that raises :class:`Fail` fails its
        check with that message; any other exception means the check met data it cannot handle
        (or a bug of ours): the check fails with a message naming the error, and the error with
        its traceback is returned for the staff's log; the rest is judged as usual.

    Raises:
        OSError: the grader's own files could not be read or written (the base checkpoint, the
            hidden split, a full disk): the machine's problem, not the student's, so the whole
            grading is an error (graded again on the next run), not points off.
    """
    outputs = Outputs(plan, outcomes, explain_missing, locate)
    results, errors = [], []
    passed_names: set[str] = set()
    summaries = {check.name: check.summary for check in plan.checks}
    first_with: dict[str, str] = {}  # failure message -> summary of the first check failing so
    for check, share in zip(plan.checks, check_shares(plan, points)):
        measured = ""
        try:
            note = check.judge(outputs)
            passed, message = True, ""
            measured = note if isinstance(note, str) else ""
            missing = [name for name in check.requires if name not in passed_names]
            if missing:  # its own property holds, but only trivially: the values are wrong
                passed = False
                message = (f"counts only once {missing[0]} passes ({summaries[missing[0]]}), "
                           f"which failed")
        except Fail as failure:
            passed, message = False, str(failure)[:2000]
        except OSError:  # student data never reaches a check as a path: ours to fix
            raise
        except Exception as error:  # noqa: BLE001 - never lose the submission to one check
            passed = False
            message = (f"{summaries[check.name]}: could not be judged on what came back "
                       f"({type(error).__name__}: {' '.join(str(error).split())[:160]}); "
                       f"this check counts as failed")
            errors.append(f"{plan.question}/{check.name}: {type(error).__name__}: {error}\n"
                          + traceback.format_exc(limit=8))
        if passed:
            passed_names.add(check.name)
        elif message in first_with:  # the same cause (e.g. the call raised): point to the first
            message = f"same cause as \"{first_with[message]}\": {message}"
        else:
            first_with[message] = summaries[check.name]
        results.append(CheckResult(question=plan.question, name=check.name,
                                   points=share if passed else 0.0, max_points=share,
                                   passed=passed, message=message,
                                   measured=measured if passed else ""))
    return results, errors
