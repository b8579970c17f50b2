"""Reading the lab's notebooks as data: cells, tags, error outputs, and filling a student
notebook with the master's solutions. Used by the build's helpers, the tests and the
notebook-time benchmark (so none of them imports another's private code)."""
from __future__ import annotations

from pathlib import Path

import nbformat

IGNORE_TAG = "otter_ignore"
ANSWER_TAG = "otter_answer_cell"
SOLUTION_TAG = "otter_assign_solution_cell"


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat version 4."""
    return nbformat.read(path, as_version=4)


def tags(cell) -> list[str]:
    """The cell's metadata tags."""
    return list(cell.get("metadata", {}).get("tags", []))


def code_cells(nb) -> list:
    """The notebook's code cells, in order."""
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def error_outputs(nb) -> list[str]:
    """``"<cell id>: <ename>: <evalue>"`` for every error output of an executed notebook."""
    return [f"{cell.get('id')}: {out.ename}: {out.evalue}"
            for cell in code_cells(nb) for out in cell.get("outputs", [])
            if out.output_type == "error"]


def fill_answers(student_nb, solved_nb) -> nbformat.NotebookNode:
    """The student notebook with every answer cell replaced by the master's solution cell of the
    same id (what a student who solved everything would have)."""
    solutions = {cell.get("id"): cell.source for cell in solved_nb.cells
                 if SOLUTION_TAG in tags(cell)}
    filled = nbformat.from_dict(student_nb)
    for cell in filled.cells:
        if ANSWER_TAG in tags(cell) and cell.get("id") in solutions:
            cell.source = solutions[cell.get("id")]
    return filled
