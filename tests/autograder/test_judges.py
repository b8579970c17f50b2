"""The hidden checks' judges, called directly: each check of a plan is a named module-level
judge that gets the data its builder drew (``case``), so a test can hand it outcomes made by
hand (the sandbox's ``Outcome`` and ``Failure``) and read its verdict, without a notebook or a
sandbox. The judges are fed the reference's own answers (they pass) and one wrong answer (they
fail with the message a student would read)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from autograder.checks import GRADED_QUESTIONS, build_plan
from autograder.checks.base import Context, Fail, Outputs, Plan, Probed
from autograder.checks.q_channel import judge_num_channels_values
from autograder.checks.q_fine_grained import judge_masks_match_contract, judge_target_sparsity_value
from autograder.checks.q_sparsity import judge_sparsity_values
from autograder.sandbox import Failure, Outcome
from solutions.choices import TARGET_SPARSITY

SEED = 3
# What the builders read of the grading settings (the model questions' accuracy thresholds);
# nothing here loads a model or measures one.
SETTINGS = SimpleNamespace(thresholds={"finegrained_accuracy": 90.0, "channel_accuracy": 90.0})


def returned(plan: Plan, values: dict) -> Outputs:
    """Outputs as if every call of ``plan`` named in ``values`` returned its value (as the
    ``call_function`` probe records it: {"result": value})."""
    return Outputs(plan, {plan.request_id(key): Outcome(value={"result": value})
                          for key, value in values.items()})


def case_of(plan: Plan, name: str):
    """The data the builder gave the judge of the check ``name``."""
    check = next(check for check in plan.checks if check.name == name)
    return check.judge.keywords["case"]


def verdict(judge, out: Outputs, case=None) -> str | None:
    """The Fail message of ``judge`` on ``out``, or None when it passes."""
    try:
        judge(out, case) if case is not None else judge(out)
    except Fail as failure:
        return str(failure)
    return None


def test_every_check_is_a_named_module_level_judge():
    """No check is judged by a closure: a traceback names the judge, a test can import it."""
    ctx = Context(seed=SEED, settings=SETTINGS, resources=None)
    for question in GRADED_QUESTIONS:
        for check in build_plan(question, ctx).checks:
            judge = getattr(check.judge, "func", check.judge)
            assert judge.__name__.startswith("judge_"), (question, check.name, judge.__name__)
            assert "<locals>" not in judge.__qualname__, (question, check.name)
            declared = getattr(judge, "grades", None)  # a judge written for this one check
            assert declared is None or declared.name == check.name, (question, check.name)


def test_a_hand_made_case_passes_on_the_answer_and_fails_on_percent():
    """judge_sparsity_values on a call declared by hand: the fraction passes; the same value in
    percent fails with the hint."""
    plan = Plan("q1", ("get_sparsity",))
    describe = "get_sparsity(tensor of shape (2, 2) with 1 zeros)"
    plan.call("t", "call_function", describe, "get_sparsity", name="get_sparsity",
              args=[torch.tensor([[0.0, 1.0], [2.0, 3.0]])])
    case = [Probed(key="t", describe=describe, expected=0.25)]
    assert verdict(judge_sparsity_values, returned(plan, {"t": 0.25}), case) is None
    assert verdict(judge_sparsity_values, returned(plan, {"t": 25.0}), case) == (
        f"{describe} returned 25, expected 0.25 (a fraction in [0, 1] is asked, not percent)")


def test_a_call_that_raised_fails_with_the_students_error():
    plan = Plan("q1", ("get_sparsity",))
    plan.call("t", "call_function", "get_sparsity(x)", "get_sparsity", name="get_sparsity",
              args=[torch.zeros(3)])
    out = Outputs(plan, {plan.request_id("t"): Outcome(failure=Failure("ValueError", "bad"))})
    case = [Probed(key="t", describe="get_sparsity(x)", expected=1.0)]
    assert verdict(judge_sparsity_values, out, case) == "get_sparsity(x) raised ValueError: bad"


def test_keep_counts_judged_on_a_drawn_plan():
    """q7's keep counts, drawn for one seed: the reference's counts pass; one count off by a
    number no typical mistake gives fails on that call alone."""
    plan = build_plan("q7", Context(seed=SEED, settings=None, resources=None))
    keep = case_of(plan, "num_channels_values")
    answers = {call.key: call.expected for call in keep}
    assert verdict(judge_num_channels_values, returned(plan, answers), keep) is None
    wrong = keep[3]
    message = verdict(judge_num_channels_values,
                      returned(plan, {**answers, wrong.key: wrong.expected + 7}), keep)
    assert message == f"{wrong.describe} returned {wrong.expected + 7}, expected {wrong.expected}"


def test_inverted_mask_is_named_on_a_drawn_plan():
    """q3's tied tensor: the reference's mask passes; its inverse is named as the mask of the
    pruned entries."""
    plan = build_plan("q3", Context(seed=SEED, settings=None, resources=None))
    ties = case_of(plan, "ties_pruned")
    call = ties[0]
    assert verdict(judge_masks_match_contract, returned(plan, {call.key: call.expected}),
                   ties) is None
    assert verdict(judge_masks_match_contract, returned(plan, {call.key: ~call.expected}),
                   ties) == (f"{call.describe} returned the mask of the pruned entries; the "
                             f"keep-mask is True where the entry is kept")


def test_target_sparsity_judged_without_case_data():
    """q4's judge reads only the variable: the reference's value passes, a tensor fails."""
    plan = build_plan("q4", Context(seed=SEED, settings=None, resources=None))

    def read(value) -> Outputs:  # the read_variable probe's record
        return Outputs(plan, {plan.request_id("value"): Outcome(value={"value": value})})

    assert verdict(judge_target_sparsity_value, read(TARGET_SPARSITY)) is None
    assert verdict(judge_target_sparsity_value, read(torch.tensor(TARGET_SPARSITY))) == (
        "target_sparsity is a float32 tensor of shape (); make it a Python float")


def test_add_check_refuses_duplicates_and_later_requirements():
    plan = Plan("qx", ())
    plan.add_check("first", 1, "", judge_target_sparsity_value)
    with pytest.raises(ValueError, match="duplicate check"):
        plan.add_check("first", 1, "", judge_target_sparsity_value)
    with pytest.raises(ValueError, match="requires unknown or later checks"):
        plan.add_check("second", 1, "", judge_target_sparsity_value, requires=("third",))
