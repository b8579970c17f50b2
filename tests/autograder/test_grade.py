"""Tests of the grading core (autograder/core/grade.py): whole submissions through the sandbox.

Submissions are made from the master notebook (the solved lab) and the student template (the
blank lab). Each distinct submission is graded once per module (fixtures). Grading a submission
with the reference model files needs them fine-tuned once (cached in .cache/; minutes on a fresh
machine): those tests are marked slow.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.checks.points import question_points
from autograder.core.grade import GradingConfig, grade_submission, submission_seed
from tests.helpers import code_questions

REPO_ROOT = Path(__file__).resolve().parents[2]
MASTER = REPO_ROOT / "assignment" / "pruning_lab.ipynb"
TEMPLATE = REPO_ROOT / "student_template" / "pruning_lab.ipynb"
CODE_QUESTIONS = code_questions()
pytestmark = [pytest.mark.timeout(900),
              pytest.mark.skipif(not MASTER.is_file() or not TEMPLATE.is_file(),
                                 reason="the master notebook or the student template is missing")]


@pytest.fixture(scope="module")
def config() -> GradingConfig:
    return GradingConfig.for_profile("offline")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grading")


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def write_zip(path: Path, notebook: dict, files: dict[str, Path] | None = None) -> Path:
    """An Otter-style export zip: the notebook and the model files."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pruning_lab.ipynb", json.dumps(notebook))
        for name, source in (files or {}).items():
            archive.write(source, name)
    return path


def with_cell(notebook: dict, source: str) -> dict:
    """A copy of ``notebook`` with a code cell appended."""
    changed = copy.deepcopy(notebook)
    changed["cells"].append({"cell_type": "code", "source": source, "metadata": {},
                             "outputs": [], "execution_count": None})
    return changed


