"""Example submissions generated from the master notebook (never hand-written), for the demo and
the kit's tests: what a solved, a blank and a few typically buggy submissions look like.

Where each comes from:

- ``solved``: the student template (``student_template/pruning_lab.ipynb``) with every answer
  cell (Otter tag ``otter_answer_cell``) replaced by the master's solution cell of the same id,
  its solution markers resolved (prompt blocks and marker lines removed, ``# SOLUTION`` comments
  stripped), plus the reference model files;
- ``blank``: the student template as distributed, without model files (a student who exported
  before running anything);
- one example per bug: the solved notebook with one function of one answer cell rewritten
  (through its syntax tree, so the master's formatting does not matter) or one cell added, plus
  the reference model files, so that each bug costs points only where it is.

Where the student template has not been generated (``python -m assignment.build``), it is built
into a temporary folder from the master. The reference models (``finegrained.pt``,
``channel_pruned.pt``) are the ones the calibration measures (``autograder.core.references``; about
45 s of fine-tuning each on 2 CPU cores the first time, then cached in ``.cache/``).

Each example is an Otter-style export zip ``<name>.zip`` holding ``pruning_lab.ipynb`` and the
model files; ``manifest.json`` beside them says what each one is and which questions it should
lose points on. A folder whose manifest matches the current sources is reused as it is.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from autograder.manifest import KIT_ROOT
from autograder.master import defined_names, master_questions, resolve_solution
from prunekit.files import write_reproducible_zip

REPO_ROOT = KIT_ROOT
MASTER = REPO_ROOT / "assignment" / "pruning_lab.ipynb"
STUDENT_TEMPLATE = REPO_ROOT / "student_template" / "pruning_lab.ipynb"
DEFAULT_OUT = REPO_ROOT / "runs" / "examples"
ANSWER_TAG = "otter_answer_cell"
MANIFEST = "manifest.json"
EXAMPLES_FORMAT = 1  # bump when what an example holds changes (cached folders are rebuilt)


class ExampleError(RuntimeError):
    """An example cannot be made: a source is missing or a bug no longer applies to the master
    (the message says which and what to run)."""


# ---------------------------------------------------------------------------------------------
# The solved and blank notebooks
# ---------------------------------------------------------------------------------------------

def student_template() -> Path:
    """The student notebook, ``student_template/pruning_lab.ipynb`` (committed; the build writes
    it from the master).

    Raises:
        ExampleError: it is missing (the message says what to run).
    """
    if not STUDENT_TEMPLATE.is_file():
        raise ExampleError(f"{STUDENT_TEMPLATE.relative_to(REPO_ROOT)} is missing; run "
                           "`python -m assignment.build` to generate it from the master")
    return STUDENT_TEMPLATE


def solved_notebook(template: Path, master: Path = MASTER):
    """The template with every answer cell replaced by the master's resolved solution cell of
    the same id (an ``nbformat`` notebook).

    Raises:
        ExampleError: an answer code cell has no master cell with its id.
    """
    import nbformat

    solutions = {cell.get("id"): cell for cell in nbformat.read(master, as_version=4).cells}
    notebook = nbformat.read(template, as_version=4)
    for cell in notebook.cells:
        if ANSWER_TAG not in cell.metadata.get("tags", []):
            continue
        solution = solutions.get(cell.get("id"))
        if solution is None:
            if cell.cell_type == "code":
                raise ExampleError(f"answer cell {cell.get('id')!r} of {template} has no "
                                   f"solution cell with that id in {master}; rebuild the "
                                   "template with `python -m assignment.build`")
            continue  # written answers (Markdown) are graded by hand; left as the template has them
        cell.source = (resolve_solution(solution.source).rstrip("\n")
                       if cell.cell_type == "code" else solution.source)
    return notebook


# ---------------------------------------------------------------------------------------------
# Bugs: rewrite one function of the solved notebook, or add a cell
# ---------------------------------------------------------------------------------------------

class _CountingTransformer(ast.NodeTransformer):
    """A NodeTransformer that counts its changes (``changes``)."""
    changes = 0


class _GreaterToGreaterEqual(_CountingTransformer):
    """``a > b`` -> ``a >= b`` (keeps entries tied with the threshold)."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        if any(isinstance(op, ast.Gt) for op in node.ops):
            node.ops = [ast.GtE() if isinstance(op, ast.Gt) else op for op in node.ops]
            self.changes += 1
        return node


