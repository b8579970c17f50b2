"""Tests of who submitted what (Gradescope export metadata, roster CSV) and of the grade-import
exports (otter, gradescope, canvas)."""
from __future__ import annotations

import csv
import io
import pytest

from autograder.core.batch import Submission
from autograder.frontends import exports, roster
from autograder.frontends.exports import ExportSettings
from autograder.frontends.roster import Person
from tests.autograder.canvas import GRADEBOOK_EXPORT, NOTES_COLUMNS, course_of, parse_import
from tests.autograder.fakes import QUESTION_MAX, fake_result

CANVAS_COURSE = course_of(GRADEBOOK_EXPORT.read_text(), custom_columns=NOTES_COLUMNS)

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


def _rows(fmt, results, identities, settings=ExportSettings(), maxima=QUESTION_MAX):
    return list(csv.DictReader(io.StringIO(_export_text(fmt, results, identities, settings,
                                                        maxima))))


def _export_text(fmt, results, identities, settings=ExportSettings(), maxima=QUESTION_MAX):
    header, rows = exports.export_rows(fmt, results, maxima, identities, settings)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


@pytest.fixture
def graded():
    results = [fake_result("submission_111"),
               fake_result("submission_222", failed=("q2/mask_exact", "q12/speedup")),
               fake_result("orphan", status="timeout", reason="ran past 90 s")]
    identities = {"submission_111": [Person("Alice Archer", "1001", "alice@example.edu")],
                  "submission_222": [Person("Bob Baker", "1002", "bob@example.edu"),
                                     Person("Carol Cruz", "1003", "carol@example.edu")]}
    return results, identities


def test_otter_export_has_final_grades_layout(graded):
    """Otter's final_grades.csv: file, questions, total_points_earned, percent_correct (a
    fraction), grading_status, the points-per-question row first with status ``--`` as Otter
    writes it; a status of one word, the reason in its own column; one row per student."""
    text = _export_text("otter", *graded)
    assert "'--" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:7] == ["file", "q1", "q2", "q12", "total_points_earned",
                                 "percent_correct", "grading_status"]
    assert (rows[0]["file"], rows[0]["total_points_earned"], rows[0]["grading_status"]) == (
        "points-per-question", "6", "--")
    alice = rows[1]
    assert (alice["file"], alice["total_points_earned"], alice["percent_correct"],
            alice["grading_status"], alice["sid"]) == ("submission_111", "6", "1", "Completed",
                                                        "1001")
    group = [row for row in rows if row["file"] == "submission_222"]
    assert [row["sid"] for row in group] == ["1002", "1003"]
    assert group[0]["percent_correct"] == "0.5"
    assert (rows[-1]["grading_status"], rows[-1]["reason"]) == ("timeout", "ran past 90 s")


def test_gradescope_export_has_percent_and_ids(graded):
    """Gradescope's upload: Name, SID, Email, Total Score, Max Points, Percent (0..100)."""
    rows = _rows("gradescope", *graded)
    assert [row["SID"] for row in rows] == ["1001", "1002", "1003", ""]
    assert (rows[1]["Total Score"], rows[1]["Max Points"], rows[1]["Percent"]) == ("3", "6",
                                                                                  "50")
    assert rows[3]["Submission"] == "orphan" and rows[3]["Percent"] == "0"