def edit_cell(notebook: dict, marker: str, old: str, new: str) -> dict:
    """A copy of ``notebook`` whose first code cell containing ``marker`` has ``old`` -> ``new``."""
    changed = copy.deepcopy(notebook)
    for cell in changed["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and marker in source:
            cell["source"] = source.replace(old, new, 1)
            return changed
    raise AssertionError(f"no code cell with {marker!r}")


def by_check(result) -> dict:
    return {(c.question, c.name): c for c in result.checks}


# --- the solved lab without model files (fast) ---------------------------------------------------

@pytest.fixture(scope="module")
def solved_no_files(config, workdir):
    """The master notebook alone (no model files), graded twice."""
    path = workdir / "solved.ipynb"
    path.write_text(MASTER.read_text())
    return [grade_submission(path, config, workdir / f"w{i}") for i in range(2)]


def test_solved_notebook_gets_full_marks_on_code_questions(solved_no_files):
    """Through the sandbox, the solved lab gets full marks on every code question; without
    model files q6 / q9 lose exactly their file checks, saying the files are missing."""
    result = solved_no_files[0]
    assert result.status == "graded", result.reason
    scores, points = result.question_scores, question_points()
    for question in CODE_QUESTIONS:
        assert scores[question] == pytest.approx(points[question]), \
            [(c.name, c.message) for c in result.checks if c.question == question and not c.passed]
    file_checks = [c for c in result.checks if c.question in ("q6", "q9") and not c.passed]
    assert file_checks and all(".pt is missing" in c.message for c in file_checks)
    assert all(c.passed for c in result.checks if c.name in ("sparsity_dict_valid",
                                                             "size_within_limit",
                                                             "channel_prune_ratio_valid"))


def test_regrading_gives_identical_scores(solved_no_files, config):
    """The same submission graded twice: same seed, same checks, same scores and messages."""
    first, second = solved_no_files
    assert first.seed == second.seed == submission_seed(config.settings.salt, "solved")
    assert [(c.name, c.points, c.message) for c in first.checks] == \
           [(c.name, c.points, c.message) for c in second.checks]


def test_result_records_timings_and_memory(solved_no_files):
    """Timings per stage (seconds) and peak memory of both processes are recorded; the student
    process's own parts of the sandbox stage fit inside it."""
    result = solved_no_files[0]
    assert {"load", "sandbox", "checks", "total"} <= set(result.timings_s)
    parts = [result.timings_s[f"sandbox_{stage}"] for stage in ("startup", "cells", "probes")]
    assert sum(parts) <= result.timings_s["sandbox"] <= result.timings_s["total"]
    assert result.memory_bytes["student"] > 0 and result.memory_bytes["grader"] > 0
    assert result.peak_memory_bytes == sum(result.memory_bytes.values())


# --- the blank template ---------------------------------------------------------------------------

def test_blank_template_gets_zero_everywhere(config, workdir):
    """The student template as distributed: every question 0, every check with a reason."""
    result = grade_submission(TEMPLATE, config, workdir / "blank")
    assert result.status == "graded" and result.total == 0.0
    assert set(result.question_scores) == set(question_points())
    assert all(c.message and not c.passed for c in result.checks)


# --- broken submissions ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def broken(config, workdir):
    """One notebook with several independent faults: a syntax error in the cell defining
    fine_grained_prune, get_sparsity returning NaN, get_model_size deleted, target_sparsity a
    string, and a cell calling sys.exit()."""
    notebook = read_notebook(MASTER)
    notebook = edit_cell(notebook, "def fine_grained_prune(", "def fine_grained_prune(",
                         "def fine_grained_prune(:")
    notebook = with_cell(notebook, "def get_sparsity(tensor):\n    return float('nan')\n")
    notebook = with_cell(notebook, "del get_model_size\n")
    notebook = with_cell(notebook, "target_sparsity = 'sixty percent'\n")
    notebook = with_cell(notebook, "import sys\nsys.exit(3)\n")
    return grade_submission(write_zip(workdir / "broken.zip", notebook), config,
                            workdir / "broken")


def test_broken_submission_reasons(broken):
    """Each fault costs its checks with the right reason; the rest is graded as usual."""
    checks = by_check(broken)
    assert broken.status == "graded"
    syntax = checks[("q3", "mask_exact_tie_free")].message
    assert "fine_grained_prune is not defined" in syntax and "SyntaxError" in syntax
    assert "def fine_grained_prune" in syntax  # names the failing cell by its first line
    assert "returned nan" in checks[("q1", "get_sparsity_values")].message
    assert checks[("q1", "get_model_sparsity_values")].passed
    assert checks[("q2", "model_size_bits")].message.startswith("get_model_size is not defined")
    assert checks[("q2", "num_parameters_all")].passed
    assert "not a number" in checks[("q4", "target_sparsity_value")].message
    assert broken.question_scores["q7"] == pytest.approx(question_points()["q7"])
    assert any("sys.exit(3)" in note for note in broken.notes)
    assert "graded notebook: pruning_lab.ipynb" in broken.notes  # the record names it


def test_unreadable_notebook_and_corrupt_zip(config, workdir):
    """A notebook that is not JSON and a corrupt zip are "unreadable": every question 0, the
    reason says what is wrong, no sandbox is started."""
    bad = workdir / "bad.ipynb"
    bad.write_text('{"cells": [')
    corrupt = workdir / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    for path, needle in ((bad, "not valid JSON"), (corrupt, "zip is corrupt")):
        result = grade_submission(path, config, workdir / "unreadable")
        assert result.status == "unreadable" and needle in result.reason
        assert result.total == 0.0 and set(result.question_scores) == set(question_points())
        assert "sandbox" not in result.timings_s


def test_a_late_infinite_loop_keeps_every_code_question(config, workdir):
    """A notebook that loops forever at the end: the loop's cell is stopped at its share of the
    time limit and named in the feedback; the probes run and every code check passes."""
    notebook = with_cell(read_notebook(MASTER), "import time\nwhile True:\n    time.sleep(0.1)\n")
    short = replace(config, limits=replace(config.limits, wall_seconds=20, cpu_seconds=20))
    result = grade_submission(write_zip(workdir / "late.zip", notebook), short, workdir / "late")
    assert result.status == "graded", result.reason
    code_checks = [c for c in result.checks if c.question in CODE_QUESTIONS]
    assert code_checks and all(c.passed for c in code_checks), \
        [c for c in code_checks if not c.passed]
    assert "the cell starting 'import time'" in result.reason
    assert "its share of the time limit" in result.reason


def test_timeout_costs_the_questions_whose_probes_did_not_come_back(config, workdir):
    """A notebook that loops forever at the end and ignores the cell's stop (SIGALRM): status
    timeout, every check 0 with the sandbox's reason (the probes never ran)."""
    notebook = with_cell(read_notebook(MASTER), "import signal\n"
                         "signal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n")
    short = replace(config, limits=replace(config.limits, wall_seconds=10, cpu_seconds=10))
    result = grade_submission(write_zip(workdir / "loop.zip", notebook), short, workdir / "loop")
    assert result.status == "timeout" and "wall-time limit" in result.reason
    assert "the cell starting 'import signal'" in result.reason
    code_checks = [c for c in result.checks if c.question in CODE_QUESTIONS]
    assert code_checks and all(not c.passed and "no result came back" in c.message
                               for c in code_checks)


def test_process_exit_is_crashed(config, workdir):
    """os._exit() in a cell ends the student process: status crashed, the reason says so."""
    notebook = with_cell(read_notebook(MASTER), "import os\nos._exit(7)\n")
    result = grade_submission(write_zip(workdir / "exit.zip", notebook), config, workdir / "exit")
    assert result.status == "crashed" and "code 7" in result.reason
    assert result.question_scores["q1"] == 0.0


def test_grader_error_is_reported_not_raised(config, workdir):
    """A broken grading set-up (thresholds missing) gives status "error" with the reason; the
    questions that could be built are still judged."""
    settings = replace(config.settings, thresholds={})
    result = grade_submission(TEMPLATE, replace(config, settings=settings), workdir / "err")
    assert result.status == "error" and "grader error" in result.reason
    assert any(c.name == "grader_error" for c in result.checks)
    assert any(c.question == "q1" and c.name == "get_sparsity_values" for c in result.checks)


def test_each_worker_gets_its_own_uid(config):
    """Sandboxes of parallel workers run as different unprivileged users, the same one for a
    worker on every call; as root the uids are leased, so another grader process on the
    machine gets others while this one holds them."""
    uids = [config.isolation_for(index).uid for index in range(4)]
    assert len(set(uids)) == 4 and all(0 < uid < 65534 for uid in uids)
    assert [config.isolation_for(index).uid for index in range(4)] == uids
    if os.geteuid() != 0:
        return
    other = subprocess.run(
        [sys.executable, "-c", "from autograder.sandbox.uids import lease_uid; "
         "print([lease_uid(i) for i in range(4)])"],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert not set(uids) & set(json.loads(other.stdout))


# --- the solved lab with the reference model files (slow the first time) -------------------------

@pytest.fixture(scope="module")
def reference_files():
    from autograder.core.references import reference_model_files

    return reference_model_files("offline")


@pytest.mark.slow
def test_solved_export_gets_full_marks(config, workdir, reference_files):
    """The solved notebook with the reference model files, as an export zip: full marks on
    every question, q6 and q9 included (accuracy on the hidden split, MACs, speedup)."""
    path = write_zip(workdir / "reference.zip", read_notebook(MASTER), reference_files)
    result = grade_submission(path, config, workdir / "reference")
    assert result.status == "graded", result.reason
    failed = [(c.question, c.name, c.message) for c in result.checks if not c.passed]
    assert not failed
    assert result.total == pytest.approx(sum(question_points().values()))
    assert result.metrics["finegrained_accuracy"] >= config.settings.thresholds[
        "finegrained_accuracy"]
    assert {"accuracy", "latency"} <= set(result.timings_s)


@pytest.mark.slow
def test_dense_model_as_channel_pruned_fails_q9_only(config, workdir, reference_files):
    """Submitting the dense base model as channel_pruned.pt: q9's MACs and speedup checks fail
    with their reasons; q6 and the rest keep full marks."""
    from autograder.manifest import base_checkpoint_path
    from prunekit.checkpoint import load_checkpoint
    from prunekit.profiles import get_profile
    from prunekit.submission import save_model

    dense, _ = load_checkpoint(base_checkpoint_path("offline"), get_profile("offline"))
    dense_file = save_model(dense, workdir / "dense.pt")
    files = dict(reference_files, **{"channel_pruned.pt": dense_file})
    path = write_zip(workdir / "dense.zip", read_notebook(MASTER), files)
    result = grade_submission(path, config, workdir / "dense")
    checks = by_check(result)
    assert not checks[("q9", "channel_pruned_macs")].passed
    assert "100.0% of the dense model's" in checks[("q9", "channel_pruned_macs")].message
    assert not checks[("q9", "channel_pruned_speedup")].passed
    assert checks[("q9", "channel_pruned_accuracy")].passed
    assert result.question_scores["q6"] == pytest.approx(question_points()["q6"])
