"""Point values of the graded questions, from the question table (``autograder/questions.json``,
generated from the master notebook by ``python -m assignment.build``; see
``autograder/questions.py``)."""
from __future__ import annotations

from autograder.questions import load

TABLE = load()
GRADED_QUESTIONS: tuple[str, ...] = TABLE.graded


def question_points() -> dict[str, float]:
    """Points possible of every autograded question, in order."""
    return TABLE.points()
