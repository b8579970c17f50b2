"""Fixtures of the grader tests: the README's main command, run once per test session."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import offline_grading_unready

# The student process's time limit in the tests' demo: long enough for every honest example on a
# loaded 2-core machine (the solved one needs about 3 s), short enough that the infinite loop's
# wait is not the demo's longest step (the command's default, 90 s, is what a course uses).
DEMO_TIMEOUT_S = 30


@dataclass(frozen=True)
class DemoRun:
    """One run of ``python -m autograder demo``: the command, its outcome, its output folder."""
    command: tuple[str, ...]
    done: subprocess.CompletedProcess
    out: Path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """``python -m autograder demo`` (examples made in runs/examples, graded with the real grader
    into a temporary folder), run once for every test that reads what it graded."""
    reason = offline_grading_unready()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("demo") / "demo"
    command = (sys.executable, "-m", "autograder", "demo", "--out", str(out), "--quiet",
               "--timeout", str(DEMO_TIMEOUT_S))
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    return DemoRun(command, done, out)
