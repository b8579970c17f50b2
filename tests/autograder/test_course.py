"""Tests of grading a class across machines (shards, merge) and of folding TA scores of the
written questions into every report (merge-manual), through the command line with a fake
grader standing in for the core."""
from __future__ import annotations

import csv
import json

import pytest

from autograder.frontends import cli, course, written
from autograder.core.batch import Submission
from tests.autograder.fakes import FakeGrader, write_notebooks


@pytest.fixture
def fake_core(monkeypatch):
    """Make the command line grade with FakeGrader instead of the grading core."""
    monkeypatch.setattr(cli, "_core_grader", lambda profile, timeout, allow_unisolated=False:
                        FakeGrader(profile or "offline", timeout))


def _gradebook(path):
    with open(path, newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_shards_are_stable_and_cover_everything():
    """Every id falls in exactly one shard of N; an id's shard does not depend on the other
    submissions or their order."""
    ids = [f"submission_{n}" for n in range(200)]
    subs = [Submission(i, None) for i in ids]
    shards = [course.select_shard(subs, i, 4) for i in range(4)]
    assert sorted(s.id for shard in shards for s in shard) == sorted(ids)
    assert all(20 < len(shard) < 80 for shard in shards)  # a hash spreads them
    alone = course.select_shard([Submission("submission_7", None)], course.shard_of(
        "submission_7", 4), 4)
    assert [s.id for s in alone] == ["submission_7"]
    assert course.select_shard(list(reversed(subs)), 2, 4) == list(reversed(shards[2]))


@pytest.mark.parametrize("text", ["4/4", "-1/3", "1", "a/b", "0/0"])
def test_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="shard"):
        course.parse_shard(text)


def test_sharded_grading_merges_into_the_same_gradebook(tmp_path, fake_core, capsys):
    """Grading in 3 shards and merging gives the gradebook of grading everything at once,
    identities (from the export's metadata) included."""
    folder = tmp_path / "export"
    write_notebooks(folder, [f"s{n}" for n in range(9)])
    (folder / "submission_metadata.yml").write_text(
        "s1:\n  :submitters:\n  - :name: Ann\n    :sid: '11'\n    :email: ann@example.edu\n")
    assert cli.main(["grade", str(folder), "--out", str(tmp_path / "all"), "--quiet",
                     "--workers", "1"]) == 0
    shard_dirs = []
    for index in range(3):
        out = tmp_path / f"shard{index}"
        assert cli.main(["grade", str(folder), "--out", str(out), "--shard", f"{index}/3",
                         "--quiet", "--workers", "1"]) == 0
        shard_dirs.append(out)
    empty = tmp_path / "shard-empty"  # a shard no submission falls in: merged all the same
    assert cli.main(["grade", str(folder / "s1.ipynb"), "--out", str(empty), "--shard",
                     f"{(course.shard_of('s1', 2) + 1) % 2}/2", "--quiet"]) == 0
    assert cli.main(["merge", *map(str, shard_dirs + [empty]), "--out", str(tmp_path / "merged"),
                     "--format", "gradescope"]) == 0
    whole, merged = _gradebook(tmp_path / "all" / "gradebook.csv"), \
        _gradebook(tmp_path / "merged" / "gradebook.csv")
    assert merged == whole and len(merged) == 9
    assert merged["s1"]["name"] == "Ann" and merged["s1"]["sid"] == "11"
    assert (tmp_path / "merged" / "grades_gradescope.csv").is_file()
    assert (tmp_path / "merged" / "results" / "s1" / "results.json").is_file()
    capsys.readouterr()
    assert cli.main(["merge", *map(str, shard_dirs[:2]), "--out", str(tmp_path / "part")]) == 0
    assert "no folder holds shard(s) 2/3" in capsys.readouterr().out


def test_merge_refuses_one_submission_graded_from_two_files(tmp_path, fake_core):
    """Two shard folders with different gradings of one id (different file contents) cannot be
    merged silently; a folder without records is not a grade output."""
    for name, text in (("a", "one"), ("b", "two")):
        write_notebooks(tmp_path / name, ["x"])
        (tmp_path / name / "x.ipynb").write_text(text)
        assert cli.main(["grade", str(tmp_path / name / "x.ipynb"), "--out",
                         str(tmp_path / f"out_{name}"), "--quiet"]) == 0
    with pytest.raises(course.MergeError, match="two shards"):
        course.merge_outputs([tmp_path / "out_a", tmp_path / "out_b"], tmp_path / "m")
    with pytest.raises(course.MergeError, match="no records/ folder"):
        course.merge_outputs([tmp_path / "a"], tmp_path / "m")


