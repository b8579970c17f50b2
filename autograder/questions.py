"""The question table: every question of the lab with its points, kind and checks.

The master notebook's ``# BEGIN QUESTION`` headers are where a question's points are written;
``python -m assignment.build`` reads them once (:func:`table_from_master`, the only parser of
those headers) together with the names of each question's hidden checks, and writes
``questions.json`` beside this file. Every consumer reads that file (:func:`load`): the grading
core, the checks' weights, the Gradescope and Otter zips (which ship it, not the master), the
reports, the written-answer pages. A test fails when the file and the master disagree, so
changing a question's points means editing the master and running the build.

A header with ``bonus: true`` makes its question extra credit (the optional N:M extension, q10
and W4): graded like any other, its points add to a submission's score but never to the points
possible (:meth:`Table.possible`), so the score may exceed the maximum. This table is the only
place that says which questions are bonus.

No torch here: the table is read by front ends that must stay light.
"""
from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

QUESTIONS_FILE = Path(__file__).resolve().with_name("questions.json")


@dataclass(frozen=True)
class Question:
    """One question: ``id`` as Otter names it ("q1", "w1"), ``points`` it can earn, ``manual``
    (graded by hand: the written questions), ``prompt`` (its markdown text), ``checks`` (the
    hidden checks' names, in grading order; empty for manual questions), ``bonus`` (extra
    credit: its points add to a score but not to the points possible)."""
    id: str
    points: float
    manual: bool
    prompt: str
    checks: tuple[str, ...] = ()
    bonus: bool = False

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions and classes its prompt asks for (backticked with a call, builtins
        aside), in prompt order: ("get_sparsity", "get_model_sparsity") for q1."""
        called = re.findall(r"`([A-Za-z_]\w*)\(", self.prompt)
        return tuple(name for name in dict.fromkeys(called) if not hasattr(builtins, name))

    @property
    def title(self) -> str:
        """A short title for a platform's row: "Question 1: get_sparsity, get_model_sparsity"
        (its :attr:`functions`), else the variable it asks to set ("Question 4:
        target_sparsity"), else "Question 4"."""
        number = re.search(r"\*\*Question ([^*]+)\*\*", self.prompt)
        label = f"Question {number.group(1).strip()}" if number else self.id
        names = list(self.functions) or \
            re.findall(r"(?:Set|Choose) [^`.]*`([A-Za-z_]\w*)`", self.prompt)[:1]
        return f"{label}: {', '.join(names[:4])}" if names else label


@dataclass(frozen=True)
class Table:
    """The questions in notebook order."""
    questions: tuple[Question, ...]

    @property
    def graded(self) -> tuple[str, ...]:
        """Ids of the autograded questions, in order."""
        return tuple(q.id for q in self.questions if not q.manual)

    @property
    def written(self) -> tuple[str, ...]:
        """Ids of the questions graded by hand, in order."""
        return tuple(q.id for q in self.questions if q.manual)

    @property
    def bonus(self) -> tuple[str, ...]:
        """Ids of the bonus questions (extra credit), in order."""
        return tuple(q.id for q in self.questions if q.bonus)

    def points(self, manual: bool = False) -> dict[str, float]:
        """Points each autograded question can earn, bonus questions included (``manual``: of
        the written ones)."""
        return {q.id: q.points for q in self.questions if q.manual == manual}

    def possible(self, manual: bool = False) -> float:
        """Points possible of the autograded questions (``manual``: of the written ones): the
        sum of their points without the bonus questions'."""
        return sum(q.points for q in self.questions if q.manual == manual and not q.bonus)

    def titles(self) -> dict[str, str]:
        """Question id -> its short title (:attr:`Question.title`: the rows' names on the
        platforms)."""
        return {q.id: q.title for q in self.questions}

    def __getitem__(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)


def load(path: Path = QUESTIONS_FILE) -> Table:
    """The question table written by the build.

    Raises:
        FileNotFoundError: with what to run, when the table was never built.
    """
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))["questions"]
    except FileNotFoundError:
        raise FileNotFoundError(f"no question table at {path}; run `python -m assignment.build` "
                                f"to generate it from the master notebook") from None
    return Table(tuple(Question(r["id"], float(r["points"]), bool(r["manual"]), r["prompt"],
                                tuple(r.get("checks", ())), bool(r.get("bonus", False)))
                       for r in records))


def table_from_master(master: Path, checks: Mapping[str, Sequence[str]] | None = None) -> Table:
    """Read the questions of an Otter Assign (v1 format) master (:mod:`autograder.master`): each
    ``# BEGIN QUESTION`` cell's ``name``, ``points`` (a number, or a list summed), ``manual``
    and ``bonus`` (the kit's own key, which Otter Assign ignores), and the markdown cell after
    it as the prompt; ``checks`` gives the check names per question id."""
    from autograder.master import cell_source, question_blocks

    cells = json.loads(Path(master).read_text(encoding="utf-8"))["cells"]
    questions = []
    for block in question_blocks(cells):
        value = block.config.get("points", 1)
        points = float(sum(value) if isinstance(value, list) else value)
        prompt = next((c for c in cells[block.start + 1:] if c.get("cell_type") == "markdown"), {})
        questions.append(Question(block.name, points, bool(block.config.get("manual")),
                                  cell_source(prompt), tuple((checks or {}).get(block.name, ())),
                                  bool(block.config.get("bonus"))))
    return Table(tuple(questions))


def write(table: Table, path: Path = QUESTIONS_FILE) -> bool:
    """Write ``table`` as JSON (stable, sorted keys); returns whether the file changed."""
    records = [{"id": q.id, "points": q.points, "manual": q.manual, "bonus": q.bonus,
                "prompt": q.prompt, "checks": list(q.checks)} for q in table.questions]
    text = json.dumps({"questions": records}, indent=1, ensure_ascii=False) + "\n"
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
