"""A stand-in for Canvas's gradebook import (Grades > Import), to check that an export lands
where Canvas would put it. It follows Canvas's importer (canvas-lms
app/models/gradebook_importer.rb): the header must start ``Student``, ``ID`` and end its
student columns with ``Section`` (``SIS User ID``, ``SIS Login ID``, ``Integration ID``,
``Root Account`` between them); computed columns (Current/Final Score, Points, Grade) are
dropped; an assignment column ``Title (id)`` is that assignment, any other header the assignment
of that title, else a new one; the row whose first cell holds ``Points Possible`` and the
Manual Posting row are no students; a student row is the course's student with that ``ID``,
else that ``SIS User ID``, else that ``SIS Login ID``, else that name, else a new student."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

# A Canvas gradebook export as Canvas writes it (Grades > Export): two assignments, a notes
# column (NOTES_COLUMNS), the Manual Posting and Points Possible rows, read-only totals, the
# test student.
GRADEBOOK_EXPORT = Path(__file__).parent / "fixtures" / "canvas_gradebook.csv"
NOTES_COLUMNS = ("Notes",)

COMPUTED = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|"
                      "Final Grade|Override Score|Override Grade|Override Status")
TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")
POSTING_ROW_CELL = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)


@dataclass
class Course:
    """The Canvas course an import goes into: students as (ID, SIS User ID, SIS Login ID,
    sortable name), assignments as id -> title, the titles of its custom (notes) columns."""
    students: list[tuple[str, str, str, str]]
    assignments: dict[str, str]
    custom_columns: tuple[str, ...] = ()


@dataclass
class Imported:
    """What the import would change: ``grades[(student, assignment)]`` (a student's Canvas ID
    or ``new:<name>``, an assignment id or ``new:<title>``), ``points_possible`` per
    assignment column."""
    grades: dict[tuple[str, str], str] = field(default_factory=dict)
    points_possible: dict[str, str] = field(default_factory=dict)


def parse_import(text: str, course: Course) -> Imported:
    """Parse a gradebook CSV as Canvas's import does; AssertionError where Canvas refuses it
    ("Invalid header row")."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    student_columns = _student_columns(header)
    assignments = {index: _assignment(name, course) for index, name in enumerate(header)
                   if index >= student_columns and not COMPUTED.search(name)
                   and name not in course.custom_columns}
    imported = Imported()
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            imported.points_possible = {a: row[i] for i, a in assignments.items()}
        elif not all(POSTING_ROW_CELL.match(cell) for cell in row):
            student = _student(row, header, course)
            imported.grades.update({(student, a): row[i].strip()
                                    for i, a in assignments.items()})
    return imported


def _student_columns(header: list[str]) -> int:
    """How many columns describe the student (name, ID, SIS ids, Section)."""
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], "Invalid header row"
    count = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        count += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        count += 2 + bool(re.search(r"Integration\s+ID", header[4]))
        count += bool(re.search(r"Root\s+Account", header[count - 1]))
    assert "Section" in header[count - 1], "Invalid header row"
    return count


def _assignment(name: str, course: Course) -> str:
    found = TITLE_AND_ID.match(name)
    if found and found.group(2) in course.assignments:
        return found.group(2)
    by_title = [i for i, title in course.assignments.items() if title == name]
    return by_title[0] if by_title else f"new:{found.group(1) if found else name}"


def _student(row: list[str], header: list[str], course: Course) -> str:
    cells = dict(zip(header, row))
    for key, index in (("ID", 0), ("SIS User ID", 1), ("SIS Login ID", 2)):
        value = cells.get(key, "")
        match = [s[0] for s in course.students if value and s[index] == value]
        if match:
            return match[0]
    match = [s[0] for s in course.students if s[3] == row[0]]
    return match[0] if match else f"new:{row[0]}"


def course_of(gradebook_text: str, custom_columns: tuple[str, ...] = ()) -> Course:
    """The course a Canvas gradebook export was exported from (its students and assignments;
    ``custom_columns``: the titles of its notes columns)."""
    rows = list(csv.DictReader(io.StringIO(gradebook_text)))
    students = [(r["ID"], r["SIS User ID"], r["SIS Login ID"], r["Student"]) for r in rows
                if r["ID"]]
    assignments = dict(reversed(TITLE_AND_ID.match(name).groups())
                       for name in rows[0] if TITLE_AND_ID.match(name))
    return Course(students, assignments, custom_columns)
