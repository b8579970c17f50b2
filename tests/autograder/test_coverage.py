"""Every grading covers the same ground: inputs are drawn at random per submission, but which
functions, layers, weights, boundaries, shapes and edge cases a question's checks exercise is
the same for every submission id (a bug in a layer is caught whoever submits it).

The plans of every question are built for 20 submission seeds and reduced to their structure:
the probe calls (probe, function, and the shape of every argument: dict keys, list lengths,
tensor shapes, which parameters a sparsity_dict lists) and the checks (names, weights). Numbers
and tensor values may differ; the structure must not.
"""
from __future__ import annotations

import pytest
import torch

from autograder.checks import GRADED_QUESTIONS, build_plan
from autograder.checks.base import Context
from autograder.checks.settings import NotCalibrated, load_settings
from autograder.core.grade import submission_seed

SUBMISSION_IDS = [f"student-{index:02d}" for index in range(20)]


def structure(value):
    """What a probe argument covers, without its values."""
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype), tuple(value.shape))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), structure(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(structure(v) for v in value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def coverage(plan) -> tuple:
    calls = tuple((call.key, call.probe, call.function, structure(dict(call.kwargs)))
                  for call in plan.calls.values())
    checks = tuple((check.name, check.weight, check.requires) for check in plan.checks)
    return calls, checks


@pytest.fixture(scope="module")
def settings():
    try:
        return load_settings("offline")
    except NotCalibrated as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def resources(settings):
    from autograder.core.grade import _resources

    return _resources(settings)


@pytest.mark.parametrize("question", GRADED_QUESTIONS)
def test_coverage_is_the_same_for_every_submission(question, settings, resources):
    """The question's plan has the same calls, argument structure and checks for 20 ids."""
    seen = {}
    for sub_id in SUBMISSION_IDS:
        seed = submission_seed(settings.salt, sub_id)
        plan = build_plan(question, Context(seed=seed, settings=settings, resources=resources))
        seen.setdefault(coverage(plan), []).append(sub_id)
    assert len(seen) == 1, f"{question}: {len(seen)} different coverages, e.g. for " \
                           f"{[ids[0] for ids in seen.values()]}"


def test_values_do_differ_between_submissions(settings, resources):
    """The inputs themselves are drawn per submission (so copying another student's printed
    results does not help)."""
    def first_tensor(sub_id):
        seed = submission_seed(settings.salt, sub_id)
        plan = build_plan("q3", Context(seed=seed, settings=settings, resources=resources))
        return next(iter(plan.calls.values())).kwargs["args"][0]

    assert not torch.equal(first_tensor("student-00"), first_tensor("student-01"))


def test_fine_grained_pruner_is_judged_on_every_prunable_weight(settings, resources):
    """q5's sparsity_dict lists every conv weight and the classifier weight of its VGG."""
    from autograder.checks.inputs import prunable_names

    plan = build_plan("q5", Context(seed=1, settings=settings, resources=resources))
    kwargs = plan.calls["scenario"].kwargs
    assert set(kwargs["sparsity_dict"]) == set(prunable_names(kwargs["state_dict"]))
