"""Tests of the report writers (gradebook, Gradescope results.json, feedback, class report,
summary) on fake results: they are pure functions of a list of SubmissionResult."""
from __future__ import annotations

import csv
import json

import pytest

from autograder.frontends import report
from autograder.results import CheckResult, SubmissionResult
from tests.autograder.fakes import QUESTION_MAX, fake_result


@pytest.fixture
def results() -> list[SubmissionResult]:
    return [fake_result("alice"),
            fake_result("bob", failed=("q2/mask_exact", "q12/speedup")),
            fake_result("carol", status="timeout", reason="the notebook ran past 60 s\n(cell 7)")]


def test_question_order_is_natural():
    """q2 sorts before q12 (numbers compare as numbers), everywhere columns are listed."""
    assert sorted(["q12", "q2", "q1", "w1"], key=report.question_key) == ["q1", "q2", "q12", "w1"]
    result = fake_result()
    assert report.gradebook_columns([result]) == ["id", "name", "sid", "email", "q1", "q2",
                                                  "q12", "total", "max", "percent", "status",
                                                  "isolation", "reason"]


def test_gradebook_csv_columns_and_rows(tmp_path, results):
    """One row per result with its submitters, per-question points, total, max (the same on
    every row), percent, status, isolation and a one-line reason; a row with no checks reads 0
    on every question."""
    from autograder.frontends.roster import Person

    identities = {"alice": [Person("Alice A", "111", "alice@example.edu")]}
    path = report.write_gradebook(results, tmp_path / "gradebook.csv", identities=identities)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "name", "sid", "email", "q1", "q2", "q12", "total", "max",
                             "percent", "status", "isolation", "reason"]
    assert [row["id"] for row in rows] == ["alice", "bob", "carol"]
    assert rows[0] | {} == {"id": "alice", "name": "Alice A", "sid": "111",
                            "email": "alice@example.edu", "q1": "2", "q2": "3", "q12": "1",
                            "total": "6", "max": "6", "percent": "100", "status": "graded",
                            "isolation": "", "reason": ""}
    assert rows[1]["name"] == "" and rows[1]["percent"] == "50"
    assert (rows[1]["q2"], rows[1]["q12"], rows[1]["total"]) == ("1", "0", "3")
    assert rows[2]["status"] == "timeout" and rows[2]["total"] == "0" and rows[2]["max"] == "6"
    assert rows[2]["reason"] == "the notebook ran past 60 s (cell 7)"  # one line


def test_gradebook_uses_question_max_for_rows_without_questions(tmp_path):
    """A row the batch made itself (no question_max) still gets every question's column."""
    bare = SubmissionResult("dave", "error", "grader error: boom")
    rows = report.gradebook_rows([bare], QUESTION_MAX)
    assert rows[0] == {"id": "dave", "name": "", "sid": "", "email": "", "q1": "0", "q2": "0",
                       "q12": "0", "total": "0", "max": "6", "percent": "0", "status": "error",
                       "isolation": "", "reason": "grader error: boom"}


def test_gradescope_results_schema(results):
    """results.json has a top-level score, stdout_visibility, output, and one test row per
    question with name, score, max_score, output and visibility; scores add up."""
    data = report.gradescope_results(results[1])
    json.dumps(data)  # plain JSON
    assert data["score"] == 3.0 and data["stdout_visibility"] == "hidden"
    assert isinstance(data["output"], str)
    assert [t["name"] for t in data["tests"]] == ["q1", "q2", "q12"]
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "status"}
        assert test["visibility"] == "visible"
        assert 0 <= test["score"] <= test["max_score"]
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    q2 = data["tests"][1]
    assert q2["status"] == "failed" and "mask_exact failed on a (3, 4) tensor" in q2["output"]
    assert "passed in_place" in q2["output"]


def test_gradescope_execution_time_is_the_total_not_the_sum_of_stages():
    """timings_s holds the stages and their "total"; adding them all would count time twice."""
    result = fake_result("erin")
    result.timings_s = {"load": 0.5, "sandbox": 2.0, "checks": 1.0, "total": 3.6}
    assert report.gradescope_results(result)["execution_time"] == 3.6


