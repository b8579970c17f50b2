"""The hidden checks agree with the master notebook: the question table (generated from its
``# BEGIN QUESTION`` cells, the one place points are written), the graded question names, the
reference choices (solutions/choices.py) and the exercise data the checks copy (q4's example
tensor)."""
from __future__ import annotations

import ast
import json

import torch
import yaml

from autograder import questions
from autograder.checks import PLAN_BUILDERS
from autograder.checks.points import GRADED_QUESTIONS, question_points
from autograder.checks.q_fine_grained import DEMO_TENSOR, NONZEROS_ASKED
from autograder.core.submission import ASSIGNMENT_NAME, OTTER_ASSIGNMENT_NAME, load_submission
from solutions import choices

MASTER_NOTEBOOK = questions.QUESTIONS_FILE.parents[1] / "assignment" / "pruning_lab.ipynb"


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


def test_question_table_is_the_masters():
    """autograder/questions.json (what every consumer and every zip reads) is what the master's
    question headers and the checks give today (`python -m assignment.build` rewrites it)."""
    from assignment.build import question_table

    assert questions.load() == question_table(MASTER_NOTEBOOK)


def test_graded_questions_are_the_checked_ones():
    """The table's autograded questions are exactly those with hidden checks, in order; every
    other question is graded by hand; the grading core's points are the table's."""
    table = questions.load()
    assert table.graded == GRADED_QUESTIONS == tuple(PLAN_BUILDERS)
    assert all(table[q].checks for q in table.graded)
    assert all(table[q].manual and not table[q].checks for q in table.written)
    assert question_points() == table.points()


def test_bonus_questions_add_nothing_to_the_points_possible():
    """The optional extension (q10, W4) is the only bonus; the points possible are the other
    questions' (autograded and written), the bonus earning on top."""
    table = questions.load()
    assert table.bonus == ("q10", "w4")
    for manual in (False, True):
        regular = {q: p for q, p in table.points(manual).items() if q not in table.bonus}
        assert table.possible(manual) == sum(regular.values()) > 0
        assert sum(table.points(manual).values()) == table.possible(manual) + sum(
            p for q, p in table.points(manual).items() if q in table.bonus)
    assert all("bonus" in table[q].prompt.lower() for q in table.bonus)


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
