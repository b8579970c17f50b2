"""Who submitted what, and gradebooks that grade imports accept.

Identity comes from one of two places (both optional; the roster wins where both name a
submission):

- a **Gradescope export** ("Download submissions"): a folder of ``submission_<n>/`` folders and a
  ``submission_metadata.yml`` mapping each folder name to its submitters
  (``:submitters: [{:name:, :sid:, :email:}]``; the keys are Ruby symbols, so they keep their
  leading colon, which is also accepted without); a group submission has several;
- a **roster CSV** (``--roster FILE``) with a header row and the columns ``submission`` (the
  file or folder name that was graded, with or without ``.ipynb`` / ``.zip``) and any of
  ``student_id`` (or ``sid``), ``name``, ``email``.

Identities are keyed by submission id (:func:`autograder.core.batch.safe_id` of the name, as the
batch makes them) and stored beside the records in ``OUT/identities.json`` so that a merge of
shards keeps them.

Exports (``--format``), one row per student (each member of a group gets the group's score):

- ``otter``: Otter Grade's ``final_grades.csv`` layout: ``file``, one column per question,
  ``total_points_earned``, ``percent_correct`` (a **fraction**, 0..1, as Otter writes it),
  ``grading_status``, first row ``points-per-question``; plus ``name``, ``sid``, ``email``;
- ``gradescope``: ``Name``, ``SID``, ``Email``, ``Total Score``, ``Max Points``, ``Percent``
  (0..100) and one column per question: what Gradescope's "Upload scores" matches on SID or
  Email;
- ``canvas``: Canvas's gradebook import: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
  ``Section``, one column named after the assignment holding the total points, a
  ``Points Possible`` row, and ``Current Score`` (percent, 0..100; a column Canvas reads as
  computed and ignores on import). Canvas matches rows on ``SIS User ID`` (the student id) or
  ``SIS Login ID`` (the email's local part when no login is given).
"""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

from autograder.results import SubmissionResult

METADATA_FILE = "submission_metadata.yml"
IDENTITIES_FILE = "identities.json"
FORMATS = ("otter", "gradescope", "canvas")
ROSTER_ALIASES = {"submission": "submission", "file": "submission", "student_id": "sid",
                  "sid": "sid", "id": "sid", "name": "name", "email": "email"}
OTTER_POSSIBLE_LABEL = "points-per-question"  # Otter's first row (otter/grade/utils.py)
CANVAS_ASSIGNMENT = "Pruning lab"  # the Canvas column; rename it to the course's assignment


class RosterError(ValueError):
    """A roster or metadata file that cannot be used; one line naming the file and the row."""


@dataclass(frozen=True)
class Person:
    """One student: ``name``, ``sid`` (student id), ``email``; any may be empty."""
    name: str = ""
    sid: str = ""
    email: str = ""


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
    return {_id(str(folder)): _submitters(entry, path, folder)
            for folder, entry in metadata.items()}


def _submitters(entry, path: Path, folder) -> list[Person]:
    people = _symbol(entry, "submitters") if isinstance(entry, dict) else None
    if not isinstance(people, list):
        raise RosterError(f"{path}: {folder} has no list of :submitters:")
    return [Person(*(str(_symbol(person, key) or "").strip() for key in ("name", "sid", "email")))
            for person in people if isinstance(person, dict)]


def _symbol(mapping: dict, key: str):
    """``mapping[":key"]`` (a Ruby symbol as Gradescope writes it), else ``mapping["key"]``."""
    return mapping.get(f":{key}", mapping.get(key))