def test_gradescope_results_for_an_ungraded_submission(results):
    """A timeout gets zero on every question and an output that says why."""
    data = report.gradescope_results(results[2], visibility="after_published")
    assert data["score"] == 0 and "timeout" in data["output"]
    assert all(t["score"] == 0 and t["visibility"] == "after_published" for t in data["tests"])
    assert "Not checked" in data["tests"][0]["output"]
    with pytest.raises(ValueError):
        report.gradescope_results(results[0], visibility="sometimes")


def test_feedback_lists_failed_checks_and_nothing_else(results):
    """Feedback names each question's score and each failed check with its message; passed
    checks without a measurement are counted, not detailed."""
    text = report.feedback_text(results[1])
    assert "Score: 3 / 6" in text
    assert "q2" in text and "1 of 2 checks passed" in text
    assert "- mask_exact (0/2): mask_exact failed on a (3, 4) tensor" in text
    assert "- speedup (0/1)" in text
    assert "in_place" not in text  # passed checks are not listed one by one
    timeout = report.feedback_text(results[2])
    assert "Grading could not finish (timeout)" in timeout and "not checked" in timeout


def test_passed_model_checks_state_what_they_measured(results):
    """A passed check that measured a model (accuracy, size, MACs, speedup) says the value in
    the feedback and in its Gradescope row; a failed one keeps its message only."""
    measured = "91.20% on the hidden test split (at least 88.93%)"
    checks = [CheckResult("q6", "finegrained_accuracy", 3.0, 3.0, True, measured=measured),
              CheckResult("q6", "finegrained_size", 0.0, 1.0, False, "keeps 31.00%")]
    result = SubmissionResult("dora", "graded", checks=checks, question_max={"q6": 4.0})
    text = report.feedback_text(result)
    assert f"+ finegrained_accuracy: {measured}" in text
    assert "- finegrained_size (0/1): keeps 31.00%" in text
    row = report.gradescope_results(result)["tests"][0]["output"]
    assert f"passed finegrained_accuracy (3/3)\n    {measured}" in row


def test_feedback_clips_long_messages():
    """A runaway check message is cut, so feedback stays readable."""
    check = CheckResult("q1", "a", 0.0, 1.0, False, "x" * 5000)
    text = report.feedback_text(SubmissionResult("eve", "graded", checks=[check],
                                                 question_max={"q1": 1.0}))
    assert len(text) < 1000 and "…" in text


def test_class_stats_and_summary(results):
    """Class numbers: mean / median over every row, per-question means, status counts and the
    failure count of each check (most failed first)."""
    stats = report.class_stats(results)
    assert stats["submissions"] == 3 and stats["possible"] == 6
    assert stats["mean"] == pytest.approx(3.0) and stats["median"] == 3.0
    assert stats["per_question"]["q2"]["mean"] == pytest.approx(4 / 3)
    assert stats["statuses"] == {"graded": 2, "timeout": 1}
    assert stats["check_failures"] == {"q2/mask_exact": 1, "q12/speedup": 1}
    table = report.summary_table(results, per_submission=True)
    assert "submissions: 3" in table and "median 3" in table and "timeout 1" in table
    assert "carol" in table and "q12" in table