def test_canvas_export_without_canvas_roster_guesses_nothing(graded):
    """Without a Canvas roster: Student, ID, SIS User ID (the student id), SIS Login ID,
    Section, the assignment column titled ``Pruning lab``, the indented Points Possible row
    first; Canvas's ID and the login are left empty, never made up from the email; a
    submission without a submitter has no row (Canvas could not match it)."""
    rows = _rows("canvas", *graded)
    assert list(rows[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                             roster.CANVAS_ASSIGNMENT]
    assert rows[0]["Student"] == "    Points Possible" and rows[0][roster.CANVAS_ASSIGNMENT] == "6"
    assert (rows[1]["Student"], rows[1]["ID"], rows[1]["SIS User ID"], rows[1]["SIS Login ID"],
            rows[1][roster.CANVAS_ASSIGNMENT]) == ("Alice Archer", "", "1001", "", "6")
    assert "orphan" not in {row["Student"] for row in rows} and len(rows) == 4
    assert exports.canvas_unmatched(*graded[:2]) == ["orphan"]


def _canvas_submissions(tmp_path, names):
    return [Submission(roster.submission_id(roster._stem(name)), tmp_path / name) for name in names]


def test_canvas_gradebook_is_a_roster_as_it_comes(tmp_path):
    """A Canvas gradebook export is read as it comes: its Manual Posting and Points Possible
    rows and the test student are no students; each submission is matched by Canvas's download
    name (the user ID, late or not), else its file name (SIS User ID, SIS Login ID or its part
    before @), else its Gradescope submitter's sid; a file matching no one, and a student
    without a file, get no identity."""
    names = ["archeralice_501_77001_pruning_lab.zip", "1002.ipynb", "carol.ipynb",
             "dunndave_late_504_77004_pruning_lab-1.zip", "zed.ipynb", "submission_9"]
    submissions = _canvas_submissions(tmp_path, names)
    known = {"submission_9": [Person("Erin E.", "1005", "erin@gs.example")]}
    identities = roster.roster_identities(GRADEBOOK_EXPORT, submissions, known)
    assert {sid: [p.canvas_id for p in people] for sid, people in identities.items()} == {
        "archeralice_501_77001_pruning_lab": ["501"], "1002": ["502"], "carol": ["503"],
        "dunndave_late_504_77004_pruning_lab-1": ["504"], "submission_9": ["505"]}
    assert identities["1002"] == [Person("Baker, Bob", "1002", "", "502", "bbaker",
                                         "Section A")]
    assert identities["carol"][0].email == "carol@example.edu"


def test_canvas_gradebook_with_a_submission_column(tmp_path):
    """A submission column added to a Canvas export names each student's file."""
    text = GRADEBOOK_EXPORT.read_text().splitlines()
    text[0] += ",submission"
    text[3] += ",alice_lab.ipynb"
    path = tmp_path / "canvas.csv"
    path.write_text("\n".join(line for i, line in enumerate(text) if i in (0, 1, 2, 3, 8)))
    assert roster.roster_identities(path)["alice_lab"][0].canvas_id == "501"


def test_canvas_column_is_the_roster_column_the_lab_goes_to(tmp_path):
    """The Canvas export's column is the roster's column headed exactly as Canvas wrote it:
    the one --canvas-assignment names (title or id), else the one titled Pruning lab; several
    columns without a choice, or a choice the roster lacks, is a one-line error."""
    assert roster.canvas_column(GRADEBOOK_EXPORT) == "Pruning lab (40102)"
    assert roster.canvas_column(GRADEBOOK_EXPORT, "40101") == "Lab 1: Tensors (40101)"
    assert roster.canvas_column(GRADEBOOK_EXPORT, "lab 1: tensors") == "Lab 1: Tensors (40101)"
    assert roster.canvas_column(None) == "Pruning lab"
    assert roster.canvas_column(None, "Lab 3") == "Lab 3"
    with pytest.raises(roster.RosterError, match="no assignment column 'Lab 9'.*--canvas-as"):
        roster.canvas_column(GRADEBOOK_EXPORT, "Lab 9")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(GRADEBOOK_EXPORT.read_text().replace("Pruning lab (", "Lab 2 ("))
    with pytest.raises(roster.RosterError, match="several assignment columns") as error:
        roster.canvas_column(renamed)
    assert "\n" not in str(error.value) and "'Lab 2 (40102)'" in str(error.value)


def test_canvas_export_imports_into_the_roster_column(tmp_path):
    """Round trip: the Canvas export of a grading with a Canvas roster, parsed as Canvas's
    import parses it, puts each student's points in that student's row of the assignment the
    roster's column is, with the maximum as points possible; no new assignment, no unknown
    student, the other assignment untouched."""
    names = ["archeralice_501_77001_pruning_lab.zip", "1002.ipynb", "carol.ipynb"]
    identities = roster.roster_identities(GRADEBOOK_EXPORT, _canvas_submissions(tmp_path, names))
    results = [fake_result("archeralice_501_77001_pruning_lab"),
               fake_result("1002", failed=("q2/mask_exact",)),
               fake_result("carol", status="timeout", reason="ran past 90 s")]
    settings = ExportSettings(canvas_column=roster.canvas_column(GRADEBOOK_EXPORT))
    imported = parse_import(_export_text("canvas", results, identities, settings),
                            CANVAS_COURSE)
    assert imported.points_possible == {"40102": "6"}
    assert imported.grades == {("501", "40102"): "6", ("502", "40102"): "4",
                               ("503", "40102"): "0"}


def test_exports_can_hold_the_autograded_points_alone(graded):
    """With points="autograded" the totals, percent and Canvas column count the autograded
    questions alone; a written question stays its own column in the other exports."""
    results, identities = graded
    maxima = {**QUESTION_MAX, "w1": 2.0}
    settings = ExportSettings(points="autograded")
    gradescope = _rows("gradescope", results, identities, settings, maxima)
    assert (gradescope[0]["Total Score"], gradescope[0]["Max Points"], gradescope[0]["w1"]) == (
        "6", "6", "0")
    canvas = _rows("canvas", results, identities, settings, maxima)
    assert canvas[0][roster.CANVAS_ASSIGNMENT] == "6"
    assert _rows("gradescope", results, identities, maxima=maxima)[0]["Max Points"] == "8"


@pytest.fixture
def half_scored():
    """A class whose W1 a TA scored for Alice (1.5 of 2) and not yet for Bob (pending)."""
    from autograder.frontends import written

    w1 = {"w1": {"points": 2.0}}
    results = [written.with_manual(fake_result("alice"), w1, {"alice": {"w1": 1.5}}),
               written.with_manual(fake_result("bob", failed=("q2/mask_exact",)), w1, {})]
    identities = {"alice": [Person("Alice", "1001")], "bob": [Person("Bob", "1002")]}
    return results, identities, {**QUESTION_MAX, "w1": 2.0}


def test_exports_leave_a_written_question_not_graded_yet_out(half_scored):
    """A W no TA has scored yet is an empty cell in the Otter and Gradescope exports, in
    neither that row's total nor its maximum (Max Points, Percent, percent_correct); Otter's
    points-per-question row and Canvas's Points Possible keep the full maximum; Canvas holds
    the points so far."""
    results, identities, maxima = half_scored
    otter = _rows("otter", results, identities, maxima=maxima)
    assert (otter[0]["w1"], otter[0]["total_points_earned"]) == ("2", "8")
    assert (otter[1]["w1"], otter[1]["total_points_earned"], otter[1]["percent_correct"]) == (
        "1.5", "7.5", "0.9375")
    assert (otter[2]["w1"], otter[2]["total_points_earned"], otter[2]["percent_correct"]) == (
        "", "4", "0.6667")
    gradescope = {row["Name"]: row for row in _rows("gradescope", results, identities,
                                                    maxima=maxima)}
    assert [gradescope["Alice"][key] for key in ("w1", "Total Score", "Max Points",
                                                 "Percent")] == ["1.5", "7.5", "8", "93.75"]
    assert [gradescope["Bob"][key] for key in ("w1", "Total Score", "Max Points",
                                               "Percent")] == ["", "4", "6", "66.6667"]
    canvas = _rows("canvas", results, identities, maxima=maxima)
    assert [row[roster.CANVAS_ASSIGNMENT] for row in canvas] == ["8", "7.5", "4"]
    autograded = _rows("gradescope", results, identities, ExportSettings(points="autograded"),
                       maxima)
    assert [(row["Total Score"], row["Max Points"], row["w1"]) for row in autograded] == [
        ("6", "6", "1.5"), ("4", "6", "")]


def test_canvas_warning_counts_students_waiting_for_a_written_score(half_scored):
    """One line naming how many students' Canvas points are the points so far, and the way
    out; nothing when the totals are the autograded points alone or nobody waits."""
    results, identities, _ = half_scored
    warning = exports.canvas_pending_warning(results, identities, ExportSettings())
    assert warning.startswith("warning: 1 student(s) have written questions not graded yet")
    assert "--export-points autograded" in warning and "\n" not in warning
    assert exports.canvas_pending_warning(results, identities,
                                         ExportSettings(points="autograded")) == ""
    assert exports.canvas_pending_warning(results[:1], identities, ExportSettings()) == ""


def test_export_settings_are_kept_beside_the_records(tmp_path):
    """Settings saved for a folder stay for later exports; None changes nothing."""
    assert exports.load_export_settings(tmp_path) == ExportSettings()
    exports.save_export_settings(tmp_path, points="autograded", canvas_column="Lab (1)")
    exports.save_export_settings(tmp_path, points=None)
    assert exports.load_export_settings(tmp_path) == ExportSettings("autograded", "Lab (1)")


def test_canvas_helper_reads_canvas_export_as_canvas_does():
    """The stand-in importer reads Canvas's own export unchanged (a check of the check)."""
    imported = parse_import(GRADEBOOK_EXPORT.read_text(), CANVAS_COURSE)
    assert imported.points_possible == {"40101": "10.00", "40102": "26.00"}
    assert imported.grades[("502", "40101")] == "7.50"
    assert not any(student.startswith("new:") for student, _ in imported.grades)


def test_unknown_format_is_refused(graded):
    with pytest.raises(ValueError, match="otter, gradescope, canvas"):
        exports.export_rows("moodle", graded[0], QUESTION_MAX, {})


def test_exports_count_bonus_points_in_totals_never_in_maxima():
    """A bonus question (the table's q10) adds to every export's total but to no maximum:
    Otter's points row and Canvas's Points Possible stay at the other questions' points, the
    Gradescope export's Max Points too, and a percentage may pass 100."""
    from autograder.results import CheckResult, SubmissionResult

    maxima = {"q1": 2.0, "q10": 2.0}
    result = SubmissionResult("dana", "graded", question_max=dict(maxima),
                              checks=[CheckResult("q1", "a", 2.0, 2.0, True),
                                      CheckResult("q10", "b", 2.0, 2.0, True)])
    otter = list(csv.DictReader(io.StringIO(_export_text("otter", [result], {}, maxima=maxima))))
    assert (otter[0]["q10"], otter[0]["total_points_earned"]) == ("2", "2")
    assert (otter[1]["total_points_earned"], otter[1]["percent_correct"]) == ("4", "2")
    [row] = csv.DictReader(io.StringIO(_export_text("gradescope", [result], {}, maxima=maxima)))
    assert (row["Total Score"], row["Max Points"], row["Percent"]) == ("4", "2", "200")
    canvas = list(csv.DictReader(io.StringIO(_export_text("canvas", [result], {}, maxima=maxima))))
    assert [r[list(r)[-1]] for r in canvas] == ["2", "4"]