def test_merge_manual_scores_reach_every_report(tmp_path, fake_core):
    """TA scores of W1-W3 (matched by submission id or by email) join the gradebook, the
    class report, the feedback and results.json; an empty cell is not graded yet (an empty
    cell, in neither the total nor the max); a question's comment is under that question, a
    plain ``comment`` once under the first scored one; a re-export keeps them."""
    folder = tmp_path / "subs"
    write_notebooks(folder, ["alice", "bob"])
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("submission,email\nbob.ipynb,bob@example.edu\n")
    out = tmp_path / "out"
    assert cli.main(["grade", str(folder), "--out", str(out), "--roster", str(roster_csv),
                     "--quiet"]) == 0
    before = _gradebook(out / "gradebook.csv")
    questions = written.written_questions()
    assert set(questions) == {"w1", "w2", "w3", "w4"}
    scores = tmp_path / "ta.csv"
    scores.write_text("submission,email,W1,W2,w3,W2_comment,comment\nalice,,2,1.5,,misses the "
                      "BatchNorm,Clear overall\n,bob@example.edu,0,2,2,,\n")
    assert cli.main(["merge-manual", str(scores), "--out", str(out), "--format", "otter"]) == 0
    after = _gradebook(out / "gradebook.csv")
    assert (after["alice"]["w1"], after["alice"]["w2"], after["alice"]["w3"]) == ("2", "1.5", "")
    assert float(after["alice"]["total"]) == float(before["alice"]["total"]) + 3.5
    assert float(after["alice"]["max"]) == float(before["alice"]["max"]) + 4
    assert float(after["bob"]["max"]) == float(before["bob"]["max"]) + 6
    results = json.loads((out / "results" / "alice" / "results.json").read_text())
    rows = {test["name"]: test for test in results["tests"]}
    assert rows["w2"]["score"] == 1.5 and "BatchNorm" in rows["w2"]["output"]
    assert rows["w2"]["output"].startswith("Scored by a TA (1.5/2)\nTA: ")
    assert "Clear overall" in rows["w1"]["output"] and "Clear overall" not in rows["w2"]["output"]
    assert "score" not in rows["w3"] and "Not graded yet" in rows["w3"]["output"]
    assert "w1" in (out / "class_report.md").read_text()
    assert "w3" in (out / "feedback" / "alice.txt").read_text()
    with open(out / "grades_otter.csv", newline="") as handle:
        assert "w1" in next(csv.reader(handle))
    assert cli.main(["grade", str(folder), "--out", str(out), "--quiet"]) == 0  # a re-run
    assert _gradebook(out / "gradebook.csv")["alice"]["w2"] == "1.5"


@pytest.mark.parametrize("content, error", [
    ("submission,w1\nnobody,1\n", "no graded submission"),
    ("submission,w1\nalice,3\n", "outside 0..2"),
    ("submission,w1\nalice,two\n", "not a number"),
    ("name,w1\nalice,1\n", "'submission', 'email' or 'sid'"),
    ("submission,w1,w5_comment\nalice,1,x\n", "w5_comment name no written question"),
    ("submission,w1,w5\nalice,1,1\n", "w5 name no written question"),
    ("submission,w1\nalice,1\nalice,2\n", "is 2 here but 1 on line 2"),
])
def test_bad_manual_scores_are_refused_in_one_line(tmp_path, fake_core, capsys, content, error):
    """A score file naming an unknown submission, a score out of range or not a number, or
    without a key column, is refused with the line, and nothing is written."""
    write_notebooks(tmp_path / "subs", ["alice", "bob"])
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    (tmp_path / "ta.csv").write_text(content)
    assert cli.main(["merge-manual", str(tmp_path / "ta.csv"), "--out", str(out)]) == 2
    assert error in capsys.readouterr().err
    assert not (out / written.MANUAL_FILE).exists()


def _sheet(out):
    with open(out / "written" / written.SCORE_SHEET, newline="") as handle:
        return list(csv.DictReader(handle))


