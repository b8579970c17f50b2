"""What the instructor and the students read after a batch: gradebook, Gradescope results,
feedback, class report and the summary table.

Every function here is a pure function of a list of :class:`~autograder.results.SubmissionResult`
(the writers only add the file they are named after), so they are tested on fake results and
never see student code, hidden checks or the reference. Feedback repeats the checks' messages
(written by the checks to say which property failed on which small input) and nothing else: no
check source, no reference values, no student output.

Units: scores are points (floats); percentages are said to be percentages.

Bonus questions (the question table's ``bonus``: the optional N:M extension) are extra credit
everywhere here: their points count in a score but never in the points possible
(:func:`possible_of`), so a score may exceed its maximum and a percentage 100; each report
names them as bonus (:func:`question_label`), and a Gradescope row gives them ``max_score`` 0,
Gradescope's way of showing extra credit.
"""
from __future__ import annotations

import csv
import functools
import json
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from autograder.results import TA_SCORE_CHECK, CheckResult, SubmissionResult, one_line

GRADEBOOK_FIXED_COLUMNS = ("id", "name", "sid", "email")  # who: see autograder/frontends/roster.py
GRADEBOOK_TAIL_COLUMNS = ("total", "max", "percent", "status", "isolation", "reason")
MAX_MESSAGE_CHARS = 600  # one check's message in feedback / results.json (checks keep them short)
GRADEBOOK_REASON_CHARS = 300  # a submission's reason in the gradebook (one line)
TOP_FAILED_CHECKS = 25  # bars in the failure chart
# Gradescope visibility of each question's row: "visible", "hidden", "after_due_date" or
# "after_published" (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
DEFAULT_VISIBILITY = "visible"
GRADESCOPE_VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# On Gradescope itself (the zip's runs) the hidden checks stay hidden until the instructor
# publishes grades; `gradescope-zip --visibility` (kept in the zip) changes it.
GRADESCOPE_RUN_VISIBILITY = "after_published"


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

def question_key(question: str) -> tuple:
    """Sort key that puts "q2" before "q10" (digits compare as numbers)."""
    return tuple(int(part) if part.isdigit() else part
                 for part in re.split(r"(\d+)", question))


def questions_of(results: Iterable[SubmissionResult],
                 question_max: Mapping[str, float] | None = None) -> list[str]:
    """Every question seen in ``question_max`` or in any result (its max or its checks), in
    natural order ("q1", "q2", ..., "q10")."""
    names = set(question_max or {})
    for result in results:
        names.update(result.question_max)
        names.update(check.question for check in result.checks)
    return sorted(names, key=question_key)


def question_maxima(results: Sequence[SubmissionResult],
                    question_max: Mapping[str, float] | None = None) -> dict[str, float]:
    """Points possible per question: ``question_max`` where given, else the largest any result
    reports (a row that died early may report none)."""
    maxima: dict[str, float] = {}
    for result in results:
        for question, points in result.question_max.items():
            maxima[question] = max(maxima.get(question, 0.0), float(points))
    maxima.update({q: float(p) for q, p in (question_max or {}).items()})
    return {q: maxima.get(q, 0.0) for q in questions_of(results, question_max)}


PENDING_TEXT = "not graded yet"  # a written question no TA has scored: neither 0 nor in the maximum


@functools.lru_cache(maxsize=1)
def bonus_questions() -> frozenset[str]:
    """The bonus questions' ids, from the question table (``autograder/questions.json``)."""
    from autograder import questions

    return frozenset(questions.load().bonus)


NOT_ATTEMPTED_TEXT = "not attempted (a bonus question: nothing lost)"


def bonus_not_attempted(question: str, checks: Sequence[CheckResult]) -> bool:
    """Whether ``question`` is a bonus question left as the template's stub: every one of its
    checks failed on the stub's NotImplementedError. Reports then say so in one line instead of
    listing each check, and the class report does not count those checks as failed."""
    return (question in bonus_questions() and bool(checks)
            and all(not check.passed and "NotImplementedError" in check.message
                    for check in checks))


def question_label(question: str) -> str:
    """A question's id as reports show it: "q10 (bonus)" for a bonus question, else "q3"."""
    return f"{question} (bonus)" if question in bonus_questions() else question


