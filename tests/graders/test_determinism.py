"""Determinism: the same submissions graded again, on an idle and on a loaded machine, get
identical check results (slow: about 40 s on 2 cores beside the evidence batch)."""
from __future__ import annotations

import pytest

from tests.graders import evidence as ev

# The solved and blank notebooks and two mutants whose checks fail in different ways.
SUBMISSIONS = ("solved", "blank", "mutant-fgp_int_truncation", "mutant-prune_bn_stats_not_sliced")
# With the evidence batch itself: three gradings of each, every one in new grading processes
# (which measure latency afresh: a worker remembers a model's measurements only for its life).
# More idle or loaded runs repeat what these prove: the inputs come from the submission's seed,
# and the one measured quantity is timed in CPU time, which the load does not reach.
IDLE_RUNS, LOADED_RUNS = 1, 1
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_regrading_gives_identical_results_idle_and_loaded(evidence, tmp_path):
    """Each submission graded three times (the evidence batch, one more batch, then one while one
    busy-looping process per core competes for the CPU): every check's points and message and
    the status are identical each time."""
    paths = {sub_id: evidence.root / "submissions" / f"{sub_id}.zip" for sub_id in SUBMISSIONS}
    first = {sub_id: ev.fingerprint(evidence.graded[sub_id]) for sub_id in SUBMISSIONS}
    runs = (ev.regrade(paths, tmp_path, IDLE_RUNS, loaded=False)
            + ev.regrade(paths, tmp_path, LOADED_RUNS, loaded=True))
    for index, run in enumerate(runs, start=2):
        for sub_id in SUBMISSIONS:
            again = ev.fingerprint(run[sub_id])
            assert again == first[sub_id], (
                f"grading {index} of {sub_id} differs: "
                f"{[a for a, b in zip(again, first[sub_id]) if a != b][:3]}")
