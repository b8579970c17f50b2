"""Shared fixtures of the kit's tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# One torch (OpenMP) thread per test process, set before anything imports torch and inherited by
# the notebooks, batches and commands the tests start: the xdist workers already keep every core
# busy, and a second thread per process only spins waiting for a core (CI's two cores were 92%
# busy with three workers). Tests that time models pin their own thread count anyway.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real CIFAR-10 arrays that offline machines keep beside the project (never committed).
SHARED_CIFAR10 = REPO_ROOT.parent / "shared" / "data" / "cifar10" / "cifar10.npz"


@pytest.fixture
def shared_cifar10() -> Path:
    """Path of the real CIFAR-10 array file; skips (saying why) where it is absent."""
    if not SHARED_CIFAR10.is_file():
        pytest.skip(f"real CIFAR-10 arrays not found at {SHARED_CIFAR10}; cifar10-profile test skipped")
    return SHARED_CIFAR10


# Parallel runs (pytest-xdist, ``--dist loadgroup``; the README's test command): a session
# fixture is made once per worker, so the tests sharing an expensive one run on one worker (the
# lab's build is shared between workers instead: tests/assignment/conftest.py); so do those that
# look at the whole machine (attack processes and sandbox uids left behind), which another
# worker's gradings would disturb. Every other module is one unit, so that its module fixtures
# are made once too.
SHARED_FIXTURE_GROUPS = {"evidence": "evidence", "demo_run": "demo"}
MACHINE_WIDE_GROUP = "evidence"


def _xdist_group(item: pytest.Item) -> str:
    for fixture, group in SHARED_FIXTURE_GROUPS.items():
        if fixture in item.fixturenames:
            return group
    if item.get_closest_marker("machine_wide"):
        return MACHINE_WIDE_GROUP
    return item.nodeid.split("::", 1)[0]


# The units that take longest, longest first (seconds measured on 2 cores: docs/testing.md's
# section). xdist hands units out in collection order (--no-loadscope-reorder), so these start
# first and the short ones fill in around them; a long unit started last would leave the other
# worker idle at the end.
LONGEST_FIRST = ("evidence", "tests/assignment/test_end_to_end.py",
                 "tests/benchmarks/test_benchmarks.py", "tests/assignment/test_colab.py", "demo",
                 "tests/assignment/test_otter_hidden.py", "tests/assignment/test_public_tests.py",
                 "tests/autograder/test_sandbox.py", "tests/graders/test_coverage_mutants.py",
                 "tests/autograder/test_grade.py", "tests/assignment/test_build.py",
                 "tests/prunekit/test_cli.py")


def _start_rank(group: str) -> int:
    return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test its xdist group and put the longest groups first (see above); without
    xdist only the order changes."""
    groups = {item: _xdist_group(item) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    items.sort(key=lambda item: _start_rank(groups[item]))  # stable: collection order within
