"""The graders proven on realistic submissions (slow: one batch grades every case, ~8 minutes on
2 cores; the session fixture ``evidence`` in conftest.py).

- each mutant loses points on the question(s) its file names, keeps full marks elsewhere, and
  the feedback names the property that failed;
- each valid alternative gets full marks;
- each attack gains nothing over its honest part, leaks nothing, changes nothing outside the
  output folder, and the batch completes;
- the committed report (docs/grader_evidence.md) matches this run.
"""
from __future__ import annotations

import pytest

from tests.graders import evidence as ev
from tests.graders import harness, report

CASES = harness.load_cases()
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _ids(kind):
    return [case.name for case in CASES if case.kind == kind]


def _assert_ok(name: str, evidence) -> None:
    found = ev.problems(evidence.case(name), evidence)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", _ids("mutant"))
def test_mutant_loses_points_where_declared(name, evidence):
    """The mutant loses points on its question(s) only, and the feedback says why."""
    _assert_ok(name, evidence)


@pytest.mark.parametrize("name", _ids("alternative"))
def test_alternative_gets_full_marks(name, evidence):
    """A valid alternative implementation gets every point."""
    _assert_ok(name, evidence)


@pytest.mark.parametrize("name", _ids("attack"))
def test_attack_gains_nothing(name, evidence):
    """The attack scores no more than its honest part on any question, ends with an allowed
    status, leaks nothing and creates nothing outside the sandbox."""
    _assert_ok(name, evidence)


def test_solved_gets_full_marks_and_blank_zero(evidence):
    """The two anchors of every comparison: the solved notebook with the reference models gets
    every point, the blank template none."""
    solved, blank = evidence.graded["solved"], evidence.graded["blank"]
    assert solved.result.status == "graded" and not solved.failed(), solved.feedback
    assert solved.result.total == pytest.approx(sum(evidence.maxima.values()))
    assert blank.result.total == 0.0


def test_passed_model_checks_state_their_measurements(evidence):
    """The solved submission's feedback states what each model check measured (accuracy on the
    hidden split, size, MACs, speedup) beside the pass, not only the check's name."""
    solved = evidence.graded["solved"]
    measured = {check.name: check.measured for check in solved.result.checks if check.measured}
    assert set(measured) == {"size_within_limit", "finegrained_size", "finegrained_accuracy",
                             "channel_pruned_accuracy", "channel_pruned_macs",
                             "channel_pruned_speedup"}
    assert "% on the hidden test split (at least " in measured["finegrained_accuracy"]
    assert f"+ channel_pruned_speedup: {measured['channel_pruned_speedup']}" in solved.feedback


def test_batch_completes_with_a_row_for_everything(evidence):
    """Every submission got a result, none a grader error, and the batch wrote its reports."""
    expected = {"solved", "blank", *(case.id for case in CASES)}
    assert set(evidence.graded) == expected
    errors = {k: g.result.reason for k, g in evidence.graded.items()
              if g.result.status == "error"}
    assert not errors
    out = evidence.root / "out"
    assert (out / "gradebook.csv").is_file()
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert len(rows) == len(expected) + 1


def test_nothing_outside_the_output_folder_changed(evidence):
    """The marker folder the attacks aim at, the submissions and the kit's own code, reference
    and checkpoints are unchanged, and no attack created a file anywhere it aimed."""
    assert not evidence.changed_outside
    assert not evidence.markers


def test_no_attack_process_survives(evidence):
    """Fork bombs and detached background processes die with their sandbox."""
    assert not evidence.leftovers


def test_nothing_of_the_sandbox_uids_is_left_on_the_host(evidence):
    """After the batch the sandbox uids own no System V IPC object, no file in /tmp, /var/tmp or
    /dev/shm and no process: nothing a later submission could find."""
    assert not evidence.host_leftovers


def test_no_sandbox_reached_the_graders_loopback_socket(evidence):
    """The socket the evidence run listens on at 127.0.0.1 got no connection from any
    sandbox (the network attack aims at it)."""
    assert evidence.loopback_visits == 0


def test_no_feedback_leaks_hidden_source(evidence):
    """No submission's feedback or results.json (mutants and alternatives included) contains a
    line of the hidden checks or the reference solutions, the salt or the hidden split's seed."""
    leaks = {sub_id: harness.leaked((g.feedback, g.results_json), evidence.secrets)
             for sub_id, g in evidence.graded.items()}
    assert not {k: v for k, v in leaks.items() if v}


def test_committed_report_is_up_to_date(evidence):
    """docs/grader_evidence.md shows what this run shows (regenerate with
    `python -m tests.graders.report`)."""
    fresh = report.stable(report.parse_tables(report.render(evidence)))
    committed = report.stable(report.parse_tables(report.REPORT.read_text()))
    for kind in fresh:
        assert committed.get(kind) == fresh[kind], (
            f"the {kind} table of {report.REPORT.name} is out of date; run "
            f"`python -m tests.graders.report`")