def possible_of(maxima: Mapping[str, float], skip: Iterable[str] = ()) -> float:
    """The points possible of the questions of ``maxima``: the sum of their points without the
    bonus questions' (extra credit) and without those in ``skip``."""
    left_out = bonus_questions() | set(skip)
    return sum(points for question, points in maxima.items() if question not in left_out)


def bonus_earned(result: SubmissionResult) -> float:
    """The points ``result`` earned on bonus questions (part of ``result.total``)."""
    return sum(points for question, points in result.question_scores.items()
               if question in bonus_questions())


def points_possible(result: SubmissionResult, maxima: Mapping[str, float]) -> float:
    """The points ``result`` is out of: :func:`possible_of` ``maxima`` but the questions still
    waiting for a TA's score (``result.pending``)."""
    return possible_of(maxima, result.pending)


def total_after_penalty(result: SubmissionResult, late=None, earned: float | None = None) -> float:
    """The total every report gives ``result``: ``earned`` (default ``result.total``, the
    points of the questions scored) less the late penalty of ``late`` (a
    :class:`autograder.frontends.lateness.Policy`; none without one). The gradebook, the
    exports, results.json, the feedback, the summary and the class report all call this."""
    earned = result.total if earned is None else earned
    return earned - (late.penalty(result.submission, earned) if late else 0.0)


def penalty_sentence(result: SubmissionResult, late, possible: float) -> str:
    """One line for a submission the rule of ``late`` applies to and that was late: how late,
    the percent and points deducted, the rule and the score after it, e.g. "Submitted 9.3 h
    after the due date: -10% (2.35 points) under the course's rule '10%/day, max 3 days';
    score after the penalty 24.71 / 30". "" when on time, without a time or without a rule."""
    seconds = late.late_seconds(result.submission) if late and late.rule else None
    if not seconds:
        return ""
    when = (f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"
            if seconds < 3600 else f"{seconds / 3600:.1f} h")
    percent = _shown(100 * late.rule.fraction(seconds))
    deducted = late.penalty(result.submission, result.total)
    return (f"Submitted {when} after the due date: -{percent}% ({_shown(deducted)} points) "
            f"under the course's rule '{late.rule.text}'; score after the penalty "
            f"{_shown(total_after_penalty(result, late))} / {_shown(possible)}")


def score_cell(result: SubmissionResult, question: str) -> str:
    """A question's points as a CSV cell (at most 4 decimals; "0" when nothing passed), or ""
    for a question not graded yet (``result.pending``): exports call this too, so that an
    ungraded written question is never a 0."""
    if question in result.pending:
        return ""
    return points_text(result.question_scores.get(question, 0.0))


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def points_text(value: float, digits: int = 4) -> str:
    """Points as short text (gradebook cells, exports, Gradescope rows): 2 -> "2", 2.5 -> "2.5", 1/3 -> "0.3333" (``digits`` decimals at
    most; the gradebook keeps 4, text for people 2)."""
    return f"{round(float(value), digits):g}"


def _shown(value: float) -> str:
    """Points for people to read: at most 2 decimals."""
    return points_text(value, 2)


# ---------------------------------------------------------------------------------------------
# Gradebook CSV
# ---------------------------------------------------------------------------------------------

def gradebook_columns(results: Sequence[SubmissionResult],
                      question_max: Mapping[str, float] | None = None, late=None) -> list[str]:
    """``id``, ``name``, ``sid``, ``email`` (the submitters, empty when unknown), one column per
    question (natural order), the lateness columns of ``late`` (a
    :class:`autograder.frontends.lateness.Policy`: ``submitted_at``, ``late_hours``,
    ``late_penalty``; none without one), ``total``, ``max``, ``percent`` (0..100),
    ``status``, ``isolation`` (how the student code was isolated), ``reason``."""
    return [*GRADEBOOK_FIXED_COLUMNS, *questions_of(results, question_max),
            *(late.columns() if late else ()), *GRADEBOOK_TAIL_COLUMNS]


def identity_columns(people: Sequence) -> dict[str, str]:
    """``name``, ``sid``, ``email`` of a submission for the gradebook (group members joined by
    "; ")."""
    return {key: "; ".join(getattr(p, key) for p in people if getattr(p, key))
            for key in ("name", "sid", "email")}


