"""Tests of who submitted what (Gradescope export metadata, roster CSV) and of the grade-import
exports (otter, gradescope, canvas)."""
from __future__ import annotations

import csv
import io

import pytest

from autograder.frontends import roster
from autograder.frontends.roster import Person
from tests.autograder.fakes import QUESTION_MAX, fake_result

# The shape of a Gradescope "Download submissions" export's metadata (Ruby-symbol keys).
METADATA = """\
submission_111:
  :submitters:
  - :name: Alice Archer
    :sid: '1001'
    :email: alice@example.edu
  :created_at: 2026-11-30 10:00:00.000000000 -08:00
  :score: 0.0
submission_222:
  :submitters:
  - :name: Bob Baker
    :sid: '1002'
    :email: bob@example.edu
  - :name: Carol Cruz
    :sid: '1003'
    :email: carol@example.edu
"""


def test_gradescope_metadata_gives_each_folder_its_submitters(tmp_path):
    """submission_metadata.yml maps each submission folder to its submitters (a group has
    several); the keys keep Gradescope's leading colons."""
    (tmp_path / roster.METADATA_FILE).write_text(METADATA)
    identities = roster.gradescope_identities(tmp_path)
    assert identities["submission_111"] == [Person("Alice Archer", "1001", "alice@example.edu")]
    assert [p.sid for p in identities["submission_222"]] == ["1002", "1003"]
    assert roster.gradescope_identities(tmp_path / "elsewhere") == {}


def test_broken_metadata_is_one_line_error(tmp_path):
    """Metadata that is not YAML, or lacks :submitters:, is refused naming the file."""
    (tmp_path / roster.METADATA_FILE).write_text("submission_1: [unclosed")
    with pytest.raises(roster.RosterError, match="not valid YAML"):
        roster.gradescope_identities(tmp_path)
    (tmp_path / roster.METADATA_FILE).write_text("submission_1: {':score': 1}")
    with pytest.raises(roster.RosterError, match="submitters"):
        roster.gradescope_identities(tmp_path)


def test_roster_csv_matches_file_names_and_wins_over_metadata(tmp_path):
    """A roster row names the graded file with or without its suffix; aliases (sid) are read;
    the roster overrides the export's metadata for the submissions it names."""
    (tmp_path / roster.METADATA_FILE).write_text(METADATA)
    csv_path = tmp_path / "roster.csv"
    csv_path.write_text("Submission,SID,Name,Email\nsubmission_111.zip,9,Alice A.,a@x.edu\n"
                        "dave lab.ipynb,4,Dave,d@x.edu\n")
    identities = roster.identities_for([tmp_path], csv_path)
    assert identities["submission_111"] == [Person("Alice A.", "9", "a@x.edu")]
    assert identities["dave_lab"] == [Person("Dave", "4", "d@x.edu")]  # the batch's safe id
    assert len(identities["submission_222"]) == 2


def test_roster_without_needed_columns_is_refused(tmp_path):
    """A roster needs a submission column and an identity column; an empty cell names its
    line."""
    bad = tmp_path / "r.csv"
    bad.write_text("file_name,score\na,1\n")
    with pytest.raises(roster.RosterError, match="'submission' column"):
        roster.roster_identities(bad)
    bad.write_text("submission,email\n,a@x.edu\n")
    with pytest.raises(roster.RosterError, match="line 2"):
        roster.roster_identities(bad)
    with pytest.raises(roster.RosterError, match="cannot read"):
        roster.roster_identities(tmp_path / "missing.csv")


def test_identities_round_trip_and_merge(tmp_path):
    """identities.json keeps what an earlier batch stored when a later one adds to it."""
    roster.save_identities({"a": [Person("A", "1", "a@x")]}, tmp_path)
    roster.save_identities({"b": [Person("B", "2", "")]}, tmp_path)
    assert roster.load_identities(tmp_path) == {"a": [Person("A", "1", "a@x")],
                                                "b": [Person("B", "2", "")]}


def _rows(fmt, results, identities):
    header, rows = roster.export_rows(fmt, results, QUESTION_MAX, identities)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return list(csv.DictReader(io.StringIO(text.getvalue())))


@pytest.fixture
def graded():
    results = [fake_result("submission_111"),
               fake_result("submission_222", failed=("q2/mask_exact", "q10/speedup")),
               fake_result("orphan", status="timeout", reason="ran past 90 s")]
    identities = {"submission_111": [Person("Alice Archer", "1001", "alice@example.edu")],
                  "submission_222": [Person("Bob Baker", "1002", "bob@example.edu"),
                                     Person("Carol Cruz", "1003", "carol@example.edu")]}
    return results, identities


def test_otter_export_has_final_grades_layout(graded):
    """Otter's final_grades.csv: file, questions, total_points_earned, percent_correct (a
    fraction), grading_status, the points-per-question row first; one row per student."""
    rows = _rows("otter", *graded)
    assert list(rows[0])[:4] == ["file", "q1", "q2", "q10"]
    assert rows[0]["file"] == "points-per-question" and rows[0]["total_points_earned"] == "6"
    alice = rows[1]
    assert (alice["file"], alice["total_points_earned"], alice["percent_correct"],
            alice["grading_status"], alice["sid"]) == ("submission_111", "6", "1", "Completed",
                                                        "1001")
    group = [row for row in rows if row["file"] == "submission_222"]
    assert [row["sid"] for row in group] == ["1002", "1003"]
    assert group[0]["percent_correct"] == "0.5"
    assert rows[-1]["grading_status"].startswith("timeout")


def test_gradescope_export_has_percent_and_ids(graded):
    """Gradescope's upload: Name, SID, Email, Total Score, Max Points, Percent (0..100)."""
    rows = _rows("gradescope", *graded)
    assert [row["SID"] for row in rows] == ["1001", "1002", "1003", ""]
    assert (rows[1]["Total Score"], rows[1]["Max Points"], rows[1]["Percent"]) == ("3", "6",
                                                                                  "50")
    assert rows[3]["Submission"] == "orphan" and rows[3]["Percent"] == "0"


def test_canvas_export_has_points_possible_row(graded):
    """Canvas's import: Student, ID, SIS User ID, SIS Login ID, Section, the assignment column
    (points), a Points Possible row first, Current Score in percent."""
    rows = _rows("canvas", *graded)
    assert rows[0]["Student"] == "Points Possible" and rows[0][roster.CANVAS_ASSIGNMENT] == "6"
    assert (rows[1]["Student"], rows[1]["SIS User ID"], rows[1]["SIS Login ID"],
            rows[1][roster.CANVAS_ASSIGNMENT], rows[1]["Current Score"]) == (
        "Alice Archer", "1001", "alice", "6", "100")
    assert rows[-1]["Student"] == "orphan"


def test_unknown_format_is_refused(graded):
    with pytest.raises(ValueError, match="otter, gradescope, canvas"):
        roster.export_rows("moodle", graded[0], QUESTION_MAX, {})
