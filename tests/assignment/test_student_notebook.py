"""The generated student notebook: valid Python, stubs instead of solutions, public tests only,
long cells skipped when grading, and the export of both model files."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import nbformat
import pytest

from assignment.build import MASTER
from autograder import questions
from autograder.checks.settings import calibration_path
from prunekit.export import SUBMISSION_ZIP

from .notebooks import ANSWER_TAG, IGNORE_TAG, code_cells, copy_folder, read, tags

# Solution-only API calls: none of these may appear anywhere in the student notebook.
REFERENCE_ONLY = ["kthvalue", "argsort", "reindex_out_channels", "ratios_per_boundary",
                  ".transpose(0, 1).reshape(in_channels"]
TABLE = questions.load()
# The questions whose prompt asks for functions or classes (the others ask for values).
FUNCTION_QUESTIONS = [q for q in TABLE.graded if TABLE[q].functions]
EXTENSION_CELLS = ("nm-prune-model", "nm-finetune", "nm-tradeoffs")  # the optional N:M section


def student_code(nb) -> str:
    return "\n".join(cell.source for cell in code_cells(nb))


def solution_lines(master) -> set[str]:
    """Stripped lines inside the master's solution blocks (``# BEGIN SOLUTION`` ... ``# END
    SOLUTION`` in code, ``# SOLUTION`` line ends), minus the ones its prompts give to students
    too, blank lines, comments and lines too short to tell anything."""
    solution, prompt = set(), set()
    for cell in code_cells(master):
        mode = None
        for line in cell.source.split("\n"):
            stripped = line.strip()
            if stripped.startswith("# BEGIN SOLUTION"):
                mode = "solution"
            elif stripped.endswith("# BEGIN PROMPT"):
                mode = "prompt"
            elif stripped.startswith("# END SOLUTION") or stripped.endswith("# END PROMPT"):
                mode = None
            elif stripped.endswith("# SOLUTION"):
                solution.add(stripped.removesuffix("# SOLUTION").strip())
            elif mode == "solution":
                solution.add(stripped)
            elif mode == "prompt":
                prompt.add(stripped)
    solution, prompt = {code_line(line) for line in solution}, {code_line(line) for line in prompt}
    return {line for line in solution - prompt
            if len(line) > 12 and not line.startswith(('"""', "return model", "def "))}


def code_line(line: str) -> str:
    """A line of code without indentation and trailing comment (hint comments are allowed)."""
    return line.split("  #")[0].strip() if not line.lstrip().startswith("#") else ""


def test_every_code_cell_compiles(student_nb):
    """Every code cell of the student notebook is valid Python (IPython ``%`` / ``!`` lines
    left out)."""
    for cell in code_cells(student_nb):
        source = "\n".join(line for line in cell.source.split("\n")
                           if not line.lstrip().startswith(("%", "!")))
        ast.parse(source, filename=f"cell {cell.get('id')}")


def test_no_solution_code(student_nb):
    """No line of a reference solution survives in the student notebook's code, and no
    solution-only call appears anywhere in it (markdown included)."""
    master = read(MASTER)
    text = "\n".join(cell.source for cell in student_nb.cells)
    student_lines = {code_line(line) for cell in code_cells(student_nb) for line in cell.source.split("\n")}
    leaked = sorted(solution_lines(master) & student_lines)
    assert not leaked, f"solution lines in the student notebook: {leaked}"
    for token in REFERENCE_ONLY:
        assert token not in text, f"{token!r} appears in the student notebook"
    assert "SOLUTION" not in student_code(student_nb)


def test_stubs_raise_not_implemented_with_a_hint(student_nb):
    """Each function question's answer cell raises NotImplementedError with a message that
    names the function; the value questions (q4, q6, q9) hold ``...`` placeholders."""
    answers = {cell.get("id"): cell.source for cell in student_nb.cells if ANSWER_TAG in tags(cell)}
    for question in FUNCTION_QUESTIONS:
        source = answers[f"{question}-solution"]
        hints = re.findall(r'raise NotImplementedError\("(\w+(?:\.\w+)?): [^"]+"\)', source)
        defined = re.findall(r"^\s*def (\w+)", source, re.MULTILINE)
        assert hints, f"{question}: no NotImplementedError stub with a hint"
        for name in defined:
            if name != "__init__":
                assert any(hint.split(".")[-1] == name for hint in hints), f"{question}: {name} has no stub"
    assert answers["q4-solution"].strip() == "target_sparsity = ..."
    assert answers["q9-solution"].strip() == "channel_prune_ratio = ..."
    assert re.findall(r"\": (\S+),", answers["q6-solution"]) == ["..."] * 9


def test_written_questions_have_answer_cells(student_nb):
    """Each written question (W1-W3 and the bonus W4) gets an empty Markdown answer cell, not
    the reference answer."""
    answers = [cell for cell in student_nb.cells
               if ANSWER_TAG in tags(cell) and cell.cell_type == "markdown"]
    assert len(answers) == len(TABLE.written)
    assert all(cell.source == "_Type your answer here, replacing this text._" for cell in answers)


def test_public_tests_only(student_nb, solved_nb):
    """The student notebook carries the public test cases of every autograded question in its
    metadata, none hidden, and no instructor note; the test files are those of the autograder."""
    student_tests = student_nb.metadata["otter"]["tests"]
    assert sorted(student_tests) == sorted(TABLE.graded)
    for name, text in student_tests.items():
        assert "hidden=True" not in text, f"{name} ships a hidden test"
        assert text.count("@test_case(") >= 1
    assert "Instructor note" not in "\n".join(cell.source for cell in student_nb.cells)
    assert "Instructor note" not in "\n".join(cell.source for cell in solved_nb.cells)