def gradebook_rows(results: Sequence[SubmissionResult],
                   question_max: Mapping[str, float] | None = None,
                   identities: Mapping[str, Sequence] | None = None,
                   late=None) -> list[dict[str, str]]:
    """One row per result, in the given order, as strings keyed by :func:`gradebook_columns`.

    A question a result has no score for (it died before any check) reads 0, a written
    question no TA has scored yet is empty; ``max`` is the points possible of the whole
    assignment but the written questions not graded yet (:func:`points_possible`), so that a
    timed-out row is comparable with the graded ones; ``percent`` is of that ``max``.
    ``identities``: submission id -> its submitters
    (:class:`autograder.frontends.roster.Person`; a group's are joined by "; "). ``late``: the
    lateness policy (:class:`autograder.frontends.lateness.Policy`): its cells, and ``total``
    and ``percent`` after its penalty (the question cells are the points earned).
    """
    maxima = question_maxima(results, question_max)
    rows = []
    for result in results:
        possible = points_possible(result, maxima)
        row = {"id": result.submission,
               **identity_columns((identities or {}).get(result.submission, ()))}
        row.update({q: score_cell(result, q) for q in maxima})
        total = total_after_penalty(result, late)
        if late:
            row.update(late.cells(result.submission, result.total))
        row.update(total=points_text(total), max=points_text(possible),
                   percent=points_text(100 * total / possible if possible else 0.0, 2),
                   status=result.status, isolation=result.isolation,
                   reason=one_line(result.reason, GRADEBOOK_REASON_CHARS))
        rows.append(row)
    return rows


def write_gradebook(results: Sequence[SubmissionResult], path: Path,
                    question_max: Mapping[str, float] | None = None,
                    identities: Mapping[str, Sequence] | None = None, late=None) -> Path:
    """Write the gradebook CSV (see :func:`gradebook_rows`) to ``path``; returns it."""
    return write_csv(path, gradebook_columns(results, question_max, late),
                     gradebook_rows(results, question_max, identities, late))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def spreadsheet_safe(value):
    """``value`` as a CSV cell no spreadsheet runs: text starting like a formula (a student's
    name ``=HYPERLINK(...)`` from a roster or Gradescope's metadata) gets a leading ``'``;
    numbers, dashes alone (Otter's ``--``, which calls nothing) and other text are unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or not value.strip("-"):
        return value
    try:
        float(value)
        return value  # a number such as -1.5
    except ValueError:
        return "'" + value


def write_csv(path: Path, fieldnames: Sequence[str], rows: Sequence[Mapping]) -> Path:
    """Write ``rows`` as CSV with a header to ``path`` (every cell :func:`spreadsheet_safe`);
    returns it. Side effect: creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames))
        writer.writeheader()
        writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()}
                         for row in rows)
    return path


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV file's header and its rows (dicts keyed by the header), read as spreadsheets save
    it (UTF-8, with or without a byte-order mark).

    Raises:
        OSError: the file cannot be read (callers say which file, in their own terms).
    """
    reader = csv.DictReader(Path(path).read_text(encoding="utf-8-sig").splitlines())
    return [name or "" for name in reader.fieldnames or []], list(reader)


# ---------------------------------------------------------------------------------------------
# Gradescope results.json
# ---------------------------------------------------------------------------------------------

def gradescope_results(result: SubmissionResult,
                       question_max: Mapping[str, float] | None = None,
                       visibility: str = DEFAULT_VISIBILITY,
                       question_titles: Mapping[str, str] | None = None, late=None) -> dict:
    """The Gradescope ``results.json`` of one submission (format:
    https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format).

    One test row per question (``name``, ``score``, ``max_score``, ``status``, ``output``: each
    check passed or failed with its message, ``visibility``; a bonus question's row has
    ``max_score`` 0 and says how many points it may add; a written question not graded
    yet has no score, maximum nor status, and says so; a question a TA scored has no
    ``status`` either: Gradescope's statuses are "passed" and "failed", and a TA's partial
    credit is neither, its ``output`` says "Scored by a TA"), a top-level ``score`` (the total
    after any late penalty, :func:`total_after_penalty`: Gradescope takes it over the sum of
    the rows, which stay the points earned), a top-level ``output`` saying how grading went and
    any late penalty, and ``stdout_visibility: hidden`` (the grader's log is for the
    instructor).

    Args:
        question_max: points possible per question, for questions this result lacks.
        visibility: of the question rows; one of :data:`GRADESCOPE_VISIBILITIES`.
        question_titles: optional "q1" -> "Sparsity of a tensor" for the row names.
        late: the folder's lateness policy (:class:`autograder.frontends.lateness.Policy`);
            none on Gradescope itself, where Gradescope's own late policy applies.
    """
    if visibility not in GRADESCOPE_VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(GRADESCOPE_VISIBILITIES)}, "
                         f"got {visibility!r}")
    maxima = question_maxima([result], question_max)
    scores = result.question_scores
    tests = []
    for number, question in enumerate(maxima, start=1):
        checks = [check for check in result.checks if check.question == question]
        score, possible = scores.get(question, 0.0), maxima[question]
        title = (question_titles or {}).get(question)
        if question in result.pending:
            tests.append({"name": title or question, "number": str(number),
                          "output": f"{PENDING_TEXT.capitalize()}: a TA scores it by hand.",
                          "visibility": visibility})
            continue
        row = {"name": title or question, "number": str(number), "score": round(score, 4),
               "max_score": round(possible, 4),
               "status": "passed" if score >= possible else "failed",
               "output": _question_output(checks, result), "visibility": visibility}
        if question in bonus_questions():  # extra credit: max_score 0, the points on top
            row.update(name=f"{row['name']} (bonus)", max_score=0.0,
                       output=f"Bonus: up to {points_text(possible)} points on top of the "
                              f"points possible.\n{row['output']}")
        if _by_ta(checks):
            del row["status"]  # a TA's grade, not a check that passed or failed
        tests.append(row)
    return {
        "score": round(total_after_penalty(result, late), 4),
        "execution_time": round(result.timings_s.get("total", 0.0), 1),
        "output": _overall_output(result, points_possible(result, maxima), late),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _attempted_checks(result: SubmissionResult) -> list[CheckResult]:
    """``result``'s checks but those of bonus questions not attempted (:func:`bonus_not_attempted`)."""
    skipped = {question for question in {check.question for check in result.checks}
               if bonus_not_attempted(question, [c for c in result.checks if c.question == question])}
    return [check for check in result.checks if check.question not in skipped]