def test_ta_sheet_round_trip(tmp_path, fake_core):
    """grade writes a TA sheet with every submission (names from the roster), every written
    question's score and comment column, empty; a filled copy merges with per-question comments
    and an ungraded W (in neither total nor max); the regenerated sheet holds what was merged
    (a comment starting like a formula included) and merging it again changes nothing; the
    index shows names, scores and "not graded yet", and every page links its neighbours."""
    write_notebooks(tmp_path / "subs", ["alice", "bob", "carol"])
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("submission,name\nalice.ipynb,Alice Liddell\nbob.ipynb,Bob Dylan\n")
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--quiet",
                     "--roster", str(roster_csv)]) == 0
    before, sheet = _gradebook(out / "gradebook.csv"), _sheet(out)
    assert list(sheet[0]) == ["submission", "name", "sid", "email", "w1", "w1_comment", "w2",
                              "w2_comment", "w3", "w3_comment", "w4", "w4_comment"]
    assert [row["submission"] for row in sheet] == ["alice", "bob", "carol"]
    assert sheet[0]["name"] == "Alice Liddell"
    assert all(row[q] == "" for row in sheet for q in ("w1", "w2", "w3"))
    sheet[0].update(w1="2", w1_comment="-1 would be harsh: clear", w2="1",
                    w2_comment="misses the BatchNorm")
    sheet[1].update(w1="2", w2="2", w3="0", w3_comment="no answer")
    filled = tmp_path / "ta_scores.csv"
    with open(filled, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    assert cli.main(["merge-manual", str(filled), "--out", str(out)]) == 0
    after = _gradebook(out / "gradebook.csv")
    assert (after["alice"]["w1"], after["alice"]["w2"], after["alice"]["w3"]) == ("2", "1", "")
    assert float(after["alice"]["max"]) == float(before["alice"]["max"]) + 4
    assert float(after["bob"]["max"]) == float(before["bob"]["max"]) + 6
    assert after["carol"] == before["carol"]  # nothing graded: no 0s, the same maximum
    feedback = (out / "feedback" / "alice.txt").read_text()
    w2_part = feedback[feedback.index("\nw2"):feedback.index("\nw3")]
    assert "scored by a TA\n  TA: misses the BatchNorm" in w2_part and "harsh" not in w2_part
    assert "not graded yet" in feedback[feedback.index("\nw3"):]
    regenerated = _sheet(out)
    assert regenerated[0]["w1"] == "2" and regenerated[0]["w3"] == ""
    assert regenerated[2]["w1"] == ""
    merged = (out / written.MANUAL_FILE).read_text()
    again = tmp_path / "again.csv"
    again.write_bytes((out / "written" / written.SCORE_SHEET).read_bytes())
    assert cli.main(["merge-manual", str(again), "--out", str(out)]) == 0
    assert (out / written.MANUAL_FILE).read_text() == merged  # "'-1 ..." read back as "-1 ..."
    index = (out / "written" / "index.html").read_text()
    alice_row = index[index.index("href='alice.html'"):index.index("href='bob.html'")]
    assert "Alice Liddell" in alice_row and "2 / 2" in alice_row and "1 / 2" in alice_row
    assert "not graded yet" in alice_row and "scored: W1 2, W2 2, W3 1" in index
    bob_page = (out / "written" / "bob.html").read_text()
    assert "href='alice.html'" in bob_page and "href='carol.html'" in bob_page
    assert "index (2 of 3)" in bob_page


def test_merge_manual_rewrites_the_exports_already_written(tmp_path, fake_core, capsys):
    """An export written by grade (--format) is rewritten by merge-manual without --format, so
    no grade-import file keeps the scores from before the TA scores; the printed summary of
    a later grade run shows them too; duplicate rows that agree are accepted."""
    write_notebooks(tmp_path / "subs", ["alice", "bob"])
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--quiet",
                     "--format", "gradescope"]) == 0
    (tmp_path / "ta.csv").write_text("submission,w1,w2,w3\nalice,2,2,2\nalice,2,,\n")
    assert cli.main(["merge-manual", str(tmp_path / "ta.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "grades_gradescope" in printed and "not scored yet" in printed
    with open(out / "grades_gradescope.csv", newline="") as handle:
        rows = {row["Submission"]: row for row in csv.DictReader(handle)}
    assert rows["alice"]["w1"] == "2" and float(rows["alice"]["Total Score"]) == \
        float(_gradebook(out / "gradebook.csv")["alice"]["total"])
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "w1" in summary


def test_merge_refuses_folders_graded_with_different_profiles(tmp_path, fake_core):
    """An offline grade and a cifar10-cpu one do not make one gradebook; nothing is copied."""
    write_notebooks(tmp_path / "a", ["x", "z"])
    write_notebooks(tmp_path / "b", ["y", "w"])
    assert cli.main(["grade", str(tmp_path / "a"), "--out", str(tmp_path / "out_a"),
                     "--quiet"]) == 0
    assert cli.main(["grade", str(tmp_path / "b"), "--out", str(tmp_path / "out_b"),
                     "--quiet", "--profile", "cifar10-cpu"]) == 0
    with pytest.raises(course.MergeError, match="different profiles"):
        course.merge_outputs([tmp_path / "out_a", tmp_path / "out_b"], tmp_path / "m")
    assert not list((tmp_path / "m" / "records").glob("*.json"))


def test_spreadsheet_formulas_in_names_are_neutralised(tmp_path, fake_core):
    """A roster name that a spreadsheet would run as a formula is written with a leading
    quote in the gradebook and every export; numbers stay numbers."""
    write_notebooks(tmp_path / "subs", ["alice", "bob"])
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text('submission,name,email\nalice.ipynb,"=HYPERLINK(""x"",""y"")",'
                          "-a@example.edu\n")
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--quiet",
                     "--roster", str(roster_csv), "--format", "canvas", "--format",
                     "gradescope"]) == 0
    for name in ("gradebook.csv", "grades_canvas.csv", "grades_gradescope.csv"):
        text = (out / name).read_text()
        assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text, name
    assert _gradebook(out / "gradebook.csv")["alice"]["email"] == "'-a@example.edu"


def test_grade_names_roster_gaps(tmp_path, fake_core, capsys):
    """Submissions nobody in the roster submitted, and roster rows without a submission, are
    named when grading (both make rows a grade import cannot match)."""
    write_notebooks(tmp_path / "subs", ["alice", "erin"])
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("submission,name\nalice.ipynb,Alice\nzed.zip,Zed\n")
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                     "--quiet", "--roster", str(roster_csv)]) == 0
    printed = capsys.readouterr().out
    assert "1 submission(s) have no submitter in the roster or metadata" in printed
    assert "erin" in printed and "have no submission here" in printed and "zed" in printed