class _RoundToTruncation(_CountingTransformer):
    """``round(x)`` -> ``x`` inside ``int(...)`` (and a bare ``round(x)`` -> ``int(x)``):
    truncation instead of rounding."""

    def visit_Call(self, node):
        if _is_call_to(node, "int") and node.args and _is_call_to(node.args[0], "round") \
                and len(node.args[0].args) == 1:
            node.args[0] = node.args[0].args[0]
            self.changes += 1
        elif _is_call_to(node, "round") and len(node.args) == 1:
            node = ast.Call(func=ast.Name("int", ast.Load()), args=node.args, keywords=[])
            self.changes += 1
        self.generic_visit(node)
        return node


class _DescendingToAscending(_CountingTransformer):
    """``descending=True`` -> ``descending=False`` in a sort call."""

    def visit_keyword(self, node):
        if node.arg == "descending" and isinstance(node.value, ast.Constant) \
                and node.value.value is True:
            node.value = ast.Constant(False)
            self.changes += 1
        return node


def _is_call_to(node, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def rewrite_function(source: str, function: str, transformer: _CountingTransformer) -> str:
    """``source`` (one cell) with the top-level function ``function`` rewritten by
    ``transformer`` (the function is re-printed by ``ast.unparse``: its comments go, the rest of
    the cell stays as written).

    Raises:
        ExampleError: the cell does not define ``function`` or the transformer changed nothing.
    """
    lines = source.splitlines()
    tree = ast.parse(source)
    node = next((n for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if node is None:
        raise ExampleError(f"no top-level function {function!r} in the cell")
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    mutated = transformer.visit(copy.deepcopy(node))
    if not transformer.changes:
        raise ExampleError(f"{type(transformer).__name__} found nothing to change in "
                           f"{function}(); the bug no longer applies to the master")
    new = ast.unparse(ast.fix_missing_locations(mutated)).splitlines()
    return "\n".join(lines[:start] + new + lines[node.end_lineno:]) + "\n"


@dataclass(frozen=True)
class Bug:
    """How to make one buggy example from the solved notebook."""
    name: str
    description: str
    apply: Callable  # (notebook) -> None, changes it in place
    function: str = ""  # the function the bug lives in ("" for notebook-level bugs)


def _rewrite(function: str, transformer: type[_CountingTransformer]):
    def apply(notebook) -> None:
        cell = _cell_defining(notebook, function)
        cell.source = rewrite_function(cell.source, function, transformer()).rstrip("\n")
    return apply


def _cell_defining(notebook, name: str):
    for cell in notebook.cells:
        if cell.cell_type == "code" and name in defined_names(cell.source):
            return cell
    raise ExampleError(f"no code cell of the solved notebook defines {name!r}")


def _append_to_cell(function: str, text: str):
    def apply(notebook) -> None:
        cell = _cell_defining(notebook, function)
        cell.source = cell.source.rstrip("\n") + "\n" + text
    return apply


def _insert_cell_after(function: str, text: str):
    def apply(notebook) -> None:
        import nbformat

        cell = _cell_defining(notebook, function)
        index = notebook.cells.index(cell) + 1
        new = nbformat.v4.new_code_cell(text)
        new["id"] = "example-" + hashlib.sha256(text.encode()).hexdigest()[:8]
        notebook.cells.insert(index, new)
    return apply


BUGS: tuple[Bug, ...] = (
    Bug("bug_ties_kept",
        "fine_grained_prune keeps the entries tied with the threshold (>= instead of >)",
        _rewrite("fine_grained_prune", _GreaterToGreaterEqual), "fine_grained_prune"),
    Bug("bug_channels_truncated",
        "get_num_channels_to_keep truncates with int() instead of rounding",
        _rewrite("get_num_channels_to_keep", _RoundToTruncation), "get_num_channels_to_keep"),
    Bug("bug_sort_ascending",
        "apply_channel_sorting puts the least important channels first (ascending sort)",
        _rewrite("apply_channel_sorting", _DescendingToAscending), "apply_channel_sorting"),
    Bug("syntax_error",
        "an unfinished line (unclosed parenthesis) at the end of the get_sparsity cell",
        _append_to_cell("get_sparsity", "nonzeros = tensor.count_nonzero("), "get_sparsity"),
    Bug("sys_exit",
        "a cell that calls sys.exit() after the fine_grained_prune cell",
        _insert_cell_after("fine_grained_prune", 'import sys\nsys.exit("done for today")')),
    Bug("infinite_loop",
        "a cell that never ends (while True) after the get_input_channel_importance cell",
        _insert_cell_after("get_input_channel_importance",
                           "while True:  # waiting for something that never happens\n    pass")),
)


# ---------------------------------------------------------------------------------------------
# Writing the examples
# ---------------------------------------------------------------------------------------------

@dataclass
class Example:
    """One example submission: its zip, what it is, and the questions where it should lose
    points (``"all"`` for every one)."""
    name: str
    description: str
    zip_path: Path
    loses: list[str] = field(default_factory=list)
    has_models: bool = True


def make_examples(out_dir: Path = DEFAULT_OUT, profile_name: str = "offline",
                  models: dict[str, Path] | None = None, force: bool = False,
                  progress: bool = False) -> list[Example]:
    """Write every example zip and ``manifest.json`` into ``out_dir``; returns the examples.

    Args:
        models: model files to put in the zips (file name -> path); default: the reference
            models of ``profile_name`` (``autograder.core.references``, cached).
        force: rebuild even when the manifest says the folder is up to date.

    Raises:
        ExampleError: the master is missing, or a bug no longer applies to it.
    """
    import nbformat

    from autograder.core.references import reference_model_files  # torch: imported late

    out_dir = Path(out_dir)
    if not MASTER.is_file():
        raise ExampleError(f"the master notebook {MASTER.relative_to(REPO_ROOT)} is missing")
    models = models or reference_model_files(profile_name, progress=progress)
    template = student_template()
    key = _hash_files([MASTER, template, Path(__file__), *models.values()],
                      extra=f"{EXAMPLES_FORMAT}:{profile_name}")
    cached = _load_manifest(out_dir)
    if not force and cached and cached.get("key") == key and all(
            (out_dir / entry["zip"]).is_file() for entry in cached["examples"]):
        return [_example_from_entry(out_dir, entry) for entry in cached["examples"]]
    questions = master_questions(MASTER)
    notebook_name = template.name
    solved = solved_notebook(template)
    examples = [_write_example(out_dir, "solved", "the reference solution (every answer "
                               "cell from the master) with the reference models",
                               solved, notebook_name, models, [])]
    blank = nbformat.read(template, as_version=4)
    examples.append(_write_example(out_dir, "blank", "the student template as distributed, "
                                   "exported without model files", blank, notebook_name,
                                   {}, ["all"]))
    for bug in BUGS:
        notebook = copy.deepcopy(solved)
        bug.apply(notebook)
        loses = _questions_lost(bug, questions)
        examples.append(_write_example(out_dir, bug.name, bug.description, notebook,
                                       notebook_name, models, loses))
    _write_manifest(out_dir, key, profile_name, examples)
    return examples


def _questions_lost(bug: Bug, questions: dict[str, list[str]]) -> list[str]:
    if not bug.function:  # sys.exit, the infinite loop (its cell is stopped, the rest runs)
        return []
    return [q for q, names in questions.items() if bug.function in names]


def _write_example(out_dir: Path, name: str, description: str, notebook, notebook_name: str,
                   models: dict[str, Path], loses: list[str]) -> Example:
    """Write ``<name>.zip``: the notebook (as ``notebook_name``) and the model files, entries
    sorted and dated 1980-01-01 so the same inputs give the same bytes."""
    import nbformat

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.zip"
    entries = {notebook_name: nbformat.writes(notebook).encode("utf-8") + b"\n"}
    entries.update({file: Path(source).read_bytes() for file, source in models.items()})
    write_reproducible_zip(path, entries)
    return Example(name, description, path, loses, has_models=bool(models))


def _write_manifest(out_dir: Path, key: str, profile_name: str,
                    examples: Sequence[Example]) -> None:
    manifest = {"key": key, "profile": profile_name, "examples": [
        {"name": e.name, "description": e.description, "zip": e.zip_path.name,
         "loses": e.loses, "has_models": e.has_models} for e in examples]}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _load_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _example_from_entry(out_dir: Path, entry: dict) -> Example:
    return Example(entry["name"], entry["description"], out_dir / entry["zip"],
                   list(entry.get("loses", [])), bool(entry.get("has_models", True)))


def _hash_files(paths: Sequence[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()
