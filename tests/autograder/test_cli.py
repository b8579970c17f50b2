"""Tests of the command line ``python -m autograder``: usage errors are one line with exit
status 2, and ``grade`` writes every output (with a fake grader standing in for the core)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from autograder import questions
from autograder.core import batch
from autograder.frontends import cli
from tests.autograder.fakes import FakeGrader, write_notebooks
from tests.conftest import REPO_ROOT


@pytest.fixture
def fake_core(monkeypatch):
    """Make the command line grade with FakeGrader instead of the grading core."""
    made = []

    def factory(profile, timeout, allow_unisolated=False):
        made.append((profile, timeout))
        return FakeGrader(profile or "offline", timeout)

    monkeypatch.setattr(cli, "_core_grader", factory)
    return made


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_missing_path_is_one_line_and_exit_2(tmp_path, capsys, fake_core):
    """A path that does not exist: one line naming it, exit status 2."""
    assert cli.main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "no such file or folder" in _one_line_error(capsys)


def test_a_grader_that_cannot_start_is_one_line(tmp_path, capsys, monkeypatch):
    """A start-up failure of the grading core (a missing torch in the pre-flight process) is
    one line saying what failed and what to check, exit status 2, never a traceback."""
    def broken(**kwargs):
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(batch, "CoreGrader", broken)
    notebook = tmp_path / "alice.ipynb"
    notebook.write_text("{}")
    assert cli.main(["grade", str(notebook), "--out", str(tmp_path / "out")]) == 2
    err = _one_line_error(capsys)
    assert "could not start" in err and "No module named 'torch'" in err


def test_unisolated_machine_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    """Where student code cannot be isolated, grade stops before grading: one line saying what
    is missing, how to get it and which flag grades anyway; exit status 2."""
    from autograder.sandbox import IsolationUnavailable
    from autograder.sandbox.backend import unavailable_message

    def refuse(**kwargs):
        raise IsolationUnavailable(unavailable_message(["bubblewrap (bwrap) is not installed"]))

    monkeypatch.setattr(batch, "CoreGrader", refuse)
    notebook = tmp_path / "alice.ipynb"
    notebook.write_text("{}")
    assert cli.main(["grade", str(notebook), "--out", str(tmp_path / "out")]) == 2
    err = _one_line_error(capsys)
    assert "refusing to grade" in err and "bwrap" in err and "--allow-unisolated" in err
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_empty_folder_is_one_line_and_exit_2(tmp_path, capsys, fake_core):
    """An empty folder: one line saying it holds no submission, exit status 2."""
    (tmp_path / "empty").mkdir()
    assert cli.main(["grade", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "holds no submission" in _one_line_error(capsys)


def test_bad_option_values_are_one_line_and_exit_2(tmp_path, capsys, fake_core):
    """--workers 0 and --timeout 0 are refused with one line."""
    write_notebooks(tmp_path, ["a"])
    for option in (["--workers", "0"], ["--timeout", "0"]):
        code = cli.main(["grade", str(tmp_path / "a.ipynb"), "--out", str(tmp_path / "o"),
                         *option])
        assert code == 2
        _one_line_error(capsys)


@pytest.mark.parametrize("argv", [["grade", "x.ipynb"], ["frobnicate"], [],
                                  ["grade", "--out", "o"]])
def test_usage_errors_are_one_line_and_exit_2(argv, capsys):
    """argparse's usage errors (missing --out, unknown command, ...) are one line, exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    _one_line_error(capsys)


def test_unknown_profile_is_one_line_and_exit_2(tmp_path, capsys):
    """An unknown --profile is refused before any grading (the real grader is asked)."""
    write_notebooks(tmp_path, ["a"])
    code = cli.main(["grade", str(tmp_path / "a.ipynb"), "--out", str(tmp_path / "o"),
                     "--profile", "imagenet"])
    assert code == 2
    assert "imagenet" in _one_line_error(capsys)