def test_canvas_gradebook_round_trip(tmp_path, fake_core, capsys):
    """The README's Canvas route: the course's Canvas gradebook export as the roster, the
    files as Canvas's "Download Submissions" names them (or named by SIS id / login), then
    grades_canvas.csv parsed as Canvas's import parses it: each student's total from the
    gradebook lands in that student's row of the roster's Pruning lab column; a file matching
    no student is named, has no row in the Canvas import (Canvas could not match it) nor counts
    among the students waiting for a TA score, and stays in the gradebook; merge-manual and
    merge write the export into the same column."""
    from tests.autograder.canvas import (GRADEBOOK_EXPORT, NOTES_COLUMNS, course_of,
                                         parse_import)

    files = {"archeralice_501_77001_pruning_lab": "501", "1002": "502", "carol": "503",
             "dunndave_late_504_77004_pruning_lab": "504"}
    write_notebooks(tmp_path / "subs", [*files, "zed"])
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--quiet",
                     "--roster", str(GRADEBOOK_EXPORT), "--format", "canvas"]) == 0
    printed = capsys.readouterr().out
    assert "1 submission(s) have no submitter" in printed
    assert "1 submission(s) match no student Canvas knows (no ID, SIS User ID or SIS Login ID) " \
           "and are left out of grades_canvas.csv (they stay in gradebook.csv): zed\n" in printed
    assert "warning: 4 student(s) have written questions not graded yet" in printed
    assert "zed" in _gradebook(out / "gradebook.csv")
    totals = {sid: row["total"] for sid, row in _gradebook(out / "gradebook.csv").items()}
    course = course_of(GRADEBOOK_EXPORT.read_text(), custom_columns=NOTES_COLUMNS)
    imported = parse_import((out / "grades_canvas.csv").read_text(), course)
    assert {(student, "40102"): totals[sid] for sid, student in files.items()}.items() \
        <= imported.grades.items()
    assert set(imported.grades) == {(s, "40102") for s in files.values()}
    assert cli.main(["merge-manual", str(_ta_scores(tmp_path)), "--out", str(out)]) == 0
    assert "Pruning lab (40102)" in (out / "grades_canvas.csv").read_text().splitlines()[0]
    merged = tmp_path / "merged"
    assert cli.main(["merge", str(out), "--out", str(merged), "--format", "canvas"]) == 0
    assert "Pruning lab (40102)" in (merged / "grades_canvas.csv").read_text().splitlines()[0]


