"""Point values of the graded questions, from the question table (``autograder/questions.json``,
generated from the master notebook by ``python -m assignment.build``; see
``autograder/questions.py``)."""
from __future__ import annotations

from autograder.questions import load

GRADED_QUESTIONS: tuple[str, ...] = load().graded


def question_points() -> dict[str, float]:
    """Points possible of every autograded question, in order, read from the table file on
    every call: the build rewrites the table and then generates the hidden test cells from
    these points in the same process."""
    return load().points()
