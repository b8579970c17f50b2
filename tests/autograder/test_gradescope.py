"""Tests of the Gradescope autograder zip and its entry point, on a temporary folder with
Gradescope's layout (ROOT/source, ROOT/submission, ROOT/results)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import manifest, questions
from autograder.core import single
from autograder.frontends import gradescope
from tests.autograder.fakes import QUESTION_MAX, FakeGrader, write_notebooks
from tests.conftest import REPO_ROOT
from tests.helpers import offline_grading_unready


@pytest.fixture
def kit_zip(tmp_path) -> Path:
    """An autograder zip built with a stand-in checkpoint and calibration (the real ones are
    the core's business; the slow test below uses them)."""
    checkpoint = tmp_path / "vgg-offline.pt"
    checkpoint.write_bytes(b"checkpoint")
    calibration = tmp_path / "offline.json"
    calibration.write_text('{"profile": "offline"}')
    return gradescope.build_zip(tmp_path / "ag.zip", "offline", checkpoint, calibration)


def _assert_valid_results(path: Path) -> dict:
    """results.json in Gradescope's format: score, tests with name/score/max_score/output/
    visibility; a bonus question's row is extra credit (max_score 0, its points on top)."""
    results = json.loads(path.read_text())
    assert isinstance(results["score"], (int, float))
    assert results["stdout_visibility"] in ("hidden", "visible", "after_due_date",
                                            "after_published")
    assert results["tests"], results
    for test in results["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(test)
        if test["name"].endswith("(bonus)"):
            assert test["max_score"] == 0 <= test["score"], test
        else:
            assert 0 <= test["score"] <= test["max_score"], test
    return results


def test_zip_contents(kit_zip):
    """The zip holds setup.sh and run_autograder (executable), the grader's requirements (not
    the kit's: no Jupyter, Otter or pytest), the config, prunekit/, autograder/ with its
    checks, solutions/, the base checkpoint and the calibration; no caches, no tests, no master
    notebook."""
    with zipfile.ZipFile(kit_zip) as archive:
        names = set(archive.namelist())
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
        run_autograder = archive.read("run_autograder").decode()
        setup = archive.read("setup.sh").decode()
    for name in ("setup.sh", "run_autograder", "requirements-grader.txt", "gradescope_config.json",
                 "prunekit/model.py", "autograder/__main__.py", "autograder/frontends/gradescope.py",
                 "autograder/sandbox/run.py", "solutions/channel.py", "checkpoints/vgg-offline.pt"):
        assert name in names, name
    assert any(name.startswith("autograder/checks/") for name in names)
    assert any(name.endswith("calibration/offline.json") for name in names)
    assert not any("__pycache__" in name or name.startswith(("tests/", "assignment/"))
                   for name in names)
    assert modes["run_autograder"] == 0o755 and modes["setup.sh"] == 0o755
    assert "-m autograder gradescope-run --root" in run_autograder
    assert "requirements.txt" not in names and "-r requirements-grader.txt" in setup
    assert f"uv venv --python {gradescope.GRADER_PYTHON}" in setup
    assert f"--index-url {gradescope.TORCH_CPU_INDEX}" in setup


def test_zip_is_reproducible(tmp_path, kit_zip):
    """Building twice gives the same bytes (sorted entries, fixed dates)."""
    again = gradescope.build_zip(tmp_path / "again.zip", "offline", tmp_path / "vgg-offline.pt",
                                 tmp_path / "offline.json")
    assert again.read_bytes() == kit_zip.read_bytes()


def test_zip_needs_checkpoint_and_calibration(tmp_path):
    """A missing checkpoint or calibration is a clear error naming the command that makes it."""
    with pytest.raises(gradescope.GradescopeError, match="train-base"):
        gradescope.build_zip(tmp_path / "a.zip", "offline", tmp_path / "none.pt",
                             tmp_path / "none.json")
    (tmp_path / "c.pt").write_bytes(b"x")
    with pytest.raises(gradescope.GradescopeError, match="calibrate"):
        gradescope.build_zip(tmp_path / "a.zip", "offline", tmp_path / "c.pt",
                             tmp_path / "none.json")


def test_entry_point_on_gradescope_layout(tmp_path, kit_zip):
    """Unpack the zip into ROOT/source, put an exported zip into ROOT/submission, run the entry
    point (with a fake grader): ROOT/results/results.json is valid and scored."""
    root = tmp_path / "autograder"
    gradescope.unpack(kit_zip, root)
    assert (root / "run_autograder").is_file() and (root / "source" / "setup.sh").is_file()
    with zipfile.ZipFile(root / "submission" / "lab_2024.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb", "{}")
    result = gradescope.run(root, grade_fn=FakeGrader())
    results = _assert_valid_results(root / "results" / "results.json")
    assert result.status == "graded" and results["score"] == result.total
    titles = questions.load().titles()
    assert [t["name"] for t in results["tests"]] == [titles.get(q, q) for q in QUESTION_MAX]
    assert titles["q1"].startswith("Question 1: get_sparsity")


def _gradescope_root(tmp_path, name: str, user_ids: list[int] | None) -> Path:
    """A Gradescope layout holding ``lab.zip`` (the same file name for everyone) and, unless
    ``user_ids`` is None, the submission_metadata.json Gradescope writes for those users."""
    root = tmp_path / name
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(root / "submission" / "lab.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb", "{}")
    if user_ids is not None:
        metadata = {"id": 9000 + len(name), "created_at": "2026-12-01T10:00:00.000000-08:00",
                    "assignment": {"id": 25828, "title": "Pruning lab", "group_submission": True},
                    "submission_method": "upload", "previous_submissions": [],
                    "users": [{"email": f"s{uid}@example.edu", "id": uid, "name": f"S {uid}"}
                              for uid in user_ids]}
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


def test_each_student_is_graded_under_their_own_gradescope_id(tmp_path, capsys):
    """The id that seeds the hidden inputs is the students' Gradescope identity, not the file
    name: two students uploading files of one name get different ids, a resubmission (or a
    group listed in another order) the same one; without metadata the id is the shared default
    and staff are warned."""
    ids = {}
    for name, users in (("alice", [1234]), ("bob", [5678]), ("alice_again", [1234]),
                        ("group", [5678, 1234]), ("group_again", [1234, 5678]),
                        ("no_metadata", None)):
        ids[name] = gradescope.run(_gradescope_root(tmp_path, name, users),
                                   grade_fn=FakeGrader()).submission
    assert ids["alice"] == ids["alice_again"] == "gs-1234" and ids["bob"] == "gs-5678"
    assert ids["group"] == ids["group_again"] == "gs-1234+5678"
    assert ids["no_metadata"] == single.SUBMISSION_ID
    assert "no student identity" in capsys.readouterr().err


def test_hidden_checks_stay_hidden_until_published(tmp_path, monkeypatch):
    """Every question row is after_published by default; the zip's setting (gradescope-zip
    --visibility) or gradescope-run --visibility changes it."""
    root = _gradescope_root(tmp_path, "alice", [1234])
    gradescope.run(root, grade_fn=FakeGrader())
    rows = json.loads((root / "results" / "results.json").read_text())["tests"]
    assert {row["visibility"] for row in rows} == {"after_published"}
    gradescope.run(root, grade_fn=FakeGrader(), visibility="visible")
    rows = json.loads((root / "results" / "results.json").read_text())["tests"]
    assert {row["visibility"] for row in rows} == {"visible"}
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / manifest.PACKAGED_SETTINGS).write_text(json.dumps({"profile": "offline",
                                                           "visibility": "after_due_date"}))
    monkeypatch.setattr(manifest, "KIT_ROOT", kit)
    gradescope.run(root, grade_fn=FakeGrader())
    rows = json.loads((root / "results" / "results.json").read_text())["tests"]
    assert {row["visibility"] for row in rows} == {"after_due_date"}


def test_entry_point_notebook_folder_and_problems(tmp_path):
    """A submission folder with a notebook (and model files) is graded as that folder; one with
    nothing to grade, or two notebooks, gets a zero with the reason, and still a results.json."""
    root = tmp_path / "root"
    write_notebooks(root / "submission", ["pruning_lab"])
    (root / "submission" / "finegrained.pt").write_bytes(b"x")
    found = single.find_submission(root / "submission")
    assert found.path == root / "submission" and not found.problem
    assert gradescope.run(root, grade_fn=FakeGrader()).status == "graded"
    write_notebooks(root / "submission", ["second"])
    result = gradescope.run(root, grade_fn=FakeGrader())
    assert result.status == "unreadable" and "several notebooks" in result.reason
    data = _assert_valid_results(root / "results" / "results.json")
    assert data["score"] == 0 and "several notebooks" in data["output"]
    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    assert "no notebook" in gradescope.run(root, grade_fn=FakeGrader()).reason


def test_entry_point_writes_results_when_the_grader_fails(tmp_path):
    """Even when the grader cannot start, results.json is written (score 0, contact staff)."""
    class Broken(FakeGrader):
        def question_max(self):
            raise RuntimeError("no calibration")

    root = tmp_path / "root"
    write_notebooks(root / "submission", ["pruning_lab"])
    result = gradescope.run(root, grade_fn=Broken())
    data = json.loads((root / "results" / "results.json").read_text())
    assert result.status == "error" and data["score"] == 0
    assert "contact the course staff" in data["output"]


# Modules of the kit that never run where the zip grades (instructor-side commands).
INSTRUCTOR_ONLY = ("examples.py", "calibrate.py", "footprint.py", "written.py", "course.py",
                   "similarity.py")
# Student-side code the grader imports but never runs: prunekit/export.py imports Otter and
# google.colab only inside the export functions, whose cells grading skips.
NEVER_RUN_BY_GRADING = ("export.py",)


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level modules outside the standard library that grading imports: the code of the
    packages the zip ships (instructor-only modules left out) and the student template's code
    cells (Otter's own cells left out: the sandbox drops them) -> where."""
    import ast

    from autograder.core.submission import code_cells

    sources = [(str(path), path.read_text()) for package in gradescope.PACKAGES
               for path in (REPO_ROOT / package).rglob("*.py")
               if path.name not in INSTRUCTOR_ONLY + NEVER_RUN_BY_GRADING]
    template = json.loads((REPO_ROOT / "student_template" / "pruning_lab.ipynb").read_text())
    sources += [("notebook", cell) for cell in code_cells(template)]
    found: dict[str, set[str]] = {}
    for where, source in sources:
        for node in ast.walk(ast.parse(source)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in (*gradescope.PACKAGES,
                                                                      "confine"):
                    found.setdefault(top, set()).add(where)
    return found


def _closure(requirements: Path) -> set[str]:
    """Normalised names of the distributions a requirements file installs, with all their
    (installed) dependencies, markers evaluated here, extras not followed."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    todo = [Requirement(line) for line in lines if line]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate()):
            continue
        seen.add(name)
        for text in metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            if not dependency.marker or dependency.marker.evaluate({"extra": ""}):
                todo.append(dependency)
    return seen


def test_grader_requirements_cover_what_grading_imports():
    """Every third-party module that grading imports (the shipped packages and the student
    notebook's cells) comes from a distribution that requirements-grader.txt installs, so the
    zip's image, which installs only that file, can grade; and it installs no Jupyter, Otter or
    pytest."""
    import importlib.metadata as metadata

    from packaging.utils import canonicalize_name

    installed = _closure(REPO_ROOT / gradescope.GRADER_REQUIREMENTS)
    providers = metadata.packages_distributions()
    missing = {module: sorted(where)[:3] for module, where in _third_party_imports().items()
               if not {canonicalize_name(d) for d in providers.get(module, [])} & installed}
    assert not missing, f"imported by grading but not in requirements-grader.txt: {missing}"
    assert not {"otter-grader", "jupyter", "pytest", "nbconvert"} & installed


def test_settings_follow_the_stored_footprint():
    """The memory to set is the measured peak with its margin (MiB, rounded up to 64); the
    timeout covers the slowest run and the batch's hard limit plus a grading; both are printed
    with the figures they come from. The stored footprint exists and is the one
    gradescope-zip prints."""
    from autograder.frontends import footprint

    measured = {"measured_on": "2026-12-01", "machine": "test", "deadline_s": 210.0,
                "measurements": [{"peak_pss_bytes": 800 * 2**20, "wall_s": 30.0},
                                 {"peak_pss_bytes": 700 * 2**20, "wall_s": 110.0}]}
    settings = footprint.recommended_settings(measured)
    assert settings["memory_mb"] == 1024  # 800 MiB x 1.25 = 1000 -> 1024
    assert settings["timeout_min"] == 5  # (30 + 210) s x 1.25 = 300 s
    lines = "\n".join(footprint.settings_lines(measured))
    assert "at least 1024 MB" in lines and "not enough" in lines and "at least 5 min" in lines
    stored = footprint.load_footprint()
    assert stored is not None and {m["label"] for m in stored["measurements"]} == {
        "solved", "infinite_loop"}
    assert all(m["score"] is not None for m in stored["measurements"])


def test_footprint_prints_the_settings_without_writing_them(monkeypatch, capsys):
    """`footprint` prints the memory and timeout to set from what it just measured; only
    --write stores them in the source tree."""
    from types import SimpleNamespace

    from autograder.frontends import cli, footprint

    examples = [SimpleNamespace(name=name, zip_path=Path(f"/nowhere/{name}.zip"))
                for name in cli.FOOTPRINT_EXAMPLES]
    monkeypatch.setattr(cli, "_make_examples", lambda *args, **kwargs: examples)
    monkeypatch.setattr(cli, "_core_grader", lambda *args: SimpleNamespace(deadline_s=210.0))
    monkeypatch.setattr(footprint, "measure_gradescope", lambda zip_path, label, *args:
                        footprint.Measurement(label, 0, 30.0, 800 * 2**20, score=26, possible=26))
    written = []
    monkeypatch.setattr(footprint, "write_footprint", lambda record: written.append(record))
    assert cli.main(["footprint"]) == 0
    out = capsys.readouterr().out
    assert "at least 1024 MB" in out and "at least 5 min" in out and "not stored: --write" in out
    assert written == []


def test_measured_peak_counts_the_whole_process_tree():
    """run_measured sums the PSS of a command and its children: a child holding 150 MiB
    and its parent holding 100 MiB peak at 250 MiB or more."""
    from autograder.frontends import footprint

    hold = ("import subprocess, sys, time; a = b'1' * ({mib} * 2**20); {then}; "
            "time.sleep(1.5)")
    child = hold.format(mib=150, then="pass")
    parent = hold.format(mib=100, then=f"p = subprocess.Popen([sys.executable, '-c', {child!r}])"
                         ) + "; p.wait()"
    measurement = footprint.run_measured([sys.executable, "-c", parent], "tree")
    assert measurement.returncode == 0
    assert measurement.peak_pss_bytes >= 245 * 2**20
    assert measurement.peak_pss_bytes < 400 * 2**20


def test_gradescope_zip_prints_the_settings(tmp_path, capsys):
    """gradescope-zip names the memory and timeout to set, and the results visibility it
    baked in (after_published by default) with how to change it."""
    from autograder.frontends import cli

    assert cli.main(["gradescope-zip", "--out", str(tmp_path / "ag.zip")]) == 0
    out = capsys.readouterr().out
    assert "memory:  at least" in out and "timeout: at least" in out
    assert "results visibility: after_published (students see each question's checks once " \
           "grades are published); to change it, build again with --visibility " \
           "visible|hidden|after_due_date|after_published" in out
    assert cli.main(["gradescope-zip", "--out", str(tmp_path / "ag.zip"), "--visibility",
                     "visible"]) == 0
    assert "results visibility: visible (students see each question's checks right away)" \
        in capsys.readouterr().out


@pytest.mark.slow
def test_setup_sh_then_entry_point_on_gradescope_layout(tmp_path):
    """End to end as Gradescope runs it: build the real zip, unpack it into a temporary ROOT,
    run ROOT/source/setup.sh (PRUNEKIT_SETUP_PYTHON: this environment's Python, so nothing is
    downloaded), put the solved example submission in ROOT/submission and run
    ROOT/run_autograder with no interpreter override: it uses the environment setup.sh made,
    finds the hidden split setup.sh built, and the reference earns full marks and the bonus."""
    reason = offline_grading_unready()
    if reason:
        pytest.skip(reason)
    from autograder.frontends import examples

    zip_path = gradescope.build_zip(tmp_path / "ag.zip", "offline")
    root = tmp_path / "autograder"
    gradescope.unpack(zip_path, root)
    env = {key: value for key, value in os.environ.items() if key != "PRUNEKIT_PYTHON"}
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True,
                           text=True, timeout=600, env=dict(env, PRUNEKIT_SETUP_PYTHON=sys.executable))
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert "hidden split of" in setup.stdout
    assert list((root / "source" / ".cache" / "grading-data").glob("*.npz"))
    assert os.access(root / "venv" / "bin" / "python", os.X_OK)
    made = {e.name: e for e in examples.make_examples(tmp_path / "examples", "offline")}
    shutil.copy(made["solved"].zip_path, root / "submission" / "pruning_lab_export.zip")
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = _assert_valid_results(root / "results" / "results.json")
    possible = sum(test["max_score"] for test in results["tests"])
    bonus = sum(test["score"] for test in results["tests"] if test["name"].endswith("(bonus)"))
    assert bonus > 0 and results["score"] == possible + bonus and possible > 0, results
