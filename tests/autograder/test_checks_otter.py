"""The Otter bridge (autograder/checks/otter_bridge.py): the same checks run in-process on a
notebook's globals, as a hidden Otter test cell does, with the same verdicts as the kit's
grader on honest code."""
from __future__ import annotations

import ast
import random
import textwrap

import pytest
import torch

from autograder.checks.otter_bridge import assert_check, run_question_inprocess
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
    """assert_check raises AssertionError carrying the check's message."""
    env = namespace([BLANK_CELL])
    with pytest.raises(AssertionError, match="NotImplementedError"):
        assert_check("q3", "returns_bool_mask", env)


def test_student_random_state_is_left_alone(reference_env):
    """Running the probes seeds the global generators for them, then restores the student's."""
    random.seed(1)
    torch.manual_seed(1)
    expected = (random.random(), torch.rand(1))
    random.seed(1)
    torch.manual_seed(1)
    run_question_inprocess("q1", reference_env, profile="offline")
    assert (random.random(), torch.rand(1)) == expected


@pytest.mark.slow
def test_model_questions_in_process(reference_env):
    """q6 and q9 on the Otter path: the model files are read from the submission folder and pass
    on the reference models (accuracy, size, MACs, speedup)."""
    from autograder.core.references import reference_model_files

    folder = reference_model_files("offline")["finegrained.pt"].parent
    for question in ("q6", "q9"):
        results = run_question_inprocess(question, reference_env, files_dir=folder,
                                         profile="offline")
        assert all(r.passed for r in results), [(r.name, r.message) for r in results]


# --- one hidden Otter case per check (what the master's hidden cells call) ------------------

def run_check_cells(question: str, env: dict) -> dict[str, bool]:
    """Exec the generated hidden cells of ``question`` and call each as Otter does, in order:
    check name -> passed."""
    from autograder.checks.otter_bridge import hidden_check_cells

    passed = {}
    for source in hidden_check_cells()[question]:
        scope: dict = {}
        exec(source, scope)  # noqa: S102 - our own generated source
        name = next(k for k in scope if k.startswith("test_"))
        try:
            scope[name](env=env)
            passed[name.removeprefix(f"test_{question}_")] = True
        except AssertionError:
            passed[name.removeprefix(f"test_{question}_")] = False
    return passed


def test_check_cells_cover_the_question_with_its_points():
    """One cell per check of each question, in plan order, with TEST CONFIG ``hidden: true`` and
    the check's exact share: the shares add up to the question's points."""
    import yaml

    from autograder.checks.otter_bridge import check_names_and_shares, hidden_check_cells

    cells = hidden_check_cells()
    assert set(cells) == set(question_points())
    for question, sources in cells.items():
        checks = check_names_and_shares(question)
        assert len(sources) == len(checks)
        points = [yaml.safe_load(s.split('"""')[1].split("\n", 1)[1])["points"] for s in sources]
        assert points == [share for _, share in checks]
        assert sum(points) == question_points()[question]
        for source, (name, _) in zip(sources, checks):
            tree = ast.parse(source)
            assert [a.arg for a in tree.body[1].args.args] == ["env"]
            assert f"assert_check({question!r}, {name!r}, env)" in source


def test_check_cells_give_the_per_check_verdicts(reference_env):
    """The per-check cells pass exactly where the question's checks pass: all on the reference;
    on the ``>=`` bug of fine_grained_prune some q3 checks fail and the others pass; none on the
    blank template, with the check's message."""

    env = dict(reference_env, PROFILE=type("P", (), {"name": "offline"})())
    assert all(run_check_cells("q3", env).values())
    from .test_checks import MUTANTS

    bug = namespace(reference_cells() + [textwrap.dedent(MUTANTS["fgp_greater_equal"][1])])
    bug["PROFILE"] = env["PROFILE"]
    verdicts = run_check_cells("q3", bug)
    expected = {r.name: r.passed for r in run_question_inprocess("q3", bug, profile="offline")}
    assert verdicts == expected and not all(verdicts.values()) and any(verdicts.values())
    blank = namespace([BLANK_CELL])
    assert not any(run_check_cells("q3", blank).values())
    with pytest.raises(AssertionError, match="NotImplementedError"):
        assert_check("q3", "returns_bool_mask", blank)


def test_check_cells_rerun_when_the_notebook_changes(reference_env):
    """Later checks reuse the first check's run only while the notebook's names are the same
    objects: a redefinition in between is graded afresh."""
    env = dict(reference_env, PROFILE=type("P", (), {"name": "offline"})())
    assert all(run_check_cells("q1", env).values())

    env["get_model_sparsity"] = lambda model: 0.5
    with pytest.raises(AssertionError):
        assert_check("q1", "get_model_sparsity_values", env)
