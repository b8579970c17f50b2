"""Fixtures of the assignment tests: one build of the lab per test run, into a temporary
folder (the committed ``student_template/`` is only read, never written)."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from assignment.build import BuildReport, build
from prunekit.files import atomic_path, held_lock

from .notebooks import read


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> BuildReport:
    """The lab built from the master with the self-test (assign, normalise, grade the solved
    notebook); ``student_dir`` and ``autograder_dir`` live in a temporary folder of this test
    run. Built once per run: under pytest-xdist the first worker that needs it builds it in the
    folder every worker of the run shares, under a lock, and the others read what it wrote
    (tests only read the build, copying what they run), so the assignment tests can spread
    over the workers."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, record = shared / "lab-build", shared / "lab-build" / "report.pickle"
    with held_lock(shared / "lab-build.lock"):
        if record.is_file():
            return pickle.loads(record.read_bytes())  # written by this run's other worker
        report = build(out / "student_template", out / "autograder", run_self_test=True)
        with atomic_path(record) as partial:
            partial.write_bytes(pickle.dumps(report))
        return report


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