@pytest.mark.parametrize("which", ["built", "committed"])
def test_no_grader_code_reaches_students(built, which):
    """The student folder holds neither the kit's grader (``autograder/``: hidden checks,
    calibration) nor ``solutions/``, which the master ships in the autograder zip only
    (``autograder_files``), and no hidden test cell's source (the bridge calls); the one JSON
    file is the published thresholds, without the salt or the hidden split's seed."""
    from assignment.build import DEFAULT_STUDENT_DIR

    folder = built.student_dir if which == "built" else DEFAULT_STUDENT_DIR
    names = {p.relative_to(folder).parts[0] for p in folder.rglob("*")}
    assert not names & {"autograder", "solutions", "tests"}, sorted(names)
    published = folder / "prunekit" / "grading_thresholds.json"  # the numbers, nothing secret
    assert [p for p in folder.rglob("*.json") if p != published] == [], \
        "no calibration file for students"
    # the committed template holds no prunekit/ in a fresh clone (the build adds it)
    assert published.is_file() or which == "committed"
    for profile in ("offline", "cifar10-cpu") if published.is_file() else ():
        record = json.loads(calibration_path(profile).read_text())
        assert record["salt"] not in published.read_text()
        assert str(record["grading_split"]["seed"]) not in published.read_text()
    text = (folder / "pruning_lab.ipynb").read_text()
    for token in ["otter_bridge", "assert_check", "assert_question", "hidden: true",
                  "hidden=True", "autograder_files"]:
        assert token not in text, f"{token!r} appears in the student notebook"


def test_long_cells_are_skipped_when_grading(student_nb):
    """Cells that train, scan, fine-tune, measure latency, plot models or save the model files
    carry the otter_ignore tag; question and check cells do not."""
    long_work = re.compile(r"\b(make_loaders|train_base|sensitivity_scan|fine_tune|compare_latency|"
                           r"save_model|evaluate|plot_\w+)\(")
    for cell in code_cells(student_nb):
        if long_work.search(cell.source) and "def " not in cell.source:
            assert IGNORE_TAG in tags(cell), f"cell {cell.get('id')} is long but not otter_ignore"
        if ANSWER_TAG in tags(cell) or cell.source.startswith("grader."):
            assert IGNORE_TAG not in tags(cell), cell.get("id")
    saving = [cell for cell in code_cells(student_nb) if "save_submission_models(" in cell.source]
    assert len(saving) == 1 and IGNORE_TAG in tags(saving[0])


def test_skipped_extension_prints_one_line_per_cell(student_nb, capsys):
    """A student who leaves nm_prune as the stub (the bonus skipped) runs the extension's cells
    without an error: each prints one line saying it was skipped, and the model is untouched."""
    import copy

    import torch

    from prunekit.semi_structured import prune_nm
    from tests.helpers import small_vgg

    cells = {cell.get("id"): cell.source for cell in code_cells(student_nb)}
    namespace = {"copy": copy, "torch": torch, "prune_nm": prune_nm,
                 "model": small_vgg(seed=1, width=1 / 16)}
    before = copy.deepcopy(namespace["model"].state_dict())
    exec(compile(cells["q10-solution"], "q10-solution", "exec"), namespace)  # noqa: S102
    for cell_id in EXTENSION_CELLS:
        exec(compile(cells[cell_id], cell_id, "exec"), namespace)  # noqa: S102
        printed = capsys.readouterr().out.splitlines()
        assert len(printed) == 1 and printed[0].startswith("N:M extension skipped"), printed
    after = namespace["model"].state_dict()
    assert all(torch.equal(after[name], before[name]) for name in before)


def test_export_cell_is_the_kits_and_names_the_zip(student_nb):
    """Otter's export cell is replaced by the kit's checked export (skipped when grading); the
    text above it says to save first and which file to upload."""
    exports = [c for c in code_cells(student_nb) if "export_submission(grader)" in c.source]
    assert len(exports) == 1
    assert IGNORE_TAG in tags(exports[0])
    assert not any("grader.export(" in c.source for c in code_cells(student_nb))
    index = student_nb.cells.index(exports[0])
    instructions = student_nb.cells[index - 1].source
    assert SUBMISSION_ZIP in instructions and "save it" in instructions


def test_export_under_run_all_asks_to_save_first(built, workspace):
    """The notebook's init, saving and export cells in one fresh process, on the notebook file as
    it is before the student saved it: nothing is exported and the message says to save."""
    folder = copy_folder(built.student_dir, workspace)
    nb = read(folder / "pruning_lab.ipynb")
    init = next(c.source for c in code_cells(nb) if "otter.Notebook(" in c.source)
    export = next(c.source for c in code_cells(nb) if "export_submission(" in c.source)
    save = ("from prunekit.export import save_submission_models\n"
            "from prunekit.model import VGG\n"
            "save_submission_models(VGG(width=0.125), VGG(width=0.0625))\n"
            "import prunekit.export; prunekit.export.SAVE_WAIT_S = 0\n")
    run = subprocess.run([sys.executable, "-c", "\n".join([init, save, export])], cwd=folder,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "NOT EXPORTED" in run.stdout and "save the notebook" in run.stdout
    assert not list(folder.glob("*.zip"))


def student_notebook_markdown(nb):
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


@pytest.mark.parametrize("name", ["kernelspec", "language_info"])
def test_notebook_metadata_is_fixed(student_nb, name):
    """Kernel metadata comes from the master unchanged (it would otherwise drift per machine)."""
    assert student_nb.metadata[name] == nbformat.read(MASTER, as_version=4).metadata[name]