def _question_output(checks: list[CheckResult], result: SubmissionResult) -> str:
    """What a question's row says: every check with its points, failed ones with the message."""
    if not checks:
        why = result.reason or "no check of this question ran"
        return f"Not checked: {one_line(why, GRADEBOOK_REASON_CHARS)}"
    if bonus_not_attempted(checks[0].question, checks):
        return NOT_ATTEMPTED_TEXT.capitalize() + "."
    if _by_ta(checks):
        score = sum(check.points for check in checks)
        return "\n".join([f"Scored by a TA ({points_text(score)}/{points_text(checks[0].max_points)})",
                          *_ta_comments(checks)])
    lines = []
    for check in checks:
        mark = "passed" if check.passed else "FAILED"
        lines.append(f"{mark} {check.name} ({points_text(check.points)}/{points_text(check.max_points)})")
        said = check.measured if check.passed else check.message
        if said:
            lines.append("    " + _clip(said).replace("\n", "\n    "))
    return "\n".join(lines)


def _overall_output(result: SubmissionResult, possible: float, late=None) -> str:
    head = f"Score {points_text(result.total)} / {points_text(possible)}{_bonus_note(result)}."
    if result.pending:
        head += f" Not graded yet (in neither number): {', '.join(result.pending)}."
    penalty = penalty_sentence(result, late, possible)
    if penalty:
        head += f" {penalty}."
    if result.status == "graded":
        return head
    reason = one_line(result.reason, GRADEBOOK_REASON_CHARS)
    return (f"{head} Grading could not finish ({result.status}): {reason}. "
            "Questions that could not be checked score 0.")


