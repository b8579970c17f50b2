"""Gradebooks that grade imports accept: the Otter, Gradescope and Canvas exports, one row per
student, with who submitted what from :mod:`autograder.frontends.roster`.

Exports (``--format``), one row per student (each member of a group gets the group's score):

- ``otter``: Otter Grade's ``final_grades.csv`` layout (``otter/grade/utils.py``): ``file``, one
  column per question, ``total_points_earned``, ``percent_correct`` (a **fraction**, 0..1, as
  Otter writes it), ``grading_status`` (``Completed``, else the one-word status such as
  ``timeout``), first row ``points-per-question`` (status ``--``); then ``reason`` (why a
  submission was not graded), ``name``, ``sid``, ``email``;
- ``gradescope``: ``Name``, ``SID``, ``Email``, ``Total Score``, ``Max Points``, ``Percent``
  (0..100) and one column per question: what Gradescope's "Upload scores" matches on SID or
  Email;
- ``canvas``: Canvas's gradebook import: ``Student``, ``ID`` (Canvas's user ID), ``SIS User ID``,
  ``SIS Login ID``, ``Section``, copied from the Canvas roster (Canvas matches a row on ``ID``,
  then ``SIS User ID``, then ``SIS Login ID``, then the name; nothing is guessed, so without a
  Canvas roster ``ID`` and ``SIS Login ID`` stay empty and ``SIS User ID`` is the student id),
  then one assignment column holding the points, headed exactly as in the Canvas roster
  (``Title (assignment id)``, so the import updates that assignment; a header without the id is
  matched on the title, or makes a new assignment), and a ``    Points Possible`` row with the
  maximum points.

What the exports' totals hold is an export setting kept in ``OUT/export_settings.json`` (so
that a later ``merge`` or ``merge-manual`` rewrites them the same way): ``points`` ``all`` (the
default: every question, the written ones once TAs scored them) or ``autograded`` (the written
questions stay their own columns in the Otter and Gradescope exports but count in no total,
percent or Canvas column: for a course that records the written part in its own LMS column),
``canvas_column``, the Canvas assignment column, and ``formats``, every export format a
grading into the folder (or a shard merged into it) asked for, so that a regrade, ``merge``
and ``merge-manual`` write the same ``grades_<format>.csv`` without ``--format`` again.

A submission whose submitters have none of Canvas's keys (``ID``, ``SIS User ID``, ``SIS Login
ID``: a file matching no student of the roster) has no row in the Canvas export, which Canvas
could not import, and the command line names those submissions
(:func:`canvas_unmatched`); they stay in the gradebook and the other exports. Without any
identity in the folder (no roster, no metadata) every row is kept, named by the submission
id, for Canvas's import to match by hand.

A written question no TA has scored yet for a submission is an empty cell in the Otter and
Gradescope exports and counts in neither that row's total nor its maximum (``Max Points``,
``percent_correct`` and ``Percent`` are of the row's own maximum; Otter's points-per-question
row and Canvas's Points Possible stay the class's full maximum). Canvas has one column: it
holds the points so far, so a student waiting for a TA's score shows less than they will;
the command line prints a warning naming how many students that is
(:func:`canvas_pending_warning`): merge the TA scores before uploading, or use
``--export-points autograded``.

With a late penalty (:mod:`autograder.frontends.lateness`), every total, percent and the
Canvas column are after the penalty; the question cells are the points earned, and the
Otter and Gradescope exports add a ``late_penalty`` column (the points deducted).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

from autograder.frontends.lateness import Policy, load_policy
from autograder.frontends.report import (bonus_questions, points_possible, points_text,
                                         score_cell, total_after_penalty, write_csv)
from autograder.frontends.report import possible_of as class_possible
from autograder.frontends.roster import CANVAS_ASSIGNMENT, Person
from autograder.frontends.written import written_questions
from autograder.results import SubmissionResult

EXPORT_SETTINGS_FILE = "export_settings.json"
FORMATS = ("otter", "gradescope", "canvas")
EXPORT_POINTS = ("all", "autograded")  # what the exports' totals hold (module docstring)
OTTER_POSSIBLE_LABEL = "points-per-question"  # Otter's first row (otter/grade/utils.py)
OTTER_POSSIBLE_STATUS = "--"  # the grading_status Otter gives that row
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # Canvas's second row, indented as Canvas writes it


@dataclass(frozen=True)
class ExportSettings:
    """How the exports are written (module docstring): ``points`` ``all`` or ``autograded``,
    ``canvas_column`` the header of the Canvas assignment column."""
    points: str = "all"
    canvas_column: str = CANVAS_ASSIGNMENT
    formats: tuple[str, ...] = ()  # the exports to write (those already written besides)


def save_export_settings(out_dir: Path, **changes) -> ExportSettings:
    """Store the settings in ``OUT/export_settings.json``, with ``changes`` (those not None)
    over what is stored (``formats`` are added to the stored ones); returns them. Side effect:
    creates ``out_dir``."""
    stored = load_export_settings(out_dir)
    changes = {key: value for key, value in changes.items() if value is not None}
    if "formats" in changes:
        changes["formats"] = _formats([*stored.formats, *changes["formats"]])
    settings = replace(stored, **changes)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / EXPORT_SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=1)
                                                      + "\n", encoding="utf-8")
    return settings


def load_export_settings(out_dir: Path) -> ExportSettings:
    """The export settings of ``OUT`` (the defaults where none is stored)."""
    stored = stored_export_settings(out_dir)
    return ExportSettings(**{**stored, "formats": _formats(stored.get("formats") or ())})


def _formats(formats) -> tuple[str, ...]:
    """The known export formats of ``formats``, once each, sorted."""
    return tuple(sorted(set(formats) & set(FORMATS)))


def stored_export_settings(out_dir: Path) -> dict[str, str]:
    """What ``OUT/export_settings.json`` holds (empty when there is none)."""
    path = Path(out_dir) / EXPORT_SETTINGS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------

def export_rows(fmt: str, results: Sequence[SubmissionResult], maxima: Mapping[str, float],
                identities: Mapping[str, Sequence[Person]],
                settings: ExportSettings = ExportSettings(),
                late: "Policy | None" = None) -> tuple[list[str], list[dict]]:
    """The header and rows of the ``fmt`` export (see the module docstring).

    Args:
        maxima: points possible per question (every question, written ones included).
        identities: submitters per submission id; a submission without any gets one row with
            empty identity columns (and its id as Otter's ``file``).
        settings: what the totals count and which Canvas column they go to.
        late: the folder's lateness policy (:mod:`autograder.frontends.lateness`): its penalty
            comes off every total (none by default).
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    writer = {"otter": _otter_rows, "gradescope": _gradescope_rows, "canvas": _canvas_rows}[fmt]
    return writer(results, _Points(dict(maxima), settings.points, late), identities,
                  settings.canvas_column)


def write_export(fmt: str, results: Sequence[SubmissionResult], maxima: Mapping[str, float],
                 identities: Mapping[str, Sequence[Person]], out_dir: Path) -> Path:
    """Write ``OUT/grades_<fmt>.csv`` with the folder's export settings and lateness policy;
    returns its path."""
    header, rows = export_rows(fmt, results, maxima, identities, load_export_settings(out_dir),
                               load_policy(out_dir))
    return write_csv(Path(out_dir) / f"grades_{fmt}.csv", header, rows)


def canvas_pending_warning(results: Sequence[SubmissionResult],
                           identities: Mapping[str, Sequence[Person]],
                           settings: ExportSettings) -> str:
    """The warning the command line prints beside a Canvas export whose points count written
    questions some students have no TA score for yet ("" when none, or when the totals hold
    the autograded points alone): their column holds the points so far, out of the full
    maximum. A bonus question not scored yet is not waited for: it is in no maximum, and a
    student who skipped it may never get a score."""

    if settings.points != "all":
        return ""
    waiting = sum(1 for result, _ in _canvas_students(results, identities)
                  if set(result.pending) - bonus_questions())
    if not waiting:
        return ""
    return (f"warning: {waiting} student(s) have written questions not graded yet: their "
            "Canvas points are the points so far (Points Possible counts every question); "
            "merge-manual the TA scores before uploading, or grade with --export-points "
            "autograded for the autograded points alone")


class _Points:
    """The questions of an export and the points its totals count: every question, or with
    ``points="autograded"`` the autograded ones alone (points, not percent); a written
    question not graded yet for a submission is in neither its total nor its maximum; a bonus
    question's points are in the totals, never in a maximum (extra credit: Otter's row of
    points possible and Canvas's Points Possible leave them out); the late penalty of
    ``late`` comes off each total."""

    def __init__(self, maxima: dict[str, float], points: str, late=None):
        if points not in EXPORT_POINTS:
            raise ValueError(f"export points must be one of {', '.join(EXPORT_POINTS)}, "
                             f"got {points!r}")
        self.maxima = maxima
        written = set(written_questions()) if points == "autograded" else set()
        self.counted = {q: maxima[q] for q in maxima if q.lower() not in written}
        self.possible = class_possible(self.counted)  # class-wide: every counted question
        self.late = late or Policy()

    def earned(self, result: SubmissionResult) -> float:
        """The points of ``result`` that the totals count, before any late penalty."""
        if len(self.counted) == len(self.maxima):
            return result.total
        scores = result.question_scores
        return sum(scores.get(q, 0.0) for q in self.counted)

    def penalty(self, result: SubmissionResult) -> float:
        """The late penalty of ``result`` (points)."""
        return self.late.penalty(result.submission, self.earned(result))

    def total(self, result: SubmissionResult) -> float:
        """The points of ``result`` that the totals count, the late penalty deducted."""
        return total_after_penalty(result, self.late, self.earned(result))

    def possible_of(self, result: SubmissionResult) -> float:
        """The points ``result`` is out of: the counted questions but its pending ones."""
        return points_possible(result, self.counted)

    def percent(self, result: SubmissionResult) -> float:
        """Percent (0..100) of the points ``result`` is out of."""
        possible = self.possible_of(result)
        return 100.0 * self.total(result) / possible if possible else 0.0

    def late_columns(self) -> list[str]:
        """``late_penalty`` where a penalty rule applies, else nothing."""
        return ["late_penalty"] if "late_penalty" in self.late.columns() else []

    def late_cells(self, result: SubmissionResult) -> dict[str, str]:
        """The ``late_penalty`` cell (empty for a submission without a time)."""
        if not self.late_columns():
            return {}
        timed = self.late.late_seconds(result.submission) is not None
        return {"late_penalty": points_text(self.penalty(result)) if timed else ""}


def _per_student(results, identities):
    """(result, person) pairs: one per submitter, or one with an empty Person."""
    for result in results:
        for person in identities.get(result.submission) or [Person()]:
            yield result, person


def _has_canvas_key(person: Person) -> bool:
    """Whether Canvas's import can match ``person`` to a student (ID, SIS User ID, SIS Login
    ID)."""
    return bool(person.canvas_id or person.sid or person.login)


def _canvas_students(results, identities):
    """The (result, person) pairs of the Canvas export: those Canvas can match, or every pair
    where none can be (module docstring)."""
    pairs = list(_per_student(results, identities))
    if not any(_has_canvas_key(person) for _, person in pairs):
        return pairs
    return [(result, person) for result, person in pairs if _has_canvas_key(person)]


def canvas_unmatched(results: Sequence[SubmissionResult],
                     identities: Mapping[str, Sequence[Person]]) -> list[str]:
    """The submissions left out of the Canvas export: no submitter Canvas can match."""
    kept = {result.submission for result, _ in _canvas_students(results, identities)}
    return [result.submission for result in results if result.submission not in kept]


def _otter_rows(results, points: _Points, identities, _column):

    questions = list(points.maxima)
    header = ["file", *questions, "total_points_earned", "percent_correct", "grading_status",
              "reason", *points.late_columns(), "name", "sid", "email"]
    rows = [{"file": OTTER_POSSIBLE_LABEL,
             **{q: points_text(points.maxima[q]) for q in questions},
             "total_points_earned": points_text(points.possible), "percent_correct": "1",
             "grading_status": OTTER_POSSIBLE_STATUS}]
    for result, person in _per_student(results, identities):
        rows.append({"file": result.submission,
                     **{q: score_cell(result, q) for q in questions},
                     "total_points_earned": points_text(points.total(result)),
                     "percent_correct": points_text(points.percent(result) / 100),
                     "grading_status": "Completed" if result.status == "graded"
                     else result.status, "reason": result.reason, **points.late_cells(result),
                     "name": person.name, "sid": person.sid, "email": person.email})
    return header, rows


def _gradescope_rows(results, points: _Points, identities, _column):

    questions = list(points.maxima)
    header = ["Name", "SID", "Email", "Total Score", "Max Points", "Percent", *questions,
              *points.late_columns(), "Status", "Submission"]
    rows = [{"Name": person.name, "SID": person.sid, "Email": person.email,
             "Total Score": points_text(points.total(result)),
             "Max Points": points_text(points.possible_of(result)),
             "Percent": points_text(points.percent(result)),
             **{q: score_cell(result, q) for q in questions}, **points.late_cells(result),
             "Status": result.status, "Submission": result.submission}
            for result, person in _per_student(results, identities)]
    return header, rows


def _canvas_rows(results, points: _Points, identities, column: str):
    """Canvas has one column: the points so far (a written question not graded yet adds
    nothing) after any late penalty; Points Possible is every counted question's (the CLI warns
    when written questions are pending, :func:`canvas_pending_warning`); a submission Canvas
    cannot match to a student has no row (:func:`canvas_unmatched`)."""
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    rows = [{"Student": CANVAS_POINTS_POSSIBLE, column: points_text(points.possible)}]
    rows += [{"Student": person.name or result.submission, "ID": person.canvas_id,
              "SIS User ID": person.sid, "SIS Login ID": person.login,
              "Section": person.section, column: points_text(points.total(result))}
             for result, person in _canvas_students(results, identities)]
    return header, rows
