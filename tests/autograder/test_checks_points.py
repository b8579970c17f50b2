"""The hidden checks agree with the master notebook: point values (read from its
``# BEGIN QUESTION`` cells, the one place they live), the graded question names, the reference
choices (solutions/choices.py) and the exercise data the checks copy (q4's example tensor)."""
from __future__ import annotations

import ast
import json

import pytest
import torch
import yaml

from autograder.checks.points import (FALLBACK_POINTS, GRADED_QUESTIONS, MASTER_NOTEBOOK,
                                      master_points, question_points)
from autograder.checks.q_fine_grained import DEMO_TENSOR, NONZEROS_ASKED
from autograder.submission import ASSIGNMENT_NAME, OTTER_ASSIGNMENT_NAME, load_submission
from solutions import choices

pytestmark = pytest.mark.skipif(not MASTER_NOTEBOOK.is_file(),
                                reason="the master notebook is not there yet")


def master_code_cells() -> list[str]:
    return load_submission(MASTER_NOTEBOOK).cells


def assigned_in_master(name: str):
    """The value the master's solution cell assigns to ``name`` (the cell executed alone)."""
    for cell in master_code_cells():
        tree = ast.parse(cell)
        if any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                    for t in node.targets) for node in tree.body):
            env: dict = {}
            exec(compile(cell, "<master>", "exec"), env)  # noqa: S102 - our own master
            return env[name]
    raise AssertionError(f"the master assigns no {name}")


def test_points_come_from_the_master_and_match_the_fallback():
    """Every graded question has its points in the master; the fallback table (used before the
    master existed) agrees with it, so nothing changes whichever is read."""
    points = master_points()
    assert set(GRADED_QUESTIONS) <= set(points), sorted(points)
    assert {q: points[q] for q in GRADED_QUESTIONS} == {q: float(v)
                                                      for q, v in FALLBACK_POINTS.items()}
    assert question_points() == {q: points[q] for q in GRADED_QUESTIONS}


def test_master_has_no_other_autograded_question():
    """The master's auto-graded questions are exactly q1-q9 (the rest are manual)."""
    assert set(master_points()) == set(GRADED_QUESTIONS)


def test_reference_choices_are_the_masters_answers():
    """solutions/choices.py (what calibration runs) holds the master's solutions to q4, q6, q9."""
    assert assigned_in_master("sparsity_dict") == choices.SPARSITY_DICT
    assert assigned_in_master("target_sparsity") == choices.TARGET_SPARSITY
    assert assigned_in_master("channel_prune_ratio") == choices.CHANNEL_PRUNE_RATIO


def test_q4_example_is_the_masters():
    """q4 judges target_sparsity on the master's own 5x5 example and its "keep 10" request."""
    source = next(c for c in master_code_cells() if c.lstrip().startswith("example = "))
    statement = ast.parse(source).body[0]
    example = eval(compile(ast.Expression(statement.value), "<master>", "eval"), {"torch": torch})
    assert torch.equal(example, DEMO_TENSOR)
    prompt = json.dumps(json.loads(MASTER_NOTEBOOK.read_text())["cells"])
    assert f"exactly {NONZEROS_ASKED}** of" in prompt or f"exactly {NONZEROS_ASKED} of" in prompt


def test_assignment_names_match_the_master():
    """The submission reader prefers notebooks named like the master or carrying its Otter name."""
    assert MASTER_NOTEBOOK.stem == ASSIGNMENT_NAME
    cells = json.loads(MASTER_NOTEBOOK.read_text())["cells"]
    config_cell = next(c for c in cells if "".join(c["source"]).startswith("# ASSIGNMENT CONFIG"))
    config = yaml.safe_load("".join(config_cell["source"]).split("\n", 1)[1])
    assert config["name"] == OTTER_ASSIGNMENT_NAME