def write_gradescope_results(result: SubmissionResult, path: Path, **options) -> Path:
    """Write :func:`gradescope_results` as JSON to ``path`` (options passed on); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_results(result, **options), indent=2) + "\n",
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Feedback text
# ---------------------------------------------------------------------------------------------

def feedback_text(result: SubmissionResult,
                  question_max: Mapping[str, float] | None = None, late=None) -> str:
    """A student's readable feedback: status, total (the points earned, bonus points said; a late submission
    then gets one line with the penalty of ``late`` and the score after it,
    :func:`penalty_sentence`), then per question its score, each failed check's name and
    message, what each passed model check measured and the TA's comments; a written question
    not graded yet says so and is in neither the score nor its maximum. Never more than the
    checks' own messages."""
    maxima = question_maxima([result], question_max)
    scores = result.question_scores
    possible = points_possible(result, maxima)
    lines = [f"Feedback for submission {result.submission}",
             f"Score: {_shown(result.total)} / {_shown(possible)}{_bonus_note(result)}"]
    penalty = penalty_sentence(result, late, possible)
    if penalty:
        lines.append(penalty)
    if result.pending:
        lines.append(f"Not graded yet (in neither number): {', '.join(result.pending)}")
    if result.status != "graded":
        lines.append(f"Grading could not finish ({result.status}): "
                     f"{one_line(result.reason, GRADEBOOK_REASON_CHARS)}")
        lines.append("Questions that could not be checked score 0.")
    elif result.reason:
        lines.append(f"Note: {one_line(result.reason, GRADEBOOK_REASON_CHARS)}")
    width = max((len(question_label(q)) for q in maxima), default=2)
    for question in maxima:
        checks = [check for check in result.checks if check.question == question]
        score = None if question in result.pending else scores.get(question, 0.0)
        if bonus_not_attempted(question, checks):
            lines += ["", f"{question_label(question):<{width}}  {'':>11}  {NOT_ATTEMPTED_TEXT}"]
            continue
        lines += ["", *_question_feedback(question_label(question), checks, score,
                                          maxima[question], width)]
    return "\n".join(lines) + "\n"


def _bonus_note(result: SubmissionResult) -> str:
    """" (2 of them bonus points)" after a score that holds bonus points, else ""."""
    bonus = bonus_earned(result)
    return f" ({_shown(bonus)} of them bonus points)" if bonus else ""


def _question_feedback(question: str, checks: Sequence[CheckResult], score: float | None,
                       possible: float, width: int) -> list[str]:
    """One question's feedback lines: its score (``None``: not graded yet) and state, then
    each failed check's message and what each passed model check measured, or the TA's
    comment."""
    head = f"{question:<{width}}  {{:>11}}  {{}}"
    shown = f"{_shown(score or 0.0)} / {_shown(possible)}"
    if score is None:
        return [head.format(f"- / {_shown(possible)}", PENDING_TEXT)]
    if _by_ta(checks):
        return [head.format(shown, "scored by a TA"), *_ta_comments(checks, "  ")]
    failed = [check for check in checks if not check.passed]
    if not checks:
        state = "not checked"
    elif failed:
        state = "the check failed" if len(checks) == 1 else \
            f"{len(checks) - len(failed)} of {len(checks)} checks passed"
    else:
        state = "the check passed" if len(checks) == 1 else f"all {len(checks)} checks passed"
    lines = [head.format(shown, state)]
    for check in failed:
        lines.append(f"  - {check.name} ({_shown(check.points)}/{_shown(check.max_points)}): "
                     + _clip(check.message or "failed").replace("\n", "\n    "))
    lines += [f"  + {check.name}: {_clip(check.measured)}" for check in checks
              if check.passed and check.measured]  # what the passed model checks measured
    return lines


def _by_ta(checks: Sequence[CheckResult]) -> bool:
    """Whether ``checks`` are a TA's score (a written question scored by hand)."""
    return bool(checks) and all(check.name == TA_SCORE_CHECK for check in checks)


def _ta_comments(checks: Sequence[CheckResult], indent: str = "") -> list[str]:
    """The TA's comments on a question, each as "TA: ..." after ``indent``."""
    return [f"{indent}TA: " + _clip(check.message).replace("\n", f"\n{indent}    ")
            for check in checks if check.message]