def roster_identities(path: Path) -> Identities:
    """The roster CSV (see the module docstring) as identities keyed by submission id.

    Raises:
        RosterError: no such file, no ``submission`` column, none of student_id / name / email,
            or an empty submission cell (the message names the row).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise RosterError(f"cannot read the roster {path}: {error.strerror or error}") from None
    reader = csv.DictReader(text.splitlines())
    columns = {ROSTER_ALIASES.get((name or "").strip().lower()): name
               for name in reader.fieldnames or []}
    if "submission" not in columns or not {"sid", "name", "email"} & set(columns):
        raise RosterError(f"the roster {path} needs a header with a 'submission' column and at "
                          "least one of 'student_id', 'name', 'email'")
    identities: Identities = {}
    for line, row in enumerate(reader, start=2):
        submission = (row.get(columns["submission"]) or "").strip()
        if not submission:
            raise RosterError(f"{path}, line {line}: the submission cell is empty")
        person = Person(*((row.get(columns[key]) or "").strip() if key in columns else ""
                          for key in ("name", "sid", "email")))
        identities.setdefault(_id(_stem(submission)), []).append(person)
    return identities


def identities_for(paths: Sequence[Path], roster: Path | None = None) -> Identities:
    """Identities of a batch: the Gradescope metadata of every folder in ``paths``, then the
    roster (which wins for the submissions it names)."""
    from autograder.core.batch import unwrapped

    identities: Identities = {}
    for path in map(Path, paths):
        if path.is_dir():
            identities.update(gradescope_identities(unwrapped(path)))
    if roster is not None:
        identities.update(roster_identities(roster))
    return identities


def _stem(name: str) -> str:
    for suffix in (".ipynb", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _id(name: str) -> str:
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


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------

def export_rows(fmt: str, results: Sequence[SubmissionResult], maxima: Mapping[str, float],
                identities: Mapping[str, Sequence[Person]]) -> tuple[list[str], list[dict]]:
    """The header and rows of the ``fmt`` export (see the module docstring).

    Args:
        maxima: points possible per question (every question, written ones included).
        identities: submitters per submission id; a submission without any gets one row with
            empty identity columns (and its id as Otter's ``file``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    writer = {"otter": _otter_rows, "gradescope": _gradescope_rows, "canvas": _canvas_rows}[fmt]
    return writer(results, dict(maxima), identities)


def write_export(fmt: str, results: Sequence[SubmissionResult], maxima: Mapping[str, float],
                 identities: Mapping[str, Sequence[Person]], out_dir: Path) -> Path:
    """Write ``OUT/grades_<fmt>.csv``; returns its path."""
    from autograder.frontends.report import write_csv

    header, rows = export_rows(fmt, results, maxima, identities)
    return write_csv(Path(out_dir) / f"grades_{fmt}.csv", header, rows)


def _per_student(results, identities):
    """(result, person) pairs: one per submitter, or one with an empty Person."""
    for result in results:
        for person in identities.get(result.submission) or [Person()]:
            yield result, person


def _number(value: float) -> str:
    return f"{round(float(value), 4):g}"


def _percent(result: SubmissionResult, possible: float) -> float:
    """Percent (0..100) of the points possible."""
    return 100.0 * result.total / possible if possible else 0.0


def _otter_rows(results, maxima, identities):
    questions = list(maxima)
    possible = sum(maxima.values())
    header = ["file", *questions, "total_points_earned", "percent_correct", "grading_status",
              "name", "sid", "email"]
    rows = [{"file": OTTER_POSSIBLE_LABEL, **{q: _number(maxima[q]) for q in questions},
             "total_points_earned": _number(possible), "percent_correct": "1",
             "grading_status": "--"}]
    for result, person in _per_student(results, identities):
        scores = result.question_scores
        rows.append({"file": result.submission,
                     **{q: _number(scores.get(q, 0.0)) for q in questions},
                     "total_points_earned": _number(result.total),
                     "percent_correct": _number(_percent(result, possible) / 100),
                     "grading_status": "Completed" if result.status == "graded"
                     else f"{result.status}: {result.reason}"[:200],
                     **asdict(person)})
    return header, rows


def _gradescope_rows(results, maxima, identities):
    questions = list(maxima)
    possible = sum(maxima.values())
    header = ["Name", "SID", "Email", "Total Score", "Max Points", "Percent", *questions,
              "Status", "Submission"]
    rows = [{"Name": person.name, "SID": person.sid, "Email": person.email,
             "Total Score": _number(result.total), "Max Points": _number(possible),
             "Percent": _number(_percent(result, possible)),
             **{q: _number(result.question_scores.get(q, 0.0)) for q in questions},
             "Status": result.status, "Submission": result.submission}
            for result, person in _per_student(results, identities)]
    return header, rows


def _canvas_rows(results, maxima, identities):
    possible = sum(maxima.values())
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", CANVAS_ASSIGNMENT,
              "Current Score"]
    rows = [{"Student": "Points Possible", CANVAS_ASSIGNMENT: _number(possible)}]
    rows += [{"Student": person.name or result.submission, "ID": "", "SIS User ID": person.sid,
              "SIS Login ID": person.email.split("@")[0] if person.email else "",
              "Section": "", CANVAS_ASSIGNMENT: _number(result.total),
              "Current Score": _number(_percent(result, possible))}
             for result, person in _per_student(results, identities)]
    return header, rows
