"""The hidden checks (SECRET: never copied into a sandbox or shipped to students).

One plan builder per graded question; each draws fresh inputs from the submission's seed,
declares the probe calls the sandbox must make and registers weighted checks that judge the
outcomes against the reference (``solutions/``) in the grader's own process.

Each ``q_*.py`` module holds the plan builders of its questions, each named ``plan_<question id>``
(``plan_q7``) and found here by that name: a new question needs its builder in a ``q_*.py``
module and its header in the master notebook, nothing else in this package.

Point values come from the master notebook (``points.py``); within a question every check has a
relative weight, and a passed check earns ``points * weight / sum of the question's weights``.
A bonus question (``autograder/questions.py``) is graded the same way; only the reports keep
its points out of the points possible.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
import traceback
from typing import Any, Callable, Mapping

from autograder.results import CheckResult

from .base import Context, Fail, Outputs, Plan
from .points import GRADED_QUESTIONS, question_points


def _find_plan_builders() -> dict[str, Callable[[Context], Plan]]:
    """``plan_<question>`` of every ``q_*`` module of this package, in the question table's
    order.

    Raises:
        ImportError: a graded question of the table has no builder, or a builder has no
            question (the table and the checks disagree: run the build, or add the builder)."""
    found: dict[str, Callable[[Context], Plan]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("q_"):
            module = importlib.import_module(f"{__name__}.{module_info.name}")
            found.update((name.removeprefix("plan_"), builder)
                         for name, builder in vars(module).items()
                         if name.startswith("plan_") and callable(builder)
                         and builder.__module__ == module.__name__)
    if set(found) != set(GRADED_QUESTIONS):
        raise ImportError(f"the graded questions {list(GRADED_QUESTIONS)} and the plan builders "
                          f"{sorted(found)} disagree")
    return {question: found[question] for question in GRADED_QUESTIONS}


PLAN_BUILDERS = _find_plan_builders()

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
