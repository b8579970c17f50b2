"""The public tests, run as a student runs them (``grader.check`` in a Jupyter kernel, long
cells skipped): the reference passes every one; the blank template and stubs that return
``None`` fail every one with a helpful message, never with an error of the test itself."""
from __future__ import annotations

import re

import pytest

from autograder import questions

from .notebooks import (ANSWER_TAG, autograded_questions, copy_folder, exception_type,
                        run_checks, tags)

# Exceptions a failing public test may show: its own assertion, or the stub's hint.
HELPFUL = {"AssertionError", "NotImplementedError"}


def cases(report):
    return [(question, index + 1, case) for question, results in report.items()
            for index, case in enumerate(results)]


def test_reference_passes_every_public_test(built, solved_nb, workspace):
    """The solved notebook (beside the reference model files) passes every test case of q1-q10:
    the public ones (0 points each) and, since the autograder notebook holds them too, the
    hidden ones (the kit's checks through the Otter bridge), worth 26 points in all and the 2
    bonus points of q10 (Otter, which has no extra credit, counts them as possible too)."""
    import shutil

    from assignment.build import reference_model_files

    folder = copy_folder(built.autograder_dir, workspace)
    for name, path in reference_model_files().items():
        shutil.copy2(path, folder / name)
    report = run_checks(solved_nb, folder)
    assert sorted(report) == sorted(autograded_questions())
    failed = [f"{q} - {i}: {c['message']}" for q, i, c in cases(report) if not c["passed"]]
    assert not failed, "\n".join(failed)
    assert all(any(not c["hidden"] for c in results) for results in report.values())
    assert all(any(c["hidden"] for c in results) for results in report.values())
    assert all(c["points"] == 0 for _, _, c in cases(report) if not c["hidden"])
    points = sum(sum(c["points"] for c in results) for results in report.values())
    table = questions.load()
    assert points == pytest.approx(table.possible() + sum(table[q].points for q in table.bonus
                                                          if q in table.graded))


def test_blank_template_fails_every_public_test_helpfully(built, student_nb, workspace):
    """On the notebook as distributed, every public test case fails, with an assertion message
    or the stub's NotImplementedError hint; function stubs show their hint."""
    folder = copy_folder(built.student_dir, workspace)
    report = run_checks(student_nb, folder)
    assert sorted(report) == sorted(autograded_questions())
    for question, index, case in cases(report):
        name = f"{question} - {index}"
        assert not case["passed"], f"{name} passes on the blank template"
        kind = exception_type(case["message"])
        assert kind in HELPFUL, f"{name} fails with {kind} instead of a helpful message:\n{case['message']}"
        if kind == "NotImplementedError":
            assert re.search(r"NotImplementedError: \w+(\.\w+)?: \w+", case["message"]), case["message"]
        else:
            assert len(case["message"].split("AssertionError: ", 1)[1]) > 30, case["message"]


def returning_none(student_nb):
    """The student notebook with every ``raise NotImplementedError(...)`` stub replaced by
    ``return None``: a student who forgot the return statement."""
    nb = student_nb.copy()
    nb.cells = [cell.copy() for cell in student_nb.cells]
    for cell in nb.cells:
        if ANSWER_TAG in tags(cell):
            cell.source = re.sub(r"raise NotImplementedError\(.*\)", "return None", cell.source)
    return nb


def test_stubs_returning_none_get_assertion_messages(built, student_nb, workspace):
    """Functions that return None fail every public test with an assertion message (what is
    wrong on which input), not a TypeError or AttributeError inside the test."""
    folder = copy_folder(built.student_dir, workspace)
    report = run_checks(returning_none(student_nb), folder)
    for question, index, case in cases(report):
        name = f"{question} - {index}"
        assert not case["passed"], f"{name} passes when every function returns None"
        kind = exception_type(case["message"])
        assert kind == "AssertionError", f"{name} fails with {kind}:\n{case['message']}"
