"""The master notebook's format (Otter Assign v1), read in one place: its raw configuration cells
(``# ASSIGNMENT CONFIG``, ``# BEGIN QUESTION`` with YAML after the first line) and the block of
cells each question spans (from its ``# BEGIN QUESTION`` to its ``# END QUESTION``).

The question table (``questions.table_from_master``), the build (hidden test cells, the Colab
variant's configuration) and the example submissions (what each question's solution defines)
all read the master through these functions. Cells may be nbformat nodes or the plain dicts of
the notebook's JSON (a cell's source a string or a list of lines).
"""
from __future__ import annotations

from dataclasses import dataclass
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
