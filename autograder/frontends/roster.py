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

"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

from autograder.frontends.report import read_csv

METADATA_FILE = "submission_metadata.yml"
IDENTITIES_FILE = "identities.json"
ROSTER_ALIASES = {"submission": "submission", "file": "submission", "student_id": "sid",
                  "sid": "sid", "id": "sid", "name": "name", "email": "email"}
CANVAS_ASSIGNMENT = "Pruning lab"  # the Canvas column when no Canvas roster names one
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