def test_merge_and_regrades_write_the_formats_the_shards_asked_for(tmp_path, fake_core):
    """Shards graded with --format canvas (and otter): merge into a new folder, a regrade and
    merge-manual write the same exports without --format, from OUT/export_settings.json."""
    write_notebooks(tmp_path / "subs", ["alice", "bob", "carol"])
    for index in range(2):
        assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / f"s{index}"),
                         "--shard", f"{index}/2", "--quiet", "--format", "canvas",
                         *(["--format", "otter"] if index else [])]) == 0
    merged = tmp_path / "merged"
    assert cli.main(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out",
                     str(merged)]) == 0
    settings = json.loads((merged / "export_settings.json").read_text())
    assert settings["formats"] == ["canvas", "otter"]
    for fmt in ("canvas", "otter"):
        (merged / f"grades_{fmt}.csv").unlink()
    write_notebooks(tmp_path / "fixed", ["bob"])
    assert cli.main(["grade", str(tmp_path / "fixed"), "--out", str(merged), "--quiet"]) == 0
    assert (merged / "grades_canvas.csv").is_file() and (merged / "grades_otter.csv").is_file()
    (merged / "grades_canvas.csv").unlink()
    assert cli.main(["merge-manual", str(_ta_scores(tmp_path)), "--out", str(merged)]) == 0
    assert (merged / "grades_canvas.csv").is_file()
    assert not (merged / "grades_gradescope.csv").exists()


def _ta_scores(tmp_path):
    scores = tmp_path / "ta.csv"
    scores.write_text("submission,w1\ncarol,1\n")
    return scores


def test_canvas_roster_with_an_unknown_column_is_one_line(tmp_path, fake_core, capsys):
    """--canvas-assignment naming no column of the Canvas roster: one line, exit 2."""
    from tests.autograder.canvas import GRADEBOOK_EXPORT

    write_notebooks(tmp_path / "subs", ["alice"])
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                     "--roster", str(GRADEBOOK_EXPORT), "--canvas-assignment", "Lab 9"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "no assignment column 'Lab 9'" in error


def test_readme_instructor_commands_exist():
    """Every `python -m autograder COMMAND` the README names is a command of the CLI, and the
    instructor section names each of this issue's commands."""
    import re

    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    named = set(re.findall(r"python -m autograder ([a-z][a-z-]+)", readme))
    commands = set(cli._parser()._subparsers._group_actions[0].choices)
    assert named <= commands, named - commands
    assert {"grade", "merge", "merge-manual", "gradescope-zip", "footprint"} <= named
    assert "run_prairielearn" in readme and "--shard $i/N" in readme


def test_exports_of_a_half_scored_class(tmp_path, fake_core, capsys):
    """After merge-manual scores Alice's written questions and not Bob's, the Otter and
    Gradescope exports leave Bob's W cells empty and out of his maximum; the Canvas export
    holds the points so far and the command warns that one student waits for a TA score."""
    write_notebooks(tmp_path / "subs", ["alice", "bob"])
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--quiet",
                     "--format", "otter", "--format", "gradescope", "--format", "canvas"]) == 0
    assert "warning: 2 student(s) have written questions not graded yet" in \
        capsys.readouterr().out
    (tmp_path / "ta.csv").write_text("submission,w1,w2,w3\nalice,1,2,2\n")
    assert cli.main(["merge-manual", str(tmp_path / "ta.csv"), "--out", str(out)]) == 0
    assert "warning: 1 student(s) have written questions not graded yet" in \
        capsys.readouterr().out
    book = _gradebook(out / "gradebook.csv")
    with open(out / "grades_gradescope.csv", newline="") as handle:
        gradescope = {row["Submission"]: row for row in csv.DictReader(handle)}
    assert (gradescope["bob"]["w1"], gradescope["bob"]["Max Points"]) == ("", book["bob"]["max"])
    assert (gradescope["alice"]["w1"], gradescope["alice"]["Max Points"]) == ("1", "12")
    with open(out / "grades_otter.csv", newline="") as handle:
        otter = {row["file"]: row for row in csv.DictReader(handle)}
    assert otter["points-per-question"]["total_points_earned"] == "12"
    assert otter["bob"]["w2"] == "" and otter["bob"]["total_points_earned"] == book["bob"]["total"]
    with open(out / "grades_canvas.csv", newline="") as handle:
        canvas = {row["Student"]: row for row in csv.DictReader(handle)}
    assert canvas["    Points Possible"]["Pruning lab"] == "12"
    assert canvas["bob"]["Pruning lab"] == book["bob"]["total"]
    assert cli.main(["merge-manual", str(tmp_path / "ta.csv"), "--out", str(out),
                     "--export-points", "autograded"]) == 0
    assert "warning" not in capsys.readouterr().out
