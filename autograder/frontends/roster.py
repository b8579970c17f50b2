"""Who submitted what, and gradebooks that grade imports accept.

Identity comes from one of two places (both optional; the roster wins where both name a
submission):

- a **Gradescope export** ("Download submissions"): a folder of ``submission_<n>/`` folders and a
  ``submission_metadata.yml`` mapping each folder name to its submitters
  (``:submitters: [{:name:, :sid:, :email:}]``; the keys are Ruby symbols, so they keep their
  leading colon, which is also accepted without); a group submission has several;
- a **roster CSV** (``--roster FILE``) with a header row and the columns ``submission`` (the
  file or folder name that was graded, with or without ``.ipynb`` / ``.zip``) and any of
  ``student_id`` (or ``sid``), ``name``, ``email``;
- a **Canvas gradebook export** (``--roster FILE``, the CSV of Canvas's Grades > Export, as it
  comes): header ``Student, ID, [SIS User ID, SIS Login ID, [Integration ID], [Root Account]],
  Section``, assignment columns titled ``Title (assignment id)``, then read-only totals; a
  ``Manual Posting`` row and the ``    Points Possible`` row under the header; the
  ``Student, Test`` row of Student View. It has no submission column, so each submission is
  matched to a student by its file name: Canvas's own "Download Submissions" naming
  ``<name>[_late]_<Canvas user ID>_<file id>_<file>`` gives the ``ID``; any other name must be
  the student's ``SIS User ID``, ``SIS Login ID`` (or its part before ``@``) or ``ID``; a
  submission whose Gradescope metadata names a student is matched on that student's sid or
  email. A ``submission`` column added to the export is used instead when present.

Identities are keyed by submission id (:func:`autograder.core.batch.safe_id` of the name, as the
batch makes them) and stored beside the records in ``OUT/identities.json`` so that a merge of
shards keeps them.

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
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from autograder.frontends.report import points_text, read_csv
from autograder.results import SubmissionResult

if TYPE_CHECKING:
    from autograder.frontends.lateness import Policy

METADATA_FILE = "submission_metadata.yml"
IDENTITIES_FILE = "identities.json"
EXPORT_SETTINGS_FILE = "export_settings.json"
FORMATS = ("otter", "gradescope", "canvas")
EXPORT_POINTS = ("all", "autograded")  # what the exports' totals hold (module docstring)
ROSTER_ALIASES = {"submission": "submission", "file": "submission", "student_id": "sid",
                  "sid": "sid", "id": "sid", "name": "name", "email": "email"}
OTTER_POSSIBLE_LABEL = "points-per-question"  # Otter's first row (otter/grade/utils.py)
OTTER_POSSIBLE_STATUS = "--"  # the grading_status Otter gives that row
CANVAS_ASSIGNMENT = "Pruning lab"  # the Canvas column when no Canvas roster names one
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # Canvas's second row, indented as Canvas writes it
CANVAS_TEST_STUDENT = "Student, Test"  # the Student View user every Canvas export lists
# Canvas's assignment column header, "Title (assignment id)" (Assignment.title_and_id)
CANVAS_ASSIGNMENT_HEADER = re.compile(r"\A(.*)\s\((\d+)\)\Z")
# Canvas's "Download Submissions" file name: "<name>[_late]_<user ID>_<file id>_<file name>"
CANVAS_DOWNLOAD_NAME = re.compile(r"(?:^|_)(\d+)_\d+_")
# A row under the header that is no student: Canvas's hidden-assignments row
CANVAS_POSTING_CELL = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)


class RosterError(ValueError):
    """A roster or metadata file that cannot be used; one line naming the file and the row."""


@dataclass(frozen=True)
class Person:
    """One student: ``name``, ``sid`` (student id: Gradescope's SID, Canvas's SIS User ID),
    ``email``, and from a Canvas roster ``canvas_id`` (Canvas's own user ``ID``), ``login``
    (``SIS Login ID``) and ``section``; any may be empty."""
    name: str = ""
    sid: str = ""
    email: str = ""
    canvas_id: str = ""
    login: str = ""
    section: str = ""


Identities = dict[str, list[Person]]  # submission id -> its submitters


# ---------------------------------------------------------------------------------------------
# Reading identities
# ---------------------------------------------------------------------------------------------

def gradescope_identities(export_folder: Path) -> Identities:
    """The submitters of each submission of a Gradescope export folder, keyed by submission id
    (the folder name made safe); empty when the folder has no ``submission_metadata.yml``.

    Raises:
        RosterError: the metadata file is not the YAML mapping Gradescope writes.
    """
    path = Path(export_folder) / METADATA_FILE
    return {submission_id(str(folder)): _submitters(entry, path, folder)
            for folder, entry in gradescope_metadata(export_folder).items()}


def gradescope_metadata(export_folder: Path) -> dict:
    """``submission_metadata.yml`` of a Gradescope export folder as YAML reads it (folder name
    -> entry); empty when there is none.

    Raises:
        RosterError: the file is not valid YAML, or not a mapping.
    """
    import yaml

    path = Path(export_folder) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        metadata = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RosterError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(metadata, dict):
        raise RosterError(f"{path} does not map submission folders to their submitters")
    return metadata


def metadata_field(entry, key: str):
    """One field (``submitters``, ``created_at``) of a metadata entry; None when absent."""
    return _symbol(entry, key) if isinstance(entry, dict) else None


def _submitters(entry, path: Path, folder) -> list[Person]:
    people = _symbol(entry, "submitters") if isinstance(entry, dict) else None
    if not isinstance(people, list):
        raise RosterError(f"{path}: {folder} has no list of :submitters:")
    return [Person(*(str(_symbol(person, key) or "").strip() for key in ("name", "sid", "email")))
            for person in people if isinstance(person, dict)]


def _symbol(mapping: dict, key: str):
    """``mapping[":key"]`` (a Ruby symbol as Gradescope writes it), else ``mapping["key"]``."""
    return mapping.get(f":{key}", mapping.get(key))


def roster_identities(path: Path, submissions: Sequence = (),
                      known: Mapping[str, Sequence[Person]] | None = None) -> Identities:
    """The roster (a roster CSV or a Canvas gradebook export, see the module docstring) as
    identities keyed by submission id.

    Args:
        submissions: the batch's submissions (``id``, ``path``): a Canvas gradebook export
            without a ``submission`` column names its students to them by file name.
        known: identities found already (Gradescope metadata), matched to a Canvas gradebook's
            students on sid or email where the file name matches none.

    Raises:
        RosterError: no such file, no ``submission`` column, none of student_id / name / email,
            or an empty submission cell (the message names the row).
    """
    path = Path(path)
    header, rows = _read_table(path)
    if is_canvas_gradebook(header):
        return canvas_identities(path, header, rows, submissions, known or {})
    columns = {ROSTER_ALIASES.get(name.strip().lower()): name for name in header}
    if "submission" not in columns or not {"sid", "name", "email"} & set(columns):
        raise RosterError(f"the roster {path} needs a header with a 'submission' column and at "
                          "least one of 'student_id', 'name', 'email' (or is a Canvas "
                          "gradebook export: Student, ID, ..., Section)")
    return _listed_identities(path, rows, columns["submission"], lambda row: Person(
        *((row.get(columns[key]) or "").strip() if key in columns else ""
          for key in ("name", "sid", "email"))))


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header of a CSV file and its rows with their line numbers."""
    try:
        header, rows = read_csv(path)
    except OSError as error:
        raise RosterError(f"cannot read the roster {path}: {error.strerror or error}") from None
    return header, list(enumerate(rows, start=2))


def _listed_identities(path: Path, rows, submission_column: str, person_of) -> Identities:
    """Identities from rows that name their submission in ``submission_column``."""
    identities: Identities = {}
    for line, row in rows:
        submission = (row.get(submission_column) or "").strip()
        if not submission:
            raise RosterError(f"{path}, line {line}: the submission cell is empty")
        identities.setdefault(submission_id(_stem(submission)), []).append(person_of(row))
    return identities


def identities_for(paths: Sequence[Path], roster: Path | None = None,
                   submissions: Sequence = ()) -> Identities:
    """Identities of a batch: the Gradescope metadata of every folder in ``paths``, then the
    roster (which wins for the submissions it names; ``submissions``: the batch's, which a
    Canvas gradebook roster is matched to)."""
    from autograder.core.batch import unwrapped

    identities: Identities = {}
    for path in map(Path, paths):
        if path.is_dir():
            identities.update(gradescope_identities(unwrapped(path)))
    if roster is not None:
        identities.update(roster_identities(roster, submissions, identities))
    return identities


# ---------------------------------------------------------------------------------------------
# Canvas gradebook exports as rosters
# ---------------------------------------------------------------------------------------------

def is_canvas_gradebook(header: Sequence[str]) -> bool:
    """Whether a CSV header is a Canvas gradebook export's (Canvas's own import test:
    ``Student`` then ``ID``, and a ``Section`` column before the assignments)."""
    names = [name.strip() for name in header]
    return len(names) > 3 and names[:2] == ["Student", "ID"] and "Section" in names


def canvas_identities(path: Path, header: Sequence[str], rows, submissions: Sequence,
                      known: Mapping[str, Sequence[Person]]) -> Identities:
    """The students of a Canvas gradebook export keyed by the submission each one made (see
    the module docstring for the matching); students without a submission are left out."""
    students = [(line, row) for line, row in rows if _is_canvas_student(row)]
    listed = next((name for name in header if name.strip().lower() == "submission"), None)
    if listed:
        return _listed_identities(path, students, listed, _canvas_person)
    by_id, by_key = _canvas_lookup([_canvas_person(row) for _, row in students])
    identities: Identities = {}
    for submission in submissions:
        people = _canvas_matches(submission, by_id, by_key, known.get(submission.id, ()))
        if people:
            identities[submission.id] = people
    return identities


def _is_canvas_student(row: Mapping) -> bool:
    """False for the rows of a Canvas export that are no student: Points Possible, the
    hidden-assignments (Manual Posting) row, Student View's test student."""
    name = (row.get("Student") or "").strip()
    if "Points Possible" in name or name == CANVAS_TEST_STUDENT:
        return False
    return not all(CANVAS_POSTING_CELL.match(cell if isinstance(cell, str) else "-")
                   for cell in row.values() if cell is not None)


def _canvas_person(row: Mapping) -> Person:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    login = cell("SIS Login ID")
    return Person(name=cell("Student"), sid=cell("SIS User ID"),
                  email=login if "@" in login else "", canvas_id=cell("ID"), login=login,
                  section=cell("Section"))


def _canvas_lookup(students: Sequence[Person]) -> tuple[dict[str, Person], dict]:
    """Students by Canvas user ID, and by each lower-cased name a file may have (SIS User ID,
    SIS Login ID and its part before ``@``, Canvas ID); a name two students share maps to
    None (it matches neither)."""
    by_id = {person.canvas_id: person for person in students if person.canvas_id}
    by_key: dict[str, Person | None] = {}
    for person in students:
        for key in _file_names(person):
            by_key[key] = person if by_key.get(key, person) == person else None
    return by_id, by_key


def _file_names(person: Person) -> set[str]:
    names = {person.sid, person.login, person.login.split("@")[0], person.canvas_id,
             person.email, person.email.split("@")[0]}
    return {name.lower() for name in names if name}


def _canvas_matches(submission, by_id: Mapping[str, Person], by_key: Mapping,
                    known: Sequence[Person]) -> list[Person]:
    """The Canvas students of one submission: by Canvas's download name, else by its file
    name, else by the sid or email of its known submitters; [] when none matches."""
    name = _stem(Path(submission.path).name) if submission.path else submission.id
    download = CANVAS_DOWNLOAD_NAME.search(name)
    if download and download.group(1) in by_id:
        return [by_id[download.group(1)]]
    for key in (name.lower(), submission.id.lower()):
        if by_key.get(key):
            return [by_key[key]]
    matched = [next((by_key[key] for key in _file_names(person) if by_key.get(key)), None)
               for person in known]
    return list(dict.fromkeys(person for person in matched if person))


def canvas_column(roster: Path | None, choice: str | None = None) -> str:
    """The header of the assignment column the Canvas export fills: the roster's column that
    ``choice`` names (its whole header, its title or its assignment id), else the roster's only
    assignment column, else the one titled ``Pruning lab``; without a Canvas roster ``choice``
    or ``Pruning lab`` (Canvas matches it on the title, or makes a new assignment).

    Raises:
        RosterError: ``choice`` names no column of the roster, or the roster has several
            assignment columns and nothing says which one.
    """
    header = _read_table(Path(roster))[0] if roster is not None else []
    if not is_canvas_gradebook(header):
        return choice or CANVAS_ASSIGNMENT
    columns = [name for name in header if CANVAS_ASSIGNMENT_HEADER.match(name)]
    wanted = [name for name in columns if _names_column(name, choice or CANVAS_ASSIGNMENT)]
    if not columns:
        return choice or CANVAS_ASSIGNMENT
    if len(wanted) == 1 or (len(columns) == 1 and not choice):
        return (wanted or columns)[0]
    shown = ", ".join(repr(name) for name in columns[:6]) + (" ..." if len(columns) > 6 else "")
    found = f"has no assignment column {choice!r}" if choice else "has several assignment columns"
    raise RosterError(f"the Canvas gradebook {roster} {found} ({shown}): name the one "
                      "this lab's points go to with --canvas-assignment TITLE")


def _names_column(header: str, choice: str) -> bool:
    """Whether ``choice`` is the column's header, its title or its assignment id."""
    title, assignment_id = CANVAS_ASSIGNMENT_HEADER.match(header).groups()
    return choice.strip().lower() in {header.lower(), title.strip().lower(), assignment_id}


def _stem(name: str) -> str:
    for suffix in (".ipynb", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def submission_id(name: str) -> str:
    """The submission id the batch gives a file or folder named ``name``."""
    from autograder.core.batch import safe_id

    return safe_id(name)



# ---------------------------------------------------------------------------------------------
# Storing them beside the records
# ---------------------------------------------------------------------------------------------

def save_identities(identities: Identities, out_dir: Path) -> Path:
    """Write ``OUT/identities.json`` (merged with what is there: a later batch into the same
    folder keeps the earlier submissions' identities); returns its path."""
    path = Path(out_dir) / IDENTITIES_FILE
    merged = {**load_identities(out_dir), **identities}
    path.write_text(json.dumps({sid: [asdict(p) for p in people]
                                for sid, people in sorted(merged.items())}, indent=1) + "\n",
                    encoding="utf-8")
    return path


def load_identities(out_dir: Path) -> Identities:
    """``OUT/identities.json`` (empty when there is none)."""
    path = Path(out_dir) / IDENTITIES_FILE
    if not path.is_file():
        return {}
    stored = json.loads(path.read_text(encoding="utf-8"))
    return {sid: [Person(**person) for person in people] for sid, people in stored.items()}


def identity_columns(people: Sequence[Person]) -> dict[str, str]:
    """``name``, ``sid``, ``email`` of a submission for the gradebook (group members joined by
    "; ")."""
    return {key: "; ".join(getattr(p, key) for p in people if getattr(p, key))
            for key in ("name", "sid", "email")}


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
    from autograder.frontends.lateness import load_policy
    from autograder.frontends.report import write_csv

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
    from autograder.frontends.report import bonus_questions

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
        from autograder.frontends.lateness import Policy
        from autograder.frontends.report import possible_of
        from autograder.frontends.written import written_questions

        if points not in EXPORT_POINTS:
            raise ValueError(f"export points must be one of {', '.join(EXPORT_POINTS)}, "
                             f"got {points!r}")
        self.maxima = maxima
        written = set(written_questions()) if points == "autograded" else set()
        self.counted = {q: maxima[q] for q in maxima if q.lower() not in written}
        self.possible = possible_of(self.counted)  # class-wide: every counted question
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
        from autograder.frontends.report import total_after_penalty

        return total_after_penalty(result, self.late, self.earned(result))

    def possible_of(self, result: SubmissionResult) -> float:
        """The points ``result`` is out of: the counted questions but its pending ones."""
        from autograder.frontends.report import points_possible

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
    from autograder.frontends.report import score_cell

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
    from autograder.frontends.report import score_cell

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
