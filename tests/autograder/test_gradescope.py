"""Tests of the Gradescope autograder zip and its entry point, on a temporary folder with
Gradescope's layout (ROOT/source, ROOT/submission, ROOT/results)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import gradescope
from tests.autograder.fakes import QUESTION_MAX, FakeGrader, write_notebooks
from tests.helpers import offline_grading_unready


@pytest.fixture
def kit_zip(tmp_path) -> Path:
    """An autograder zip built with a stand-in checkpoint and calibration (the real ones are
    the core's business; the slow test below uses them)."""
    checkpoint = tmp_path / "vgg-offline.pt"
    checkpoint.write_bytes(b"checkpoint")
    calibration = tmp_path / "offline.json"
    calibration.write_text('{"profile": "offline"}')
    return gradescope.build_zip(tmp_path / "ag.zip", "offline", checkpoint, calibration)


def _assert_valid_results(path: Path) -> dict:
    """results.json in Gradescope's format: score, tests with name/score/max_score/output/
    visibility."""
    results = json.loads(path.read_text())
    assert isinstance(results["score"], (int, float))
    assert results["stdout_visibility"] in ("hidden", "visible", "after_due_date",
                                            "after_published")
    assert results["tests"], results
    for test in results["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(test)
        assert 0 <= test["score"] <= test["max_score"]
    return results


def test_zip_contents(kit_zip):
    """The zip holds setup.sh and run_autograder (executable), the grader's requirements (not
    the kit's: no Jupyter, Otter or pytest), the config, prunekit/, autograder/ with its
    checks, solutions/, the base checkpoint and the calibration; no caches, no tests, no master
    notebook."""
    with zipfile.ZipFile(kit_zip) as archive:
        names = set(archive.namelist())
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
        run_autograder = archive.read("run_autograder").decode()
        setup = archive.read("setup.sh").decode()
    for name in ("setup.sh", "run_autograder", "requirements-grader.txt", "gradescope_config.json",
                 "prunekit/model.py", "autograder/__main__.py", "autograder/gradescope.py",
                 "autograder/sandbox/run.py", "solutions/channel.py", "checkpoints/vgg-offline.pt"):
        assert name in names, name
    assert any(name.startswith("autograder/checks/") for name in names)
    assert any(name.endswith("calibration/offline.json") for name in names)
    assert not any("__pycache__" in name or name.startswith(("tests/", "assignment/"))
                   for name in names)
    assert modes["run_autograder"] == 0o755 and modes["setup.sh"] == 0o755
    assert "-m autograder gradescope-run --root" in run_autograder
    assert "requirements.txt" not in names and "-r requirements-grader.txt" in setup
    assert f"uv venv --python {gradescope.GRADER_PYTHON}" in setup
    assert f"--index-url {gradescope.TORCH_CPU_INDEX}" in setup


def test_zip_is_reproducible(tmp_path, kit_zip):
    """Building twice gives the same bytes (sorted entries, fixed dates)."""
    again = gradescope.build_zip(tmp_path / "again.zip", "offline", tmp_path / "vgg-offline.pt",
                                 tmp_path / "offline.json")
    assert again.read_bytes() == kit_zip.read_bytes()


def test_zip_needs_checkpoint_and_calibration(tmp_path):
    """A missing checkpoint or calibration is a clear error naming the command that makes it."""
    with pytest.raises(gradescope.GradescopeError, match="train-base"):
        gradescope.build_zip(tmp_path / "a.zip", "offline", tmp_path / "none.pt",
                             tmp_path / "none.json")
    (tmp_path / "c.pt").write_bytes(b"x")
    with pytest.raises(gradescope.GradescopeError, match="calibrate"):
        gradescope.build_zip(tmp_path / "a.zip", "offline", tmp_path / "c.pt",
                             tmp_path / "none.json")


def test_entry_point_on_gradescope_layout(tmp_path, kit_zip):
    """Unpack the zip into ROOT/source, put an exported zip into ROOT/submission, run the entry
    point (with a fake grader): ROOT/results/results.json is valid and scored."""
    root = tmp_path / "autograder"
    gradescope.unpack(kit_zip, root)
    assert (root / "run_autograder").is_file() and (root / "source" / "setup.sh").is_file()
    with zipfile.ZipFile(root / "submission" / "lab_2024.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb", "{}")
    result = gradescope.run(root, grade_fn=FakeGrader())
    results = _assert_valid_results(root / "results" / "results.json")
    assert result.status == "graded" and results["score"] == result.total
    assert [t["name"] for t in results["tests"]] == list(QUESTION_MAX)


def test_entry_point_notebook_folder_and_problems(tmp_path):
    """A submission folder with a notebook (and model files) is graded as that folder; one with
    nothing to grade, or two notebooks, gets a zero with the reason, and still a results.json."""
    root = tmp_path / "root"
    write_notebooks(root / "submission", ["pruning_lab"])
    (root / "submission" / "finegrained.pt").write_bytes(b"x")
    found = gradescope.find_submission(root / "submission")
    assert found.path == root / "submission" and not found.problem
    assert gradescope.run(root, grade_fn=FakeGrader()).status == "graded"
    write_notebooks(root / "submission", ["second"])
    result = gradescope.run(root, grade_fn=FakeGrader())
    assert result.status == "unreadable" and "several notebooks" in result.reason
    data = _assert_valid_results(root / "results" / "results.json")
    assert data["score"] == 0 and "several notebooks" in data["output"]
    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    assert "no notebook" in gradescope.run(root, grade_fn=FakeGrader()).reason


def test_entry_point_writes_results_when_the_grader_fails(tmp_path):
    """Even when the grader cannot start, results.json is written (score 0, contact staff)."""
    class Broken(FakeGrader):
        def question_max(self):
            raise RuntimeError("no calibration")

    root = tmp_path / "root"
    write_notebooks(root / "submission", ["pruning_lab"])
    result = gradescope.run(root, grade_fn=Broken())
    data = json.loads((root / "results" / "results.json").read_text())
    assert result.status == "error" and data["score"] == 0
    assert "contact the course staff" in data["output"]


@pytest.mark.slow
def test_real_zip_runs_on_gradescope_layout(tmp_path):
    """End to end: build the real zip, unpack it into a temporary ROOT, put the solved example
    submission in ROOT/submission and run ROOT/run_autograder in a subprocess (with this
    environment's Python): results.json is valid and the reference earns full marks."""
    reason = offline_grading_unready()
    if reason:
        pytest.skip(reason)
    from autograder import examples

    zip_path = gradescope.build_zip(tmp_path / "ag.zip", "offline")
    root = tmp_path / "autograder"
    gradescope.unpack(zip_path, root)
    made = {e.name: e for e in examples.make_examples(tmp_path / "examples", "offline")}
    shutil.copy(made["solved"].zip_path, root / "submission" / "pruning_lab_export.zip")
    env = dict(os.environ, PRUNEKIT_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = _assert_valid_results(root / "results" / "results.json")
    possible = sum(test["max_score"] for test in results["tests"])
    assert results["score"] == possible > 0, results
