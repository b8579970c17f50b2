"""Tests of late submissions: the due date and the submission times (Gradescope's
``:created_at:``), the penalty rule, and the gradebook and exports through ``grade`` (with a
fake grader standing in for the core)."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest

from autograder.frontends import cli, lateness
from autograder.frontends.lateness import Policy, Rule, parse_rule, parse_time
from tests.autograder.fakes import FakeGrader, write_notebooks

DUE = "2026-12-01T00:00-08:00"
DAY = 86400


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01T00:00-08:00", datetime(2026, 12, 1, 8, tzinfo=timezone.utc)),
    ("2026-12-01 08:00Z", datetime(2026, 12, 1, 8, tzinfo=timezone.utc)),
    ("2026-12-01T09:00:00+01:00", datetime(2026, 12, 1, 8, tzinfo=timezone.utc)),
    ("2026-11-30 23:58:01.123456000 -0800",  # Gradescope's Ruby form, 9 fraction digits
     datetime(2026, 12, 1, 7, 58, 1, 123456, tzinfo=timezone.utc)),
])
def test_times_in_every_offset_are_the_same_instant(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text, error", [
    ("2026-12-01T00:00", "no offset"),
    ("tomorrow", "not a date and time"),
    ("2026-13-01T00:00Z", "not a valid date"),
])
def test_bad_times_are_one_line_errors(text, error):
    with pytest.raises(ValueError, match=error) as raised:
        parse_time(text)
    assert "\n" not in str(raised.value)


def test_metadata_times_as_yaml_reads_them():
    """YAML turns Ruby's ``-08:00`` form into an aware datetime and leaves ``-0800`` a string;
    a time without an offset is UTC (YAML's rule); nothing readable is None."""
    import yaml

    read = yaml.safe_load("a: 2026-11-30 23:58:01.123456000 -08:00\n"
                          "b: 2026-11-30 23:58:01.123456000 -0800\nc: 2026-12-01 07:58:01\n"
                          "d: soon\n")
    assert lateness.metadata_time(read["a"]) == lateness.metadata_time(read["b"])
    assert lateness.metadata_time(read["c"]) == datetime(2026, 12, 1, 7, 58, 1,
                                                         tzinfo=timezone.utc)
    assert lateness.metadata_time(read["d"]) is None and lateness.metadata_time(None) is None


@pytest.mark.parametrize("late_s, fraction", [
    (-1, 0.0), (0, 0.0),             # on time: before the deadline and exactly at it
    (1, 0.1), (DAY, 0.1),            # 1 s late is one started day
    (DAY + 1, 0.2), (3 * DAY, 0.3),  # a second into the next day is another
    (3 * DAY + 1, 1.0),              # past the cap: everything
])
def test_rule_per_started_day_with_a_cap(late_s, fraction):
    assert parse_rule("10%/day, max 3 days").fraction(late_s) == pytest.approx(fraction)


def test_rule_syntax():
    """Spaces and case do not matter; without a cap the penalty stops at everything; per hour
    too; a cap may be in the other unit."""
    assert parse_rule(" 10 %/Day ,Max 3 Days") == Rule(10.0, "day", 3, "day",
                                                         "10 %/Day ,Max 3 Days")
    assert parse_rule("40%/day").fraction(10 * DAY) == 1.0
    assert parse_rule("5%/hours").fraction(3601) == pytest.approx(0.1)
    assert parse_rule("2.5%/hour, max 1 day").fraction(DAY + 1) == 1.0


@pytest.mark.parametrize("text", ["10", "10%", "10%/week", "0%/day", "10%/day, max days",
                                  "10%/day max 3 days", "-5%/day"])
def test_bad_rules_are_one_line_errors(text):
    with pytest.raises(ValueError, match="is not a rule.*10%/day, max 3 days"):
        parse_rule(text)


def test_policy_cells_and_penalty():
    """A submission with a time gets submitted_at, late_hours (0 when on time) and the penalty
    in points; one without a time gets empty cells and no penalty; no due date: no late
    columns."""
    due = parse_time(DUE)
    policy = Policy(due, parse_rule("10%/day"), {"on_time": due, "late": due + timedelta(
        hours=25)})
    assert policy.columns() == ["submitted_at", "late_hours", "late_penalty"]
    assert policy.cells("on_time", 6.0) == {"submitted_at": "2026-12-01T00:00:00-08:00",
                                            "late_hours": "0", "late_penalty": "0"}
    assert policy.cells("late", 6.0) == {"submitted_at": "2026-12-02T01:00:00-08:00",
                                         "late_hours": "25", "late_penalty": "1.2"}
    assert policy.cells("folder", 6.0) == {"submitted_at": "", "late_hours": "",
                                           "late_penalty": ""}
    assert policy.penalty("folder", 6.0) == 0.0
    assert Policy(submitted=policy.submitted).columns() == ["submitted_at"]
    assert Policy().columns() == []


def test_settings_are_kept_and_merged(tmp_path):
    """The due date and rule stay for later reports; times merge over the stored ones; none
    forgets a setting; a bad value is refused before anything is written."""
    made = parse_time("2026-11-30T12:00-08:00")
    lateness.save(tmp_path, DUE, "10%/day", {"a": made})
    lateness.save(tmp_path, None, None, {"b": made})
    policy = lateness.load_policy(tmp_path)
    assert (policy.due, policy.rule.text, set(policy.submitted)) == (parse_time(DUE), "10%/day",
                                                                      {"a", "b"})
    lateness.save(tmp_path, penalty="none")
    assert lateness.load_policy(tmp_path).rule is None
    with pytest.raises(ValueError):
        lateness.save(tmp_path / "new", "soon")
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------------------------------
# Through `grade`, on a fake Gradescope export
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def fake_core(monkeypatch):
    """Make the command line grade with FakeGrader instead of the grading core."""
    monkeypatch.setattr(cli, "_core_grader", lambda profile, timeout, allow_unisolated=False:
                        FakeGrader(profile or "offline", timeout))


def _gradescope_export(folder, created):
    """A Gradescope "Download submissions" folder: submission_<n>/ each with a notebook, and
    the metadata with each one's submitter and :created_at: (None: no time)."""
    entries = []
    for number, (name, when) in enumerate(created.items(), start=1):
        write_notebooks(folder / f"submission_{number}", [f"lab_{name}"])
        entry = (f"submission_{number}:\n  :submitters:\n  - :name: {name}\n    :sid: "
                 f"'{number}'\n    :email: {name.lower()}@example.edu\n")
        entries.append(entry + (f"  :created_at: {when}\n" if when else ""))
    (folder / "submission_metadata.yml").write_text("".join(entries))
    return folder


def _csv(path, key):
    with open(path, newline="") as handle:
        return {row[key]: row for row in csv.DictReader(handle) if row[key]}


def test_grade_with_due_and_penalty(tmp_path, fake_core, capsys):
    """A Gradescope export graded with --due and --late-penalty: the gradebook has
    submitted_at, late_hours (0 on time, exactly at the deadline included) and late_penalty,
    its total after the penalty; the exports' totals too; a plain notebook graded into the
    same folder later has empty lateness cells; a re-grade without the options and a merge keep
    applying them."""
    export = _gradescope_export(tmp_path / "export", {
        "Ann": "2026-11-30 23:58:01.123456000 -08:00",   # on time
        "Ben": "2026-12-01 08:00:00.000000000 Z",        # exactly at the deadline
        "Cid": "2026-12-01 00:00:01.000000000 -0800",    # 1 s late: one started day
        "Dee": "2026-12-05 00:00:00.000000000 -08:00",   # 4 days late: past the cap
        "Eve": None})
    out = tmp_path / "out"
    assert cli.main(["grade", str(export), "--out", str(out), "--quiet", "--due", DUE,
                     "--late-penalty", "10%/day, max 3 days", "--format", "gradescope",
                     "--format", "canvas"]) == 0
    printed = capsys.readouterr().out
    assert "2 of 4 submission(s) with a submission time late; penalty 10%/day" in printed
    book = _csv(out / "gradebook.csv", "name")
    _penalty_reaches_what_people_read(out, book, printed)
    header = list(book["Ann"])
    assert header[header.index("w4") + 1:header.index("total")] == ["submitted_at",
                                                                     "late_hours", "late_penalty"]
    assert [book[n]["late_hours"] for n in ("Ann", "Ben", "Cid", "Dee", "Eve")] == [
        "0", "0", "0.0003", "96", ""]
    assert book["Ann"]["submitted_at"] == "2026-11-30T23:58:01.123456-08:00"
    assert book["Eve"]["submitted_at"] == book["Eve"]["late_penalty"] == ""
    cid_earned = sum(float(book["Cid"][q]) for q in ("q1", "q2", "q12"))
    assert float(book["Cid"]["late_penalty"]) == pytest.approx(0.1 * cid_earned, abs=1e-4)
    assert float(book["Cid"]["total"]) == pytest.approx(0.9 * cid_earned, abs=1e-4)
    assert book["Dee"]["total"] == "0" and book["Ann"]["late_penalty"] == "0"
    gradescope = _csv(out / "grades_gradescope.csv", "Name")
    assert gradescope["Cid"]["Total Score"] == book["Cid"]["total"]
    assert gradescope["Cid"]["late_penalty"] == book["Cid"]["late_penalty"]
    assert gradescope["Eve"]["late_penalty"] == ""
    canvas = _csv(out / "grades_canvas.csv", "Student")
    assert canvas["Dee"]["Pruning lab"] == "0"
    assert canvas["Cid"]["Pruning lab"] == book["Cid"]["total"]

    write_notebooks(tmp_path / "plain", ["fay"])  # a plain notebook: no time, nothing deducted
    assert cli.main(["grade", str(tmp_path / "plain" / "fay.ipynb"), str(export), "--out",
                     str(out), "--quiet"]) == 0
    again = _csv(out / "gradebook.csv", "id")
    assert again["fay"]["late_hours"] == again["fay"]["late_penalty"] == ""
    assert _csv(out / "gradebook.csv", "name")["Cid"] == book["Cid"]
    assert cli.main(["merge", str(out), "--out", str(tmp_path / "merged")]) == 0
    assert _csv(tmp_path / "merged" / "gradebook.csv", "name")["Dee"] == book["Dee"]



def _penalty_reaches_what_people_read(out, book, printed):
    """The feedback says the penalty in one line, results.json's score is the gradebook's
    total, and the console summary and class report average the gradebook's totals."""
    cid = book["Cid"]["id"]
    feedback = (out / "feedback" / f"{cid}.txt").read_text()
    earned = float(book["Cid"]["total"]) + float(book["Cid"]["late_penalty"])
    assert (f"Submitted 1 s after the due date: -10% ({round(earned * 0.1, 2):g} points) under "
            f"the course's rule '10%/day, max 3 days'; score after the penalty "
            f"{round(float(book['Cid']['total']), 2):g} / ") in feedback
    assert "after the due date" not in (out / "feedback" / f"{book['Ann']['id']}.txt").read_text()
    for row in book.values():
        results = json.loads((out / "results" / row["id"] / "results.json").read_text())
        assert results["score"] == pytest.approx(float(row["total"]), abs=1e-4)
    mean = sum(float(row["total"]) for row in book.values()) / len(book)
    assert f"total: mean {mean:.2f} / " in printed
    assert f"Total: mean {mean:.2f}," in (out / "class_report.md").read_text()

def test_no_due_date_no_late_columns_but_the_times(tmp_path, fake_core):
    """Without --due the gradebook keeps every point and shows when each was submitted."""
    export = _gradescope_export(tmp_path / "export", {"Ann": "2026-11-30 10:00:00 -08:00"})
    assert cli.main(["grade", str(export), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    row = _csv(tmp_path / "out" / "gradebook.csv", "name")["Ann"]
    assert row["submitted_at"] == "2026-11-30T10:00:00-08:00" and "late_hours" not in row


@pytest.mark.parametrize("option, error", [
    (["--due", "2026-12-01"], "not a date and time"),
    (["--due", "2026-12-01T00:00"], "no offset"),
    (["--due", DUE, "--late-penalty", "10 per day"], "is not a rule"),
])
def test_bad_due_or_rule_is_one_line_exit_2(tmp_path, fake_core, capsys, option, error):
    export = _gradescope_export(tmp_path / "export", {"Ann": None})
    assert cli.main(["grade", str(export), "--out", str(tmp_path / "out"), *option]) == 2
    printed = capsys.readouterr().err.strip()
    assert error in printed and "\n" not in printed and "Traceback" not in printed
    assert not (tmp_path / "out").exists()
