"""Coverage never depends on who submits: the mutants that skip one layer, one boundary or one
edge case are graded under three submission ids each (three different per-submission seeds, so
three different input draws) and must get identical scores, losing points on their question
every time. (tests/autograder/test_coverage.py proves the same on the check plans alone.)"""
from __future__ import annotations

import pytest

from tests.graders import harness
from tests.helpers import offline_grading_unready

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
COVERAGE_MUTANTS = ("pruner_skips_classifier", "prune_skips_last_boundary",
                    "keep_count_subtracts_rounded", "fgp_zero_first_entry")
SUBMITTERS = ("alice", "bob", "carol")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    reason = offline_grading_unready()
    if reason:
        pytest.skip(reason)
    cases = [case for case in harness.load_cases("mutant") if case.name in COVERAGE_MUTANTS]
    root = tmp_path_factory.mktemp("coverage-mutants")
    built = harness.build_submissions(root / "built", cases, root / "outside")
    paths = {f"{case.name}--{who}": built[case.id] for case in cases for who in SUBMITTERS}
    return {case.name: case for case in cases}, harness.grade_all(paths, root / "out")


@pytest.mark.parametrize("name", COVERAGE_MUTANTS)
def test_same_scores_under_every_submission_id(name, graded):
    """Three ids, three input draws: the same score on every question, and the mutant's own
    question always below full marks."""
    cases, results = graded
    scores = [results[f"{name}--{who}"].scores for who in SUBMITTERS]
    assert scores[0] == scores[1] == scores[2], scores
    maxima = harness.question_max()
    for question in cases[name].loses:
        assert scores[0][question] < maxima[question], (question, scores[0])