def test_grade_writes_every_output_and_resumes(tmp_path, capsys, fake_core):
    """grade writes the gradebook, results.json and feedback per submission, the class report
    (PNG + Markdown) and the records, prints the summary; a second run reuses the records."""
    write_notebooks(tmp_path / "class", ["alice", "bob", "raise-carol"])
    out = tmp_path / "out"
    argv = ["grade", str(tmp_path / "class"), "--out", str(out), "--workers", "2", "--quiet",
            "--timeout", "50", "--profile", "offline"]
    assert cli.main(argv) == 0
    assert fake_core == [("offline", 50.0)]
    printed = capsys.readouterr().out
    assert "submissions: 3" in printed and "graded 3, reused 0" in printed
    assert "raise-carol" in printed and "error" in printed
    with open(out / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["alice", "bob", "raise-carol"]
    assert rows[2]["status"] == "error" and "grader broke" in rows[2]["reason"]
    for name in ("alice", "bob", "raise-carol"):
        results = json.loads((out / "results" / name / "results.json").read_text())
        assert "score" in results and results["tests"]
        assert (out / "feedback" / f"{name}.txt").is_file()
        assert (out / "records" / f"{name}.json").is_file()
    assert (out / "class_report.png").read_bytes().startswith(b"\x89PNG")
    assert "# Class report" in (out / "class_report.md").read_text()
    assert cli.main(argv) == 0
    assert "graded 1, reused 2" in capsys.readouterr().out  # the error row is retried
    assert cli.main(argv + ["--redo"]) == 0
    assert "graded 3, reused 0" in capsys.readouterr().out


def test_regrading_one_student_keeps_the_class_in_every_report(tmp_path, capsys, fake_core):
    """A fixed file of one student graded into the class's output folder: the gradebook, the
    exports and the class report still hold every student, with the new grade for that one."""
    write_notebooks(tmp_path / "class", ["alice", "bob", "carol"])
    out = tmp_path / "out"
    options = ["--out", str(out), "--quiet", "--profile", "offline"]
    assert cli.main(["grade", str(tmp_path / "class"), *options, "--format", "canvas"]) == 0
    fixed = write_notebooks(tmp_path / "regrade", ["bob"])[0]
    fixed.write_text(fixed.read_text().replace('"bob"', '"bob, fixed"'))
    assert cli.main(["grade", str(fixed), *options]) == 0
    assert "graded 1, reused 0" in capsys.readouterr().out
    with open(out / "gradebook.csv", newline="") as handle:
        assert [row["id"] for row in csv.DictReader(handle)] == ["alice", "bob", "carol"]
    with open(out / "grades_canvas.csv", newline="") as handle:
        assert len(list(csv.reader(handle))) >= 4  # header (and points) rows, then 3 students
    assert "3 submissions" in (out / "class_report.md").read_text()


def test_gradescope_run_without_submission_folder_is_exit_2(tmp_path, capsys):
    """gradescope-run on a root without submission/ says so in one line, exit 2."""
    assert cli.main(["gradescope-run", "--root", str(tmp_path)]) == 2
    assert "no submission folder" in _one_line_error(capsys)


def test_python_dash_m_autograder_help():
    """`python -m autograder --help` works and lists every command."""
    done = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in ("grade", "calibrate", "examples", "demo", "gradescope-zip",
                    "gradescope-run"):
        assert command in done.stdout


def test_python_dash_m_autograder_error_exit_code(tmp_path):
    """The module entry point returns the exit status: 2 and one line for a missing path."""
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "out")], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no such file or folder" in done.stderr


@pytest.mark.slow
def test_demo_end_to_end(demo_run):
    """`python -m autograder demo` (the README's main command) generates the examples and grades
    them: exit 0, a gradebook row per example, the solved one at full marks (and the bonus),
    the summary printed; a second run reuses every record."""
    done, out = demo_run.done, demo_run.out
    assert done.returncode == 0, done.stderr[-3000:]
    assert "submissions:" in done.stdout and "gradebook:" in done.stdout
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    manifest = json.loads((REPO_ROOT / "runs" / "examples" / "manifest.json").read_text())
    assert set(rows) == {entry["name"] for entry in manifest["examples"]}
    table = questions.load()  # the solved one earns the autograded bonus on top of its maximum
    bonus = sum(table[q].points for q in table.bonus if q in table.graded)
    assert float(rows["solved"]["total"]) == float(rows["solved"]["max"]) + bonus
    assert rows["solved"]["status"] == "graded"
    assert rows["blank"]["total"] == "0"
    settings = json.loads((out / "records" / "solved.json").read_text())["settings"]
    again = subprocess.run(demo_run.command, cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=1200)
    assert again.returncode == 0, again.stderr[-3000:]
    unchanged = (json.loads((out / "records" / "solved.json").read_text())["settings"] == settings
                 and json.loads((REPO_ROOT / "runs" / "examples" / "manifest.json").read_text())
                 ["key"] == manifest["key"])
    if unchanged:  # else the grader or the master changed between the runs: regrading was right
        assert f"graded 0, reused {len(rows)}" in again.stdout


def test_kit_files_made_root_only_give_one_clear_line(monkeypatch, capsys):
    """Grading as another user after a root grading made the secret folders root-only: one
    line naming the folders and how to give them back, no traceback."""
    from autograder.frontends import cli
    from autograder.manifest import KIT_ROOT

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path).endswith(
        "autograder/checks") else real_access(path, mode))

    def locked(args):
        raise ModuleNotFoundError("No module named 'autograder.checks.settings'")

    monkeypatch.setattr(cli, "_grade", locked)
    assert cli.main(["grade", str(KIT_ROOT / "student_template"), "--out", "unused"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and "autograder/checks" in line and "chown" in line


def test_calibrate_can_draw_new_secrets(tmp_path, capsys, monkeypatch):
    """calibrate --new-secrets asks the calibration for a new salt and hidden-split seed (a
    forked course must not keep the published ones); without it they are kept."""
    from autograder.frontends import calibrate as calibration

    asked = []
    monkeypatch.setattr(calibration, "calibrate", lambda profile, out, new_secrets=False:
                        asked.append((profile, new_secrets)) or {"salt": "(new)"})
    assert cli.main(["calibrate", "--profile", "offline", "--new-secrets"]) == 0
    assert cli.main(["calibrate", "--profile", "offline"]) == 0
    assert asked == [("offline", True), ("offline", False)]
