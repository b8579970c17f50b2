"""Fixtures of the grader-evidence tests: every case graded once per session, in one batch."""
from __future__ import annotations

import pytest

from tests.graders import evidence as evidence_module
from tests.graders import harness
from tests.helpers import offline_grading_unready


def _grading_ready() -> str:
    """Why the real grader cannot run here ("" when it can)."""
    if not harness.MASTER_NOTEBOOK.is_file():
        return "the master notebook is missing"
    return offline_grading_unready()


@pytest.fixture(scope="session")
def evidence(tmp_path_factory) -> evidence_module.Evidence:
    """Every mutant, alternative and attack, plus the solved and blank submissions, graded once
    through the real grader (batch of 2 workers, sandboxes); several minutes."""
    reason = _grading_ready()
    if reason:
        pytest.skip(reason)
    return evidence_module.collect(tmp_path_factory.mktemp("grader-evidence"))
