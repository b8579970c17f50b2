"""The build command: points and self-test, reproducible output, no drift from the committed
student template, and what the autograder zip ships."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile

from assignment.build import (COMMITTED_STUDENT_FILES, DEFAULT_STUDENT_DIR, HERE, MASTER, REPO, build,
                              drift, expected_autograded_points)

from autograder import questions
from autograder.questions import table_from_master

TABLE = questions.load()  # the question table (autograder/questions.json), from the master
AUTOGRADED_TOTAL = sum(TABLE.points().values())


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_question_names_and_points():
    """The build reads the master's questions, in order, each worth something, with the
    question table's points."""
    points = {q.id: (q.points, q.manual) for q in table_from_master(MASTER).questions}
    assert list(points) == [q.id for q in TABLE.questions]
    assert all(p > 0 for p, _ in points.values())
    assert {name: p for name, (p, manual) in points.items() if not manual} == TABLE.points()
    assert {name: p for name, (p, manual) in points.items() if manual} == TABLE.points(True)
    assert expected_autograded_points() == AUTOGRADED_TOTAL


def test_master_ships_what_the_manifest_says():
    """The master's Otter configuration ships to students exactly the manifest's student files
    and puts exactly the rest of the grader's packages into the autograder zip."""
    from assignment.build import assignment_config
    from autograder import manifest

    config = assignment_config()
    assert tuple(config["files"]) == manifest.STUDENT
    assert tuple(config["autograder_files"]) == tuple(
        p for p in manifest.GRADER if p not in manifest.STUDENT)


def test_self_test_gives_the_solved_notebook_every_point(built):
    """The build graded the solved notebook with the generated zip: full marks (28 / 28 today:
    26 and q10's 2 bonus points, which Otter counts as possible), not the 0 / 0 of a broken test
    file."""
    assert built.self_test_points == (AUTOGRADED_TOTAL, AUTOGRADED_TOTAL)


def test_output_layout(built):
    """The student folder holds the notebook, the support package, the offline base checkpoint,
    a README and the student requirements (torch and torchvision pinned as a pair, Otter 7);
    the autograder folder holds the solved notebook and the stable-named zip."""
    student = {str(p.relative_to(built.student_dir)) for p in built.student_dir.rglob("*") if p.is_file()}
    requirements = (built.student_dir / "requirements.txt").read_text()
    assert "torch==" in requirements and "torchvision==" in requirements
    assert "otter-grader==7." in requirements
    assert {"pruning_lab.ipynb", "README.md", "requirements.txt", "checkpoints/vgg-offline.pt",
            "prunekit/__init__.py", "prunekit/submission.py", "prunekit/data/offline.py"} <= student
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in student)
    assert sha256(built.student_dir / "checkpoints" / "vgg-offline.pt") == \
        sha256(HERE / "checkpoints" / "vgg-offline.pt")
    for name in ["pruning_lab.ipynb", "pruning_lab-autograder.zip", "otter_config.json", "requirements.txt"]:
        assert (built.autograder_dir / name).is_file(), name


def test_autograder_zip_contents(built):
    """The zip has one test file per autograded question, the shipped files without caches,
    Otter's pinned environment with the grading requirements, sorted entries and fixed dates."""
    with zipfile.ZipFile(built.autograder_zip) as archive:
        names = archive.namelist()
        environment = archive.read("environment.yml").decode()
        infos = archive.infolist()
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {f"tests/{q}.py" for q in TABLE.graded} == {n for n in names if n.startswith("tests/")}
    assert "files/checkpoints/vgg-offline.pt" in names and "files/prunekit/submission.py" in names
    # what the hidden test cells import (autograder_files): the checks with their calibration,
    # the probes, the reference solutions
    for shipped in ["files/autograder/checks/otter_bridge.py",
                    "files/autograder/checks/calibration/offline.json",
                    "files/autograder/probes/lab.py",
                    "files/autograder/results.py", "files/autograder/sandbox/inside/runner.py",
                    "files/solutions/__init__.py"]:
        assert shipped in names, shipped
    assert not any("__pycache__" in name for name in names)
    assert "otter-grader" in environment and "torch==2.14" in environment


def test_build_is_reproducible(built, tmp_path):
    """A second build in another folder writes byte-identical notebooks and zip."""
    again = build(tmp_path / "student_template", tmp_path / "autograder", run_self_test=False)
    assert drift(again.student_dir, built.student_dir) == []
    assert drift(again.autograder_dir, built.autograder_dir) == []
    assert sha256(again.autograder_zip) == sha256(built.autograder_zip)


def test_committed_student_template_is_in_sync(built):
    """The committed part of student_template/ (the notebook and its README) is what the master
    generates today; the rest of the folder is a build output that git ignores."""
    differences = drift(built.student_dir, DEFAULT_STUDENT_DIR, COMMITTED_STUDENT_FILES)
    assert differences == [], "run `python -m assignment.build`:\n" + "\n".join(differences)


def test_check_command_reports_no_drift():
    """`python -m assignment.build --check` exits 0 and says the template is in sync."""
    run = subprocess.run([sys.executable, "-m", "assignment.build", "--check", "--skip-self-test"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "in sync" in run.stdout


def test_drift_lists_changed_missing_and_extra_files(tmp_path):
    """drift() names every kind of difference, and ignores Python caches."""
    built, committed = tmp_path / "built", tmp_path / "committed"
    for folder in (built, committed):
        (folder / "pkg" / "__pycache__").mkdir(parents=True)
        (folder / "same.txt").write_text("same")
    (built / "changed.txt").write_text("new")
    (committed / "changed.txt").write_text("old")
    (built / "only_built.txt").write_text("x")
    (committed / "only_committed.txt").write_text("x")
    (committed / "pkg" / "__pycache__" / "m.pyc").write_bytes(b"cache")
    assert drift(built, committed) == [
        "changed: changed.txt",
        "missing from committed/ (not committed): only_built.txt",
        "extra in committed/ (not generated): only_committed.txt",
    ]


def test_changed_points_reach_the_table_and_hidden_cells_in_one_run(tmp_path):
    """Changing a question's points in the master is the only edit needed: one run of the
    build's sync steps rewrites the question table and the hidden test cells with the new
    points (the hidden cells once took their shares from the table as it was when the build
    started, so the first build failed its self-test)."""
    import json
    import shutil

    kit = tmp_path / "kit"
    for part in ("autograder", "solutions", "prunekit", "assignment"):
        shutil.copytree(REPO / part, kit / part, symlinks=True,
                        ignore=shutil.ignore_patterns("dist", "checkpoints", "__pycache__"))
    master = kit / "assignment" / "pruning_lab.ipynb"
    text = master.read_text()
    assert text.count('"name: q4\\n",\n    "points: 1"') == 1
    master.write_text(text.replace('"name: q4\\n",\n    "points: 1"',
                                   '"name: q4\\n",\n    "points: 2"'))
    code = ("from assignment import build; build.sync_question_table(); "
            "build.sync_master_hidden_tests()")
    subprocess.run([sys.executable, "-c", code], cwd=kit, check=True)
    table = json.loads((kit / "autograder" / "questions.json").read_text())
    assert {q["id"]: q["points"] for q in table["questions"]}["q4"] == 2
    notebook = json.loads(master.read_text())
    shares = [float(line.split(":", 1)[1]) for cell in notebook["cells"]
              if str(cell.get("id", "")).startswith("q4-hidden-")
              for line in "".join(cell["source"]).splitlines() if line.startswith("points:")]
    assert shares and abs(sum(shares) - 2) < 1e-9
