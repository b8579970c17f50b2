"""Tests of the PrairieLearn entry point on a temporary folder with PrairieLearn's external
grader layout (ROOT/student, ROOT/results/results.json)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.frontends import cli, prairielearn
from autograder import questions
from tests.autograder.fakes import QUESTION_MAX, FakeGrader, write_notebooks
from tests.helpers import offline_grading_unready


def _results(root: Path) -> dict:
    """results.json in PrairieLearn's format: gradable, score in [0, 1], message, tests with
    name / points / max_points / output."""
    data = json.loads((root / "results" / "results.json").read_text())
    assert isinstance(data["gradable"], bool) and 0 <= data["score"] <= 1
    assert isinstance(data["message"], str)
    for test in data["tests"]:
        assert {"name", "points", "max_points", "output", "message"} <= set(test)
        assert 0 <= test["points"] <= test["max_points"]
    return data


def test_graded_submission_scores_a_fraction(tmp_path):
    """An Otter export zip in ROOT/student is graded; the score is total / possible and each
    question is a test row."""
    root = tmp_path / "grade"
    (root / "student").mkdir(parents=True)
    with zipfile.ZipFile(root / "student" / "lab.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb", "{}")
    result = prairielearn.run(root, grade_fn=FakeGrader())
    data = _results(root)
    assert data["gradable"] is True and result.status == "graded"
    assert data["score"] == pytest.approx(result.total / sum(QUESTION_MAX.values()), abs=1e-6)
    titles = questions.load().titles()
    assert [t["name"] for t in data["tests"]] == [titles.get(q, q) for q in QUESTION_MAX]


def test_each_student_is_graded_under_their_own_variant(tmp_path):
    """The id that seeds the hidden inputs is the student's variant of the question
    (``variant_seed`` in PrairieLearn's data.json), not the uploaded file's name."""
    ids = {}
    for name, seed in (("alice", 1234567), ("bob", 7654321), ("alice_again", 1234567)):
        root = tmp_path / name
        (root / "student").mkdir(parents=True)
        (root / "data").mkdir()
        (root / "data" / "data.json").write_text(json.dumps(
            {"params": {}, "correct_answers": {}, "submitted_answers": {},
             "variant_seed": seed, "options": {}}))
        with zipfile.ZipFile(root / "student" / "pruning_lab_submission.zip", "w") as archive:
            archive.writestr("pruning_lab.ipynb", "{}")
        ids[name] = prairielearn.run(root, grade_fn=FakeGrader()).submission
    assert ids == {"alice": "pl-1234567", "bob": "pl-7654321", "alice_again": "pl-1234567"}


def test_unreadable_submission_is_not_gradable(tmp_path):
    """Nothing to grade, or several notebooks: gradable false (the attempt does not count),
    score 0, and the message says why."""
    root = tmp_path / "grade"
    (root / "student").mkdir(parents=True)
    prairielearn.run(root, grade_fn=FakeGrader())
    data = _results(root)
    assert data["gradable"] is False and data["score"] == 0 and "no notebook" in data["message"]
    write_notebooks(root / "student", ["a", "b"])
    prairielearn.run(root, grade_fn=FakeGrader())
    assert "several notebooks" in _results(root)["message"]


def test_grader_failure_is_not_gradable(tmp_path):
    """A grader that cannot start still leaves a results.json: gradable false."""
    class Broken(FakeGrader):
        def question_max(self):
            raise RuntimeError("no calibration")

    root = tmp_path / "grade"
    write_notebooks(root / "student", ["pruning_lab"])
    assert prairielearn.run(root, grade_fn=Broken()).status == "error"
    data = _results(root)
    assert data["gradable"] is False and "contact the course staff" in data["message"]


def test_missing_student_folder_is_a_one_line_error(tmp_path, capsys):
    """Without ROOT/student the command says so in one line and exits with 2."""
    assert cli.main(["prairielearn-run", "--root", str(tmp_path)]) == 2
    assert "no student folder" in capsys.readouterr().err


@pytest.mark.slow
def test_zip_as_prairielearn_image(tmp_path):
    """End to end, as a PrairieLearn image runs it: the Gradescope zip unpacked into KIT/source,
    KIT/source/setup.sh run (this environment's Python, nothing downloaded), then
    KIT/source/run_prairielearn on a ROOT with the solved example in ROOT/student: gradable,
    full marks (score 1.0); the blank template: gradable, score below 0.2."""
    reason = offline_grading_unready()
    if reason:
        pytest.skip(reason)
    from autograder.frontends import examples, gradescope

    kit = tmp_path / "kit"
    gradescope.unpack(gradescope.build_zip(tmp_path / "ag.zip", "offline"), kit)
    env = {k: v for k, v in os.environ.items() if k != "PRUNEKIT_PYTHON"}
    setup = subprocess.run(["bash", str(kit / "source" / "setup.sh")], capture_output=True,
                           text=True, timeout=600,
                           env=dict(env, PRUNEKIT_SETUP_PYTHON=sys.executable))
    assert setup.returncode == 0, setup.stderr[-3000:]
    made = {e.name: e for e in examples.make_examples(tmp_path / "examples", "offline")}
    scores = {}
    for name in ("solved", "blank"):
        root = tmp_path / name
        (root / "student").mkdir(parents=True)
        shutil.copy(made[name].zip_path, root / "student" / "export.zip")
        done = subprocess.run(["bash", str(kit / "source" / "run_prairielearn"), "--root",
                               str(root)], capture_output=True, text=True, timeout=900, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        data = _results(root)
        assert data["gradable"] is True
        scores[name] = data["score"]
    assert scores["solved"] == 1.0 and scores["blank"] < 0.2


def test_bonus_points_make_up_for_lost_points_up_to_full_credit():
    """PrairieLearn's score is at most 1: bonus points (the table's q10) make up for points
    lost elsewhere, never lift it past 1; the bonus entry says it is one."""
    from autograder.results import CheckResult, SubmissionResult

    def result(lost: float) -> SubmissionResult:
        return SubmissionResult("pl-1", "graded", question_max={"q1": 4.0, "q10": 2.0},
                                checks=[CheckResult("q1", "a", 4.0 - lost, 4.0, not lost),
                                        CheckResult("q10", "b", 2.0, 2.0, True)])

    assert prairielearn.results_json(result(lost=1.0))["score"] == 1.0
    data = prairielearn.results_json(result(lost=3.0))
    assert data["score"] == 0.75
    titles = questions.load().titles()
    assert [test["name"] for test in data["tests"]] == [titles["q1"], f"{titles['q10']} (bonus)"]
