"""The Otter bridge (autograder/checks/otter_bridge.py): the same checks run in-process on a
notebook's globals, as a hidden Otter test cell does, with the same verdicts as the kit's
grader on honest code."""
from __future__ import annotations

import ast
import random

import pytest
import torch

from autograder.checks.otter_bridge import (assert_question, hidden_test_cell, hidden_test_cells,
                                            run_question_inprocess)
from autograder.checks.points import question_points

from .test_checks import BLANK_CELL, namespace, reference_cells


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference_env():
    return namespace(reference_cells())


@pytest.mark.parametrize("question", ["q1", "q3", "q4", "q5", "q7", "q8"])
def test_reference_passes_in_process(reference_env, question):
    """Every check passes on the reference namespace; points add up to the master's value."""
    results = run_question_inprocess(question, reference_env, profile="offline")
    assert all(r.passed for r in results), [(r.name, r.message) for r in results if not r.passed]
    assert sum(r.points for r in results) == pytest.approx(question_points()[question])


def test_blank_fails_with_the_feedback():
    """assert_question raises AssertionError carrying the checks' messages."""
    env = namespace([BLANK_CELL])
    with pytest.raises(AssertionError, match="NotImplementedError"):
        assert_question("q3", env)


def test_student_random_state_is_left_alone(reference_env):
    """Running the probes seeds the global generators for them, then restores the student's."""
    random.seed(1)
    torch.manual_seed(1)
    expected = (random.random(), torch.rand(1))
    random.seed(1)
    torch.manual_seed(1)
    run_question_inprocess("q1", reference_env, profile="offline")
    assert (random.random(), torch.rand(1)) == expected


def test_hidden_test_cells_are_valid_otter_tests(reference_env):
    """Each hidden cell is what Otter accepts (a first line marking it hidden, one function
    definition taking ``env``) and, called as Otter calls it, passes on the reference."""
    cells = hidden_test_cells()
    assert set(cells) == set(question_points())
    for question, source in cells.items():
        assert source.splitlines()[0] == "# HIDDEN"
        tree = ast.parse(source)
        assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef)
        assert [a.arg for a in tree.body[0].args.args] == ["env"]
    env = dict(reference_env, PROFILE=type("P", (), {"name": "offline"})())
    scope: dict = {}
    exec(cells["q3"], scope)  # noqa: S102 - our own generated source
    scope["test_q3_hidden"](env=env)
    configured = hidden_test_cell("q3", points=2)
    assert "hidden: true" in configured and "points: 2" in configured


@pytest.mark.slow
def test_model_questions_in_process(reference_env):
    """q6 and q9 on the Otter path: the model files are read from the submission folder and pass
    on the reference models (accuracy, size, MACs, speedup)."""
    from autograder.calibrate import reference_model_files

    folder = reference_model_files("offline")["finegrained.pt"].parent
    for question in ("q6", "q9"):
        results = run_question_inprocess(question, reference_env, files_dir=folder,
                                         profile="offline")
        assert all(r.passed for r in results), [(r.name, r.message) for r in results]
