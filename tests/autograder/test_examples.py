"""Tests of the example submissions generated from the master notebook: how they are made
(solution markers resolved, one function rewritten per bug, Otter-style zips, caching) and, with
the real grader (slow), that they score as their manifest says."""
from __future__ import annotations

import ast
import json
import zipfile

import nbformat
import pytest

from autograder.frontends import examples
from autograder.master import master_questions, resolve_solution
from prunekit.submission import MODEL_FILES

needs_master = pytest.mark.skipif(not examples.MASTER.is_file(),
                                  reason="the master notebook assignment/pruning_lab.ipynb is "
                                         "not there yet")


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, examples.Example]:
    """The examples, made with stand-in model files (no fine-tuning)."""
    if not examples.MASTER.is_file():
        pytest.skip("the master notebook is not there yet")
    folder = tmp_path_factory.mktemp("examples")
    models = {}
    for name in MODEL_FILES:
        models[name] = folder / f"model-{name}"
        models[name].write_bytes(f"weights of {name}".encode())
    built = examples.make_examples(folder / "out", "offline", models=models)
    return {example.name: example for example in built}


def _notebook(example: examples.Example):
    with zipfile.ZipFile(example.zip_path) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".ipynb")]
        return nbformat.reads(archive.read(name).decode(), as_version=4)


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_resolve_solution_follows_otter_rules():
    """Prompt blocks and marker lines go, '# SOLUTION' comments are stripped, the rest stays."""
    source = '''def f(x):
    """Doc."""
    # BEGIN SOLUTION NO PROMPT
    return x + 1
    # END SOLUTION
    """ # BEGIN PROMPT
    raise NotImplementedError("f")
    """ # END PROMPT
answer = 0.6  # SOLUTION
scratch = 1  # IGNORE'''
    assert resolve_solution(source) == ('def f(x):\n    """Doc."""\n'
                                                 "    return x + 1\nanswer = 0.6\n")


def test_rewrite_function_changes_only_that_function():
    """A bug rewrites one function through its syntax tree and keeps the rest of the cell; a bug
    that finds nothing to change is an error (the master changed)."""
    cell = "import torch\n\ndef keep(x):\n    return x > 0  # comment\n\ndef other(x):\n" \
           "    return x > 1\n"
    new = examples.rewrite_function(cell, "keep", examples._GreaterToGreaterEqual())
    assert "return x >= 0" in new and "return x > 1" in new and new.startswith("import torch")
    with pytest.raises(examples.ExampleError, match="nothing to change"):
        examples.rewrite_function("def keep(x):\n    return x\n", "keep",
                                  examples._GreaterToGreaterEqual())
    rounded = examples.rewrite_function("def n(c, r):\n    return int(round(c * r))\n", "n",
                                        examples._RoundToTruncation())
    assert "return int(c * r)" in rounded


def question_of(name: str) -> str | None:
    """The question whose master solution defines ``name`` (a function, class or variable)."""
    return next((q for q, names in master_questions(examples.MASTER).items() if name in names), None)


@needs_master
def test_master_questions():
    """The master maps each graded function to its question."""
    questions = master_questions(examples.MASTER)
    assert question_of("fine_grained_prune") in questions
    assert question_of("apply_channel_sorting") in questions


def test_every_example_is_an_otter_style_zip(made):
    """Each example is a zip with the notebook (the template's name) and both model files,
    except the blank one, which has no model files."""
    expected = {"solved", "blank", *(bug.name for bug in examples.BUGS)}
    assert set(made) == expected
    for name, example in made.items():
        with zipfile.ZipFile(example.zip_path) as archive:
            names = sorted(archive.namelist())
        models = [] if name == "blank" else sorted(MODEL_FILES)
        assert names == sorted(["pruning_lab.ipynb", *models]), name


def test_solved_notebook_has_solutions_and_no_markers(made):
    """The solved notebook's answer cells hold the master's solutions: no stub raises
    NotImplementedError, no solution or prompt markers are left, every code cell parses."""
    notebook = _notebook(made["solved"])
    answers = [cell for cell in notebook.cells
               if examples.ANSWER_TAG in cell.metadata.get("tags", [])
               and cell.cell_type == "code"]
    assert answers
    for cell in answers:
        assert "NotImplementedError" not in cell.source
        assert "BEGIN SOLUTION" not in cell.source and "BEGIN PROMPT" not in cell.source
        assert "..." not in cell.source.split("\n")[0]
    for source in _code(notebook):
        if not source.lstrip().startswith(("%", "!")):
            ast.parse(source)


