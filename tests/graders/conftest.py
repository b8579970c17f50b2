"""Fixtures of the grader-evidence tests: every case graded once per session, in one batch."""
from __future__ import annotations

import pytest

from tests.graders import evidence as evidence_module
from tests.graders import harness


def _grading_ready() -> str:
    """Why the real grader cannot run here ("" when it can)."""
    from autograder.checks.settings import calibration_path

    if not harness.MASTER_NOTEBOOK.is_file():
        return "the master notebook is missing"
    if not calibration_path("offline").is_file():
        return "the offline profile is not calibrated (python -m autograder calibrate)"
    return ""


@pytest.fixture(scope="session")
def evidence(tmp_path_factory) -> evidence_module.Evidence:
    """Every mutant, alternative and attack, plus the solved and blank submissions, graded once
    through the real grader (batch of 2 workers, sandboxes); several minutes."""
    reason = _grading_ready()
    if reason:
        pytest.skip(reason)
    return evidence_module.collect(tmp_path_factory.mktemp("grader-evidence"))
