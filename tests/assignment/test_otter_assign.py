"""Otter users' habit: `otter assign` run directly on the master (in assignment/) works, because
the folders its ``files:`` and ``autograder_files:`` name are there as links to the kit's."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

ASSIGNMENT = REPO_ROOT / "assignment"


def test_master_folder_links_to_the_kit_packages():
    """assignment/prunekit, autograder and solutions are relative links to the kit's own
    folders (one copy of the code; a fresh clone has them)."""
    for name in ("prunekit", "autograder", "solutions"):
        link = ASSIGNMENT / name
        assert link.is_symlink() and link.readlink().as_posix() == f"../{name}"
        assert link.resolve() == (REPO_ROOT / name).resolve()


@pytest.mark.slow
def test_otter_assign_runs_directly_on_the_master(tmp_path):
    """`otter assign --no-run-tests pruning_lab.ipynb DIR` from assignment/ writes a student
    notebook without solutions or hidden tests and an autograder zip (Otter's own self-test is
    what `python -m assignment.build` replaces: the README says why)."""
    dist = tmp_path / "dist"
    done = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-run-tests",
                           "pruning_lab.ipynb", str(dist)], cwd=ASSIGNMENT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    student = json.loads((dist / "student" / "pruning_lab.ipynb").read_text())
    text = json.dumps(student)
    assert "BEGIN SOLUTION" not in text and "-hidden-" not in text
    assert "grader.check(\\\"q9\\\")" in text
    assert (dist / "student" / "prunekit" / "model.py").is_file()
    assert list((dist / "autograder").glob("pruning_lab-autograder_*.zip"))