def test_class_report_png_and_markdown(tmp_path, results):
    """write_all writes the gradebook, results.json and feedback per submission, a PNG and the
    Markdown report that embeds it."""
    paths = report.write_all(results, tmp_path)
    png = paths["class_report_png"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    markdown = paths["class_report_md"].read_text()
    assert "![score histogram and failed checks](class_report.png)" in markdown
    assert "| q2/mask_exact | 1 |" in markdown and "| carol | timeout |" in markdown
    for name in ("alice", "bob", "carol"):
        assert json.loads((tmp_path / "results" / name / "results.json").read_text())["tests"]
        assert (tmp_path / "feedback" / f"{name}.txt").read_text().startswith("Feedback for")
    assert (tmp_path / "gradebook.csv").is_file()


def test_png_with_no_failures_and_no_results(tmp_path):
    """The chart copes with a class where nothing failed, and with an empty list."""
    report.write_class_report_png([fake_result("a")], tmp_path / "one.png")
    report.write_class_report_png([], tmp_path / "none.png")
    assert (tmp_path / "one.png").stat().st_size > 0 and (tmp_path / "none.png").stat().st_size > 0


# ---------------------------------------------------------------------------------------------
# Late penalty, written questions not graded yet and TA scores in what people read
# ---------------------------------------------------------------------------------------------

def _late_class():
    """alice on time (6/6), bob 9.3 h late under '10%/day, max 3 days' (3/6 earned, -10%),
    dave without a submission time (nothing deducted)."""
    from datetime import timedelta

    from autograder.frontends.lateness import Policy, parse_rule, parse_time

    due = parse_time("2026-12-01T00:00-08:00")
    policy = Policy(due, parse_rule("10%/day, max 3 days"),
                    {"alice": due, "bob": due + timedelta(hours=9.3)})
    results = [fake_result("alice"), fake_result("bob", failed=("q2/mask_exact", "q12/speedup")),
               fake_result("dave")]
    return results, policy


def test_late_penalty_reaches_feedback_results_summary_and_report(tmp_path):
    """The total after the penalty (report.total_after_penalty) is what the gradebook, the
    feedback's penalty line, results.json's top-level score, the summary and the class report
    give; results.json's rows stay the points earned; an on-time or untimed submission gets
    no penalty line."""
    results, policy = _late_class()
    bob = results[1]
    assert report.total_after_penalty(bob, policy) == pytest.approx(2.7)
    assert report.total_after_penalty(bob) == bob.total == 3.0
    line = ("Submitted 9.3 h after the due date: -10% (0.3 points) under the course's rule "
            "'10%/day, max 3 days'; score after the penalty 2.7 / 6")
    feedback = report.feedback_text(bob, late=policy).splitlines()
    assert feedback[1:3] == ["Score: 3 / 6", line]
    assert "after the due date" not in report.feedback_text(results[0], late=policy)
    assert "after the due date" not in report.feedback_text(results[2], late=policy)
    gradescope = report.gradescope_results(bob, late=policy)
    assert gradescope["score"] == pytest.approx(2.7)
    assert sum(test["score"] for test in gradescope["tests"]) == 3.0  # rows as earned
    assert line in gradescope["output"]
    assert report.gradescope_results(bob)["score"] == 3.0  # no policy (Gradescope itself)

    paths = report.write_all(results, tmp_path, late=policy)
    with open(paths["gradebook"], newline="") as handle:
        book = {row["id"]: row for row in csv.DictReader(handle)}
    assert book["bob"]["total"] == "2.7"
    written = json.loads((tmp_path / "results" / "bob" / "results.json").read_text())
    assert written["score"] == float(book["bob"]["total"])
    assert line in (tmp_path / "feedback" / "bob.txt").read_text()
    mean = sum(float(row["total"]) for row in book.values()) / 3
    stats = report.class_stats(results, late=policy)
    assert stats["mean"] == pytest.approx(mean) and stats["min"] == pytest.approx(2.7)
    assert (stats["penalized"], stats["penalty_points"]) == (1, pytest.approx(0.3))
    table = report.summary_table(results, late=policy, per_submission=True)
    assert f"total: mean {mean:.2f} / 6," in table and "min 2.7," in table
    assert "late penalty ('10%/day, max 3 days'): 1 submission(s) lost 0.3 points" in table
    assert any(line.startswith("bob") and " 2.7/6 " in line for line in table.splitlines())
    markdown = paths["class_report_md"].read_text()
    assert f"Total: mean {mean:.2f}" in markdown and "min 2.7," in markdown
    assert "Late penalty ('10%/day, max 3 days'): 1 submission(s)" in markdown


def test_exports_take_the_same_total_after_the_penalty(tmp_path):
    """The Gradescope/Canvas exports' totals are the gradebook's (one function)."""
    from autograder.frontends import exports

    results, policy = _late_class()
    maxima = report.question_maxima(results)
    _, rows = exports.export_rows("gradescope", results, maxima, {}, late=policy)
    totals = {row["Submission"]: float(row["Total Score"]) for row in rows}
    assert totals == {result.submission: pytest.approx(report.total_after_penalty(result, policy))
                      for result in results}


def test_penalty_line_past_the_cap_and_within_a_minute():
    """Past the cap everything is deducted; a few seconds late reads in seconds."""
    from datetime import timedelta

    results, policy = _late_class()
    alice = results[0]
    late = type(policy)(policy.due, policy.rule, {"alice": policy.due + timedelta(days=4)})
    assert ("-100% (6 points)" in report.penalty_sentence(alice, late, 6.0)
            and report.penalty_sentence(alice, late, 6.0).endswith("after the penalty 0 / 6"))
    soon = type(policy)(policy.due, policy.rule, {"alice": policy.due + timedelta(seconds=5)})
    assert report.penalty_sentence(alice, soon, 6.0).startswith("Submitted 5 s after")
    assert report.penalty_sentence(alice, type(policy)(policy.due, None, late.submitted),
                                   6.0) == ""  # a due date without a rule deducts nothing


# --- bonus questions (extra credit) -------------------------------------------------------------

def bonus_result(earned: float = 2.0, lost: float = 1.0) -> SubmissionResult:
    """A result of the real table's bonus question q10 (2 points possible to earn) beside q1 and
    q2 (5 points possible): ``earned`` on q10, ``lost`` points short on q2."""
    checks = [CheckResult("q1", "a", 2.0, 2.0, True),
              CheckResult("q2", "b", 3.0 - lost, 3.0, not lost, "b failed" if lost else ""),
              CheckResult("q10", "mask_exact", earned, 2.0, earned >= 2.0,
                          "" if earned >= 2.0 else "mask_exact failed")]
    return SubmissionResult("dana", "graded", checks=checks,
                            question_max={"q1": 2.0, "q2": 3.0, "q10": 2.0})


def test_bonus_points_add_to_the_score_not_to_the_maximum(tmp_path):
    """The gradebook's total holds the bonus, its max does not: 6 of 5 points is 120%."""
    [row] = report.gradebook_rows([bonus_result()])
    assert (row["q10"], row["total"], row["max"], row["percent"]) == ("2", "6", "5", "120")
    stats = report.class_stats([bonus_result()])
    assert stats["possible"] == 5 and stats["max"] == 6


def test_gradescope_shows_the_bonus_as_extra_credit():
    """The bonus row has max_score 0 (Gradescope's extra credit), says it is a bonus, and the
    top-level score is the total with it; the overall output says how much of it is bonus."""
    data = report.gradescope_results(bonus_result())
    row = next(test for test in data["tests"] if test["name"].startswith("q10"))
    assert row["name"] == "q10 (bonus)" and row["max_score"] == 0 and row["score"] == 2
    assert row["status"] == "passed" and row["output"].startswith("Bonus: up to 2 points")
    assert data["score"] == 6
    assert data["output"].startswith("Score 6 / 5 (2 of them bonus points).")


def test_feedback_summary_and_class_report_name_the_bonus(tmp_path):
    """Feedback gives the score with its bonus points and labels the question; the summary and
    the class report label it and say what it may add; the histogram keeps a score above the
    maximum."""
    results = [bonus_result(), bonus_result(earned=0.0, lost=0.0)]
    feedback = report.feedback_text(results[0])
    assert "Score: 6 / 5 (2 of them bonus points)" in feedback and "q10 (bonus)" in feedback
    summary = report.summary_table(results)
    assert "q10 (bonus)" in summary and "up to 2 points on top of the maximum" in summary
    assert "total: mean 5.50 / 5" in summary
    markdown = report.class_report_markdown(results)
    assert "| q10 (bonus) |" in markdown and "Bonus questions q10" in markdown
    assert report.write_class_report_png(results, tmp_path / "report.png").stat().st_size > 0


def test_a_bonus_left_as_the_stub_is_one_line_not_failures():
    """A bonus question whose every check failed on the template's NotImplementedError is
    'not attempted' in one line of the feedback and of its Gradescope row, and the class
    report's failed checks leave it out; a bonus attempted and failed is listed as usual."""
    stub = "nm_prune(tensor of shape [8, 4, 3, 3]) raised NotImplementedError: nm_prune: your code here"
    checks = [CheckResult("q1", "a", 2.0, 2.0, True),
              *(CheckResult("q10", name, 0.0, 1.0, False, stub)
                for name in ("mask_exact", "prunes_in_place"))]
    skipped = SubmissionResult("erin", "graded", checks=checks,
                               question_max={"q1": 2.0, "q10": 2.0})
    feedback = report.feedback_text(skipped)
    assert report.NOT_ATTEMPTED_TEXT in feedback and "NotImplementedError" not in feedback
    row = next(test for test in report.gradescope_results(skipped)["tests"]
               if test["name"].startswith("q10"))
    assert row["score"] == 0 and "Not attempted" in row["output"]
    assert "NotImplementedError" not in row["output"]
    attempted = bonus_result(earned=0.0, lost=0.0)
    failures = report.class_stats([skipped, attempted])["check_failures"]
    assert failures == {"q10/mask_exact": 1}
    assert "mask_exact failed" in report.feedback_text(attempted)