def write_feedback(result: SubmissionResult, path: Path, **options) -> Path:
    """Write :func:`feedback_text` to ``path``; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_text(result, **options), encoding="utf-8", errors="replace")
    return path


# ---------------------------------------------------------------------------------------------
# Class statistics, report (markdown + PNG) and the printed summary
# ---------------------------------------------------------------------------------------------

def class_stats(results: Sequence[SubmissionResult],
                question_max: Mapping[str, float] | None = None, late=None) -> dict:
    """Numbers about the class: count, total mean / median / min / max (points after the late
    penalty of ``late``, :func:`total_after_penalty`, as the gradebook has them; over every
    row, ungraded ones included at their score), ``possible`` (every question's points but
    the bonus questions', :func:`possible_of`) and
    ``row_possible`` (the distinct maxima of the rows, :func:`points_possible`, ascending),
    per-question mean, full-marks count and ``scored`` count (over the submissions with a score
    for it: a written question not graded yet is left out), status counts, failure count per
    autograder check ("q2/mask_exact" -> n; a TA's score is a grade, not a check, and is left
    out), ``pending``: the submissions with a written question not graded yet, and
    ``penalized`` / ``penalty_points``: the submissions that lost points to the late penalty
    and how many in all."""
    maxima = question_maxima(results, question_max)
    totals = [total_after_penalty(result, late) for result in results]
    per_question = {}
    for question, possible in maxima.items():
        scores = [result.question_scores.get(question, 0.0) for result in results
                  if question not in result.pending]
        per_question[question] = {
            "max": possible,
            "mean": statistics.fmean(scores) if scores else 0.0,
            "full_marks": sum(score >= possible for score in scores) if possible else 0,
            "scored": len(scores),
        }
    failures = Counter(f"{check.question}/{check.name}" for result in results
                       for check in _attempted_checks(result)
                       if not check.passed and check.name != TA_SCORE_CHECK)
    deducted = [result.total - total for result, total in zip(results, totals)]
    return {
        "submissions": len(results),
        "possible": possible_of(maxima),
        "row_possible": sorted({points_possible(result, maxima) for result in results}),
        "mean": statistics.fmean(totals) if totals else 0.0,
        "median": statistics.median(totals) if totals else 0.0,
        "min": min(totals, default=0.0),
        "max": max(totals, default=0.0),
        "per_question": per_question,
        "statuses": dict(sorted(Counter(result.status for result in results).items())),
        "pending": sum(bool(result.pending) for result in results),
        "penalized": sum(points > 0 for points in deducted),
        "penalty_points": sum(deducted),
        "check_failures": dict(sorted(failures.items(),
                                      key=lambda item: (-item[1], question_key(item[0])))),
    }


def _mean(numbers: Mapping) -> str:
    """A question's mean (2 decimals) of :func:`class_stats`; "-" when no submission has a
    score for it yet."""
    return f"{numbers['mean']:.2f}" if numbers["scored"] else "-"


def _out_of(stats: Mapping, unit: str = "") -> str:
    """What the class's totals are out of, as the gradebook rows have it: "32"; "26 (+6
    written, not graded yet)" when every row waits for the same written points; "26 to 32
    (written questions not graded yet for 4 submission(s))" when the rows differ; ``unit``
    (" points") after the number."""
    full, rows = stats["possible"], stats["row_possible"]
    if not rows or rows == [full]:
        return _shown(full) + unit
    if len(rows) == 1:
        return f"{_shown(rows[0])}{unit} (+{_shown(full - rows[0])} written, {PENDING_TEXT})"
    return (f"{_shown(rows[0])} to {_shown(rows[-1])}{unit} (written questions {PENDING_TEXT} "
            f"for {stats['pending']} submission(s))")


def _bonus_line(maxima: Mapping[str, float]) -> str:
    """One line naming the bonus questions and the points they may add ("" without any)."""
    bonus = [question for question in maxima if question in bonus_questions()]
    if not bonus:
        return ""
    return (f"bonus questions {', '.join(bonus)}: up to "
            f"{_shown(sum(maxima[q] for q in bonus))} points on top of the maximum")


def _penalty_note(stats: Mapping, late) -> str:
    """A line on the late penalty the totals are after ("" when it took nothing)."""
    if not stats["penalized"]:
        return ""
    return (f"late penalty ('{late.rule.text}'): {stats['penalized']} submission(s) lost "
            f"{_shown(stats['penalty_points'])} points in all; every total is after it")


def summary_table(results: Sequence[SubmissionResult],
                  question_max: Mapping[str, float] | None = None,
                  per_submission: bool = False, late=None) -> str:
    """The plain-text summary printed after a batch: submissions, mean / median total (after
    the late penalty of ``late``, as the gradebook has them) out of the rows' maximum
    (:func:`_out_of`), mean per question (over the submissions scored), status counts, how
    many have written questions not graded yet and lost points to the late penalty; with
    ``per_submission`` also one line per submission (its total of its own maximum,
    :func:`points_possible`)."""
    stats = class_stats(results, question_max, late)
    maxima = question_maxima(results, question_max)
    lines = [f"submissions: {stats['submissions']}   "
             f"total: mean {stats['mean']:.2f} / {_out_of(stats)}, median "
             f"{_shown(stats['median'])}, min {_shown(stats['min'])}, max {_shown(stats['max'])}"]
    statuses = ", ".join(f"{status} {count}" for status, count in stats["statuses"].items())
    lines.append(f"statuses: {statuses or 'none'}")
    if _bonus_line(maxima):
        lines.append(_bonus_line(maxima))
    if stats["pending"]:
        lines.append(f"written questions {PENDING_TEXT}: {stats['pending']} submission(s) "
                     "(in neither their score nor their maximum)")
    if _penalty_note(stats, late):
        lines.append(_penalty_note(stats, late))
    lines.append("")
    lines.append(f"{'question':<12}{'max':>6}{'mean':>8}{'full marks':>12}{'scored':>8}")
    for question, numbers in stats["per_question"].items():
        lines.append(f"{question_label(question):<12}{_shown(numbers['max']):>6}"
                     f"{_mean(numbers):>8}{numbers['full_marks']:>12}{numbers['scored']:>8}")
    if per_submission and results:
        width = max(10, *(len(result.submission) for result in results)) + 2
        totals = [f"{_shown(total_after_penalty(result, late))}/"
                  f"{_shown(points_possible(result, maxima))}" for result in results]
        total_width = max(len("total"), *map(len, totals))
        lines.append("")
        lines.append(f"{'submission':<{width}}{'total':>{total_width}}  status      reason")
        for result, total in zip(results, totals):
            lines.append(f"{result.submission:<{width}}{total:>{total_width}}  "
                         f"{result.status:<10}  {one_line(result.reason, 70)}".rstrip())
    return "\n".join(lines)


def class_report_markdown(results: Sequence[SubmissionResult],
                          question_max: Mapping[str, float] | None = None,
                          png_name: str = "class_report.png", late=None) -> str:
    """The class report as Markdown: summary (totals after the late penalty of ``late``, out of
    the rows' maximum, as the gradebook has them), per-question table, statuses, failed
    autograder checks (not TA scores) and the submissions that could not be graded, with the
    PNG embedded."""
    stats = class_stats(results, question_max, late)
    graded = stats["statuses"].get("graded", 0)
    penalty = _penalty_note(stats, late)
    bonus = _bonus_line(question_maxima(results, question_max))
    out = ["# Class report", "",
           f"{stats['submissions']} submissions ({graded} graded). Total: mean "
           f"{stats['mean']:.2f}, median {_shown(stats['median'])}, min {_shown(stats['min'])},"
           f" max {_shown(stats['max'])} of {_out_of(stats, ' points')} "
           "(over every submission; ones that could not be graded count at their score).", "",
           *([bonus[0].upper() + bonus[1:] + ".", ""] if bonus else []),
           *([penalty[0].upper() + penalty[1:] + ".", ""] if penalty else []),
           *_pending_note(stats),
           f"![score histogram and failed checks]({png_name})", "",
           "## Questions", "", "| question | max | mean | full marks | scored |",
           "|---|---:|---:|---:|---:|"]
    for question, numbers in stats["per_question"].items():
        out.append(f"| {question_label(question)} | {_shown(numbers['max'])} | {_mean(numbers)} | "
                   f"{numbers['full_marks']} | {numbers['scored']} |")
    out += ["", "## Statuses", "", "| status | submissions |", "|---|---:|"]
    out += [f"| {status} | {count} |" for status, count in stats["statuses"].items()]
    out += ["", "## Failed checks", ""]
    if stats["check_failures"]:
        out += ["| check | failed in |", "|---|---:|"]
        out += [f"| {name} | {count} |" for name, count in stats["check_failures"].items()]
    else:
        out.append("No check failed.")
    ungraded = [result for result in results if result.status != "graded"]
    if ungraded:
        out += ["", "## Not (fully) graded", "", "| submission | status | reason |", "|---|---|---|"]
        out += [f"| {r.submission} | {r.status} | "
                f"{one_line(r.reason, GRADEBOOK_REASON_CHARS).replace('|', '/')} |"
                for r in ungraded]
    return "\n".join(out) + "\n"


def _pending_note(stats: Mapping) -> list[str]:
    """The class report's lines on written questions not graded yet ([] when none)."""
    if not stats["pending"]:
        return []
    return [f"{stats['pending']} submission(s) have written questions not graded yet: those "
            "count in neither their score nor their maximum, and a question's mean is over "
            "the submissions scored (the `scored` column).", ""]


def write_class_report_png(results: Sequence[SubmissionResult], path: Path,
                           question_max: Mapping[str, float] | None = None, late=None) -> Path:
    """Draw the score histogram (left) and the failure count of each check (right, the
    :data:`TOP_FAILED_CHECKS` most failed) into a PNG at ``path``; returns it.

    Uses matplotlib's object API with the Agg canvas (no global pyplot state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stats = class_stats(results, question_max, late)
    failures = list(stats["check_failures"].items())[:TOP_FAILED_CHECKS]
    figure = Figure(figsize=(12, max(4.0, 0.3 * len(failures) + 1.5)), layout="constrained")
    FigureCanvasAgg(figure)
    scores_axes, checks_axes = figure.subplots(1, 2, width_ratios=(1, 1.3))
    possible = stats["possible"] or 1.0
    totals = [total_after_penalty(result, late) for result in results]
    scores_axes.hist(totals, bins=min(20, max(5, len(totals))),
                     range=(0, max(possible, *totals, 0.0)),  # bonus points may exceed it
                     color="tab:blue", edgecolor="white")
    scores_axes.set(title=f"Total scores ({len(totals)} submissions)",
                    xlabel=f"points (of {points_text(possible)})", ylabel="submissions")
    scores_axes.axvline(stats["mean"], color="tab:red", linestyle="--",
                        label=f"mean {stats['mean']:.1f}")
    scores_axes.yaxis.get_major_locator().set_params(integer=True)
    scores_axes.legend()
    if failures:
        names = [name for name, _ in failures][::-1]
        checks_axes.barh(names, [count for _, count in failures][::-1], color="tab:orange")
        checks_axes.set(title="Failed checks (submissions failing each)", xlabel="submissions")
        checks_axes.xaxis.get_major_locator().set_params(integer=True)
    else:
        checks_axes.text(0.5, 0.5, "no check failed", ha="center", va="center")
        checks_axes.set(title="Failed checks", xticks=[], yticks=[])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


# ---------------------------------------------------------------------------------------------
# Everything at once (what `python -m autograder grade` writes)
# ---------------------------------------------------------------------------------------------

def write_all(results: Sequence[SubmissionResult], out_dir: Path,
              question_max: Mapping[str, float] | None = None,
              visibility: str = DEFAULT_VISIBILITY,
              question_titles: Mapping[str, str] | None = None,
              identities: Mapping[str, Sequence] | None = None,
              late=None) -> dict[str, Path]:
    """Write every report of a batch under ``out_dir``:

    - ``gradebook.csv`` (with the submitters of ``identities`` and the lateness of ``late``);
    - ``results/<id>/results.json`` (Gradescope format) and ``feedback/<id>.txt`` per submission;
    - ``class_report.png`` and ``class_report.md``;

    every total after the penalty of ``late`` (:func:`total_after_penalty`).

    ``question_max`` (points possible per question) makes rows that died before any check show
    every question. Returns the paths written, by name ("gradebook", "class_report_png", ...).
    """
    out_dir = Path(out_dir)
    maxima = question_maxima(results, question_max)
    for result in results:
        try:
            write_gradescope_results(result, out_dir / "results" / result.submission /
                                     "results.json", question_max=maxima, visibility=visibility,
                                     question_titles=question_titles, late=late)
            write_feedback(result, out_dir / "feedback" / f"{result.submission}.txt",
                           question_max=maxima, late=late)
        except Exception as error:  # noqa: BLE001 - one submission's report must not stop the rest
            result.notes.append(f"its reports could not be written: {type(error).__name__}: "
                                f"{error}")
            result.reason = one_line(f"{result.reason}; reports not written "
                                     f"({type(error).__name__})".lstrip("; "),
                                     GRADEBOOK_REASON_CHARS)
    markdown = out_dir / "class_report.md"
    markdown.write_text(class_report_markdown(results, maxima, late=late), encoding="utf-8",
                        errors="replace")
    return {
        "gradebook": write_gradebook(results, out_dir / "gradebook.csv", maxima, identities,
                                     late),
        "results": out_dir / "results",
        "feedback": out_dir / "feedback",
        "class_report_png": write_class_report_png(results, out_dir / "class_report.png", maxima,
                                                   late),
        "class_report_md": markdown,
    }
