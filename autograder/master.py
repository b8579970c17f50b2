"""The master notebook's format (Otter Assign v1), read in one place: its raw configuration cells
(``# ASSIGNMENT CONFIG``, ``# BEGIN QUESTION`` with YAML after the first line) and the block of
cells each question spans (from its ``# BEGIN QUESTION`` to its ``# END QUESTION``).

The question table (``questions.table_from_master``), the build (hidden test cells, the Colab
variant's configuration) and the example submissions (the solved notebook, what each question's
solution defines) all read the master through these functions. Cells may be nbformat nodes or
the plain dicts of the notebook's JSON (a cell's source a string or a list of lines).
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

ASSIGNMENT_CONFIG = "# ASSIGNMENT CONFIG"
BEGIN_QUESTION = "# BEGIN QUESTION"
END_QUESTION = "# END QUESTION"


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def raw_config(cell: Mapping[str, Any], marker: str) -> dict | None:
    """The YAML settings of a raw cell whose first line is ``marker`` (``{}`` when it has none),
    else None."""
    source = cell_source(cell)
    if cell.get("cell_type") != "raw" or not source.lstrip().startswith(marker):
        return None
    import yaml

    return yaml.safe_load(source.split("\n", 1)[1] if "\n" in source else "") or {}


def assignment_config(cells: Sequence[Mapping[str, Any]]) -> dict:
    """The settings of the master's ``# ASSIGNMENT CONFIG`` cell.

    Raises:
        ValueError: there is no such cell."""
    return assignment_config_cell(cells)[1]


def assignment_config_cell(cells: Sequence[Mapping[str, Any]]) -> tuple[int, dict]:
    """(index, settings) of the ``# ASSIGNMENT CONFIG`` cell; ValueError when there is none."""
    for index, cell in enumerate(cells):
        config = raw_config(cell, ASSIGNMENT_CONFIG)
        if config is not None:
            return index, config
    raise ValueError("the notebook has no ASSIGNMENT CONFIG cell")


@dataclass(frozen=True)
class QuestionBlock:
    """One question of the master: its header's settings (``name``, ``points``, ``manual``,
    ``bonus``...) and the indexes of its header cell and of its ``# END QUESTION`` cell (the
    notebook's length when the block is not closed)."""
    config: dict
    start: int
    end: int

    @property
    def name(self) -> str:
        return str(self.config.get("name"))


def question_blocks(cells: Sequence[Mapping[str, Any]]) -> list[QuestionBlock]:
    """The master's questions in notebook order."""
    blocks = []
    for index, cell in enumerate(cells):
        config = raw_config(cell, BEGIN_QUESTION)
        if config is None:
            continue
        end = next((later for later in range(index + 1, len(cells))
                    if raw_config(cells[later], END_QUESTION) is not None
                    or raw_config(cells[later], BEGIN_QUESTION) is not None), len(cells))
        blocks.append(QuestionBlock(config, index, end))
    return blocks


# ---------------------------------------------------------------------------------------------
# Solution cells: the markers resolved (Otter Assign's rules, assignment/OTTER_NOTES.md section 4)
# and the names a cell defines
# ---------------------------------------------------------------------------------------------

_MARKER_LINE = re.compile(r"^\s*#\s*(BEGIN|END)\s+SOLUTION(\s+NO\s+PROMPT)?\s*$")
_PROMPT_START = re.compile(r"#\s*BEGIN\s+PROMPT\s*$")
_PROMPT_END = re.compile(r"#\s*END\s+PROMPT\s*$")
_SOLUTION_SUFFIX = re.compile(r"\s*#\s*(SOLUTION(\s+NO\s+PROMPT)?|SEED)\s*$")
_IGNORE_LINE = re.compile(r"#\s*IGNORE\s*$")


def resolve_solution(source: str) -> str:
    """A master solution cell as the solved code it stands for: prompt blocks (``# BEGIN PROMPT``
    ... ``# END PROMPT`` lines and what is between) and ``# BEGIN/END SOLUTION`` marker lines
    removed, ``# SOLUTION`` / ``# SEED`` comments at line ends stripped, ``# IGNORE`` lines
    dropped."""
    kept, in_prompt = [], False
    for line in source.splitlines():
        if in_prompt:
            in_prompt = not _PROMPT_END.search(line)
            continue
        if _PROMPT_START.search(line):
            in_prompt = True
            continue
        if _MARKER_LINE.match(line) or _IGNORE_LINE.search(line):
            continue
        kept.append(_SOLUTION_SUFFIX.sub("", line))
    return "\n".join(kept).strip("\n") + "\n"


def master_questions(master: Path) -> dict[str, list[str]]:
    """Question name -> names the question's solution cells define (functions, classes,
    assigned variables), in notebook order, read from the master."""
    cells = json.loads(Path(master).read_text(encoding="utf-8"))["cells"]
    return {block.name: [name for cell in cells[block.start + 1:block.end]
                         if cell.get("cell_type") == "code"
                         and not cell_source(cell).strip().startswith('""" # BEGIN TEST')
                         for name in defined_names(resolve_solution(cell_source(cell)))]
            for block in question_blocks(cells)}


# Cell magics that run their body in the notebook's namespace (what it defines stays defined).
BODY_RUNNING_CELL_MAGICS = ("time", "capture", "prun")


def defined_names(source: str) -> list[str]:
    """Top-level functions, classes and assigned names of one cell, read as IPython runs it
    (magics and shell lines transformed first; the body of a ``%%time`` or ``%%capture`` cell
    counts); ``[]`` if it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return []
    body = _cell_magic_body(tree)
    if body is not None:
        return defined_names(body)
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def _cell_magic_body(tree: ast.Module) -> str | None:
    """The body of a cell that is one ``get_ipython().run_cell_magic(name, line, body)`` call of
    a magic in :data:`BODY_RUNNING_CELL_MAGICS`, else None."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_cell_magic" and len(call.args) == 3
            and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    for arg in call.args)):
        return None
    return call.args[2].value if call.args[0].value in BODY_RUNNING_CELL_MAGICS else None
