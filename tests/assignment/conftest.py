"""Fixtures of the assignment tests: one build of the lab per test session, into a temporary
folder (the committed ``student_template/`` is only read, never written)."""
from __future__ import annotations

from pathlib import Path

import pytest

from assignment.build import BuildReport, build

from .notebooks import read


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> BuildReport:
    """The lab built from the master with the self-test (assign, normalise, grade the solved
    notebook); ``student_dir`` and ``autograder_dir`` live in a session temporary folder."""
    out = tmp_path_factory.mktemp("build")
    return build(out / "student_template", out / "autograder", run_self_test=True)


@pytest.fixture(scope="session")
def student_nb(built):
    """The generated student notebook."""
    return read(built.student_dir / "pruning_lab.ipynb")


@pytest.fixture(scope="session")
def solved_nb(built):
    """The generated autograder-side notebook: solutions and every test (never shipped)."""
    return read(built.autograder_dir / "pruning_lab.ipynb")


@pytest.fixture
def workspace(tmp_path) -> Path:
    """An empty folder to copy a notebook folder into and run it."""
    return tmp_path / "work"
