"""Helpers of the assignment tests: build the lab once, copy a notebook folder, run notebooks
the way Otter grades them, and read back what ``grader.check`` said for every question."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from assignment.build import MASTER
from autograder.questions import table_from_master
from assignment.notebooks import (ANSWER_TAG, IGNORE_TAG, SOLUTION_TAG, code_cells,  # noqa: F401
                                  error_outputs, fill_answers, read, tags)

NOTEBOOK = MASTER.name
RESULTS_FILE = "check_results.json"

# Appended to a notebook: runs grader.check for every autograded question and writes, per test
# case, whether it passed, its message and its points (plain JSON, read by the tests).
REPORT_CELL = """
import json as _json
_report = {}
for _question in %r:
    _result = grader.check(_question)
    _report[_question] = [{"passed": bool(t.passed), "message": t.message or "",
                           "points": t.test_case.points, "hidden": bool(t.test_case.hidden)}
                          for t in _result.test_case_results]
with open(%r, "w") as _file:
    _json.dump(_report, _file)
"""


def autograded_questions() -> list[str]:
    """Names of the master's autograded (not manual) questions, in order."""
    return list(table_from_master(MASTER).graded)


def copy_folder(source: Path, target: Path) -> Path:
    """Copy a built notebook folder (notebook, prunekit/, checkpoints/) to ``target``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target








def grading_view(nb) -> nbformat.NotebookNode:
    """The cells Otter executes when it grades: ``otter_ignore`` cells are dropped; the export
    cell is dropped too (a no-op in grading mode, it needs the model files)."""
    nb = nbformat.from_dict(nb)
    nb.cells = [cell for cell in nb.cells
                if IGNORE_TAG not in tags(cell) and "grader.export(" not in cell.source]
    return nb


def execute(nb, folder: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute ``nb`` in a fresh kernel whose working directory is ``folder``, going on after
    errors (as a student's "run all" with errors, or Otter's grading, would)."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def execute_saving(nb, folder: Path, save_to: Path, save_before, env: dict | None = None,
                   kernel_arguments: tuple[str, ...] = (), timeout: int = 1200):
    """Execute ``nb`` in a fresh kernel in ``folder`` (going on after errors), writing the
    notebook as executed so far to ``save_to`` before every cell for which ``save_before(cell)``
    is true: what a student's (or Colab's) save does between cells. ``env``: the kernel's
    environment; ``kernel_arguments``: extra arguments of the kernel process."""
    def save(cell, cell_index, **_):
        if save_before(cell):
            nbformat.write(client.nb, str(save_to))

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}},
                            extra_arguments=list(kernel_arguments), on_cell_start=save)
    client.execute(env=env) if env is not None else client.execute()
    return nb


def run_checks(nb, folder: Path) -> dict[str, list[dict]]:
    """Execute the grading view of ``nb`` in ``folder`` (saved there as the lab's notebook, which
    ``grader`` reads its tests from), then every ``grader.check``; return per question the list
    of test-case results ``{"passed", "message", "points", "hidden"}``."""
    nbformat.write(nb, str(folder / NOTEBOOK))
    view = grading_view(nb)
    view.cells.append(nbformat.v4.new_code_cell(REPORT_CELL % (autograded_questions(), RESULTS_FILE)))
    executed = execute(view, folder)
    report_path = folder / RESULTS_FILE
    if not report_path.is_file():
        raise AssertionError("the report cell did not run; errors:\n" + "\n".join(error_outputs(executed)))
    return json.loads(report_path.read_text())




def exception_type(message: str) -> str | None:
    """The exception type named in a failed test case's message (Otter's format: a header, the
    line of the test that raised, then ``Type: message``), or None."""
    match = re.search(r"^(\w+(?:Error|Exception|Interrupt|Exit)|\w+Warning): ", message, re.MULTILINE)
    return match.group(1) if match else None