def test_blank_is_the_template(made):
    """The blank example's notebook is the student template as distributed (stubs raise)."""
    notebook = _notebook(made["blank"])
    assert any("NotImplementedError" in source for source in _code(notebook))
    template = nbformat.read(examples.student_template(),
                             as_version=4)
    assert _code(notebook) == _code(template)


def test_each_bug_changes_one_place(made):
    """A bug example differs from the solved notebook in exactly one cell (one rewritten or one
    added), and its manifest names the question it should lose points on."""
    solved = _code(_notebook(made["solved"]))
    for bug in examples.BUGS:
        buggy = _code(_notebook(made[bug.name]))
        if len(buggy) == len(solved):
            changed = [i for i, (a, b) in enumerate(zip(solved, buggy)) if a != b]
            assert len(changed) == 1, bug.name
        else:
            assert len(buggy) == len(solved) + 1, bug.name
            assert [s for s in buggy if s not in solved] and all(s in buggy for s in solved)
        if bug.function:
            assert made[bug.name].loses == [question_of(bug.function)], bug.name


def test_syntax_error_example_does_not_parse(made):
    """Exactly one cell of the syntax-error example fails to compile."""
    failures = 0
    for source in _code(_notebook(made["syntax_error"])):
        try:
            ast.parse(source)
        except SyntaxError:
            failures += 1
    assert failures == 1


def test_manifest_and_cache(made):
    """manifest.json lists every example; a second call with the same sources reuses the zips
    (same bytes, not rewritten), force=True rewrites them with the same bytes."""
    folder = made["solved"].zip_path.parent
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {entry["name"] for entry in manifest["examples"]} == set(made)
    models = {name: folder.parent / f"model-{name}" for name in MODEL_FILES}
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.zip")}
    again = examples.make_examples(folder, "offline", models=models)
    assert {e.name for e in again} == set(made)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.zip")} == before
    examples.make_examples(folder, "offline", models=models, force=True)
    assert {p.name: p.read_bytes() for p in folder.glob("*.zip")} == \
        {name: data for name, (_, data) in before.items()}


@pytest.mark.slow
@needs_master
def test_examples_score_as_their_manifest_says(demo_run, tmp_path):
    """With the real grader and the reference models (the demo's grading): the solved example
    gets full marks on every question, the blank one zero on every one, each bug loses points on
    its question and only there, sys.exit and the infinite loop cost nothing (the loop's cell is
    stopped at its share of the time limit and named);
    re-grading some of them with one worker gives the same scores as the demo's two."""
    from autograder.core import batch
    from autograder.frontends import course
    from autograder.results import SubmissionResult

    assert demo_run.done.returncode == 0, demo_run.done.stderr[-3000:]
    made = {e.name: e for e in examples.make_examples(examples.DEFAULT_OUT, "offline")}
    store = batch.RecordStore(demo_run.out)
    results = {name: SubmissionResult.from_dict(store.load(name)["result"]) for name in made}
    grader = batch.CoreGrader("offline")
    maxima = grader.question_max()
    full = {q: p for q, p in maxima.items()}
    assert results["solved"].question_scores == full, results["solved"]
    assert results["blank"].total == 0
    for name, example in made.items():
        if name in ("solved", "blank"):
            continue
        scores = results[name].question_scores
        lost = [q for q in maxima if scores.get(q, 0) < maxima[q]]
        assert lost == example.loses, (name, lost, results[name])
    assert results["infinite_loop"].status == "graded"
    assert "share of the time limit" in results["infinite_loop"].reason
    submissions = batch.discover([e.zip_path for e in made.values()])
    subset = [s for s in submissions if s.id in ("solved", "bug_ties_kept", "syntax_error")]
    again = course.grade_class(subset, grader, tmp_path / "again", workers=1, progress=False)
    assert {r.submission: r.question_scores for r in again.results} == \
        {s.id: results[s.id].question_scores for s in subset}
