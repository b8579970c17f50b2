"""Tests of reading submissions (autograder/core/submission.py): notebooks, Otter export zips and
folders; which cells run; which files are used; and every way a submission can be unreadable.
No torch, no sandbox: these tests are fast."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from autograder.core.submission import (ASSIGNMENT_NAME, MAX_MODEL_BYTES, OTTER_ASSIGNMENT_NAME,
                                   code_cells, is_otter_cell, load_submission)

REPO_ROOT = Path(__file__).resolve().parents[2]


def notebook(*cells, name: str = OTTER_ASSIGNMENT_NAME) -> dict:
    """A minimal nbformat-4 notebook; a cell is a source string or (source, tags)."""
    built = []
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        built.append({"cell_type": "code", "source": source, "metadata": {"tags": tags},
                      "outputs": [], "execution_count": None})
    return {"cells": built, "metadata": {"otter": {"assignment_name": name}},
            "nbformat": 4, "nbformat_minor": 5}


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def nb_bytes(*cells, **kwargs) -> bytes:
    return json.dumps(notebook(*cells, **kwargs)).encode()


# --- notebooks and cells -------------------------------------------------------------------------

def test_notebook_cells_skip_ignored_and_otter_cells(tmp_path):
    """Code cells come back in order; otter_ignore cells (tag or metadata), markdown and Otter's
    own init / check / export cells are dropped; the id is the file name without extension."""
    nb = notebook("import otter\ngrader = otter.Notebook('pruning_lab.ipynb')", "x = 1",
                  ("train()", ["otter_ignore"]), 'grader.check("q1")', "y = x + 1",
                  "grader.export(pdf=False, files=['finegrained.pt'])")
    nb["cells"].insert(1, {"cell_type": "markdown", "source": "# title", "metadata": {}})
    nb["cells"].append({"cell_type": "code", "source": "z = 3", "outputs": [],
                        "metadata": {"otter": {"ignore": True}}})
    path = tmp_path / "alice.ipynb"
    path.write_text(json.dumps(nb))
    submission = load_submission(path)
    assert submission.readable and submission.id == "alice"
    assert submission.cells == ["x = 1", "y = x + 1"]
    assert "finegrained.pt is missing" in " ".join(submission.problems)


def test_cells_are_kept_exactly_as_written():
    """Magics, shell lines and strings that look like them reach the sandbox unchanged (its
    IPython shell runs them as Jupyter would); a list source is joined."""
    sources = ["%matplotlib inline\nx = 1", "if True:\n    !pip install foo\n    y = 2",
               "%%time\nz = 3", 'TEXT = """\n%d weights pruned\n"""']
    nb = notebook(*[([source], []) for source in sources], (["%pip install torch\n", "a = 1\n"], []))
    assert code_cells(nb) == [*sources, "%pip install torch\na = 1\n"]


def test_otter_cell_detection_is_exact():
    """Only cells that do nothing but drive Otter are dropped; student code mentioning the
    grader is kept."""
    assert is_otter_cell("import otter\ngrader = otter.Notebook('x.ipynb')")
    assert is_otter_cell("grader.check_all()")
    assert not is_otter_cell("grader.check('q1')\nx = 1")
    assert not is_otter_cell("def f():\n    return 1")
    assert not is_otter_cell("this is not python")


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not a text file"),
    (b'{"metadata": {}}', "not a Jupyter notebook"),
    (b'{"worksheets": []}', "nbformat 3"),
])
def test_unreadable_notebooks(tmp_path, content, problem):
    """A corrupt or foreign notebook is unreadable with a reason naming the problem."""
    path = tmp_path / "bob.ipynb"
    path.write_bytes(content)
    submission = load_submission(path)
    assert not submission.readable
    assert problem in " ".join(submission.problems)


def test_missing_and_foreign_files(tmp_path):
    """A path that does not exist, a file of another kind and a symlink are unreadable."""
    assert "does not exist" in load_submission(tmp_path / "ghost.ipynb").problems[0]
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert "neither a notebook" in load_submission(other).problems[0]
    link = tmp_path / "link.ipynb"
    link.symlink_to(other)
    assert "symbolic link" in load_submission(link).problems[0]


# --- zips ------------------------------------------------------------------------------------------

def test_otter_export_zip(tmp_path):
    """An Otter export zip: the notebook and both model files are found; the model files are
    extracted under their fixed names into the submission's own temporary folder, which cleanup
    removes; support files and folders the student shipped are ignored."""
    path = write_zip(tmp_path / "carol.zip", {
        "pruning_lab.ipynb": nb_bytes("x = 1"), "finegrained.pt": b"fg", "channel_pruned.pt": b"cp",
        ".OTTER_LOG": b"log", "__zip_filename__": b"x", "prunekit/__init__.py": b"EVIL = 1",
        "solutions/__init__.py": b"", "notes.txt": b"hi"})
    with load_submission(path, scratch_dir=tmp_path) as submission:
        assert submission.readable and submission.id == "carol" and submission.cells == ["x = 1"]
        assert set(submission.model_files) == {"finegrained.pt", "channel_pruned.pt"}
        assert submission.model_files["finegrained.pt"].read_bytes() == b"fg"
        workdir = submission.workdir
        assert sorted(p.name for p in workdir.iterdir()) == ["channel_pruned.pt", "finegrained.pt"]
        assert submission.problems == []
    assert not workdir.exists()


def test_zip_problems(tmp_path):
    """Corrupt zip, zip without a notebook, two notebooks (picking the assignment's one by name
    or metadata, else unreadable) each give the right outcome."""
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "zip is corrupt" in load_submission(corrupt, tmp_path).problems[0]
    empty = write_zip(tmp_path / "empty.zip", {"finegrained.pt": b"x"})
    assert "no notebook" in load_submission(empty, tmp_path).problems[0]
    by_name = write_zip(tmp_path / "byname.zip", {f"{ASSIGNMENT_NAME}.ipynb": nb_bytes("a = 1"),
                                                  "scratch.ipynb": nb_bytes("b = 2")})
    assert load_submission(by_name, tmp_path).cells == ["a = 1"]
    by_meta = write_zip(tmp_path / "bymeta.zip", {"copy.ipynb": nb_bytes("a = 1"),
                                                  "other.ipynb": nb_bytes("b = 2", name="x")})
    assert load_submission(by_meta, tmp_path).cells == ["a = 1"]
    two = write_zip(tmp_path / "two.zip", {"a.ipynb": nb_bytes("a = 1", name="x"),
                                           "b.ipynb": nb_bytes("b = 2", name="y")})
    submission = load_submission(two, tmp_path)
    assert not submission.readable and "2 notebooks" in submission.problems[0]


def test_two_notebooks_of_the_labs_name_are_refused(tmp_path):
    """A blank pruning_lab.ipynb on top and a solved one in backup/ (the one a person opens is
    not the one that would be graded): unreadable, naming both; one of them alone is read, and
    the submission says which path it graded."""
    decoy = write_zip(tmp_path / "decoy.zip", {
        f"{ASSIGNMENT_NAME}.ipynb": nb_bytes("blank = 1"),
        f"backup/{ASSIGNMENT_NAME}.ipynb": nb_bytes("solved = 1")})
    refused = load_submission(decoy, tmp_path)
    assert not refused.readable
    assert (f"2 notebooks named {ASSIGNMENT_NAME}.ipynb" in refused.problems[0]
            and f"backup/{ASSIGNMENT_NAME}.ipynb" in refused.problems[0])
    nested = write_zip(tmp_path / "nested.zip", {f"lab/{ASSIGNMENT_NAME}.ipynb": nb_bytes("a = 1")})
    with load_submission(nested, tmp_path) as submission:
        assert submission.notebook_name == f"lab/{ASSIGNMENT_NAME}.ipynb"


def test_zip_traversal_and_junk_are_ignored(tmp_path):
    """Entries that climb out of the archive or are absolute are never used (and said so); macOS
    resource forks and checkpoint copies do not count as notebooks."""
    path = write_zip(tmp_path / "dave.zip", {
        "../../evil.ipynb": nb_bytes("evil = 1"), "/abs/finegrained.pt": b"x",
        "__MACOSX/._pruning_lab.ipynb": b"\x00\x01", ".ipynb_checkpoints/pruning_lab.ipynb":
        nb_bytes("old = 1"), "sub/pruning_lab.ipynb": nb_bytes("good = 1"),
        "sub/finegrained.pt": b"fg"})
    with load_submission(path, tmp_path) as submission:
        assert submission.cells == ["good = 1"]
        assert submission.model_files["finegrained.pt"].read_bytes() == b"fg"
        assert sum("unsafe zip entry" in p for p in submission.problems) == 2
    assert not (tmp_path.parent / "evil.ipynb").exists()


def test_zip_bomb_stops_at_the_cap(tmp_path):
    """A model file that expands beyond the cap is refused while reading (whatever its header
    says); the notebook is still graded."""
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pruning_lab.ipynb", nb_bytes("x = 1"))
        archive.writestr("finegrained.pt", b"\0" * (MAX_MODEL_BYTES + 10))
    with load_submission(path, tmp_path) as submission:
        assert submission.readable
        assert "finegrained.pt" not in submission.model_files
        assert "MiB" in submission.file_problems["finegrained.pt"]


# --- folders ---------------------------------------------------------------------------------------

def test_folder_submission(tmp_path):
    """A folder with one notebook and the model files; a symlinked model file is refused (it
    could point at a grader secret); a folder holding only an export zip is read as the zip."""
    folder = tmp_path / "erin"
    folder.mkdir()
    (folder / "lab.ipynb").write_text(json.dumps(notebook("x = 1")))
    (folder / "finegrained.pt").write_bytes(b"fg")
    secret = tmp_path / "secret.json"
    secret.write_text("salt")
    os.symlink(secret, folder / "channel_pruned.pt")
    submission = load_submission(folder)
    assert submission.readable and submission.id == "erin"
    assert list(submission.model_files) == ["finegrained.pt"]
    assert "not a regular file" in submission.file_problems["channel_pruned.pt"]
    zipped = tmp_path / "frank"
    zipped.mkdir()
    write_zip(zipped / "export.zip", {"pruning_lab.ipynb": nb_bytes("y = 2")})
    with load_submission(zipped, tmp_path) as submission:
        assert submission.cells == ["y = 2"] and submission.id == "frank"


def test_master_and_template_notebooks_are_readable():
    """The committed master and student template parse; the template's Otter cells are dropped
    and its assignment name is the one the chooser prefers."""
    master = REPO_ROOT / "assignment" / "pruning_lab.ipynb"
    template = REPO_ROOT / "student_template" / "pruning_lab.ipynb"
    if not master.is_file() or not template.is_file():
        pytest.skip("the master notebook or the student template is not there yet")
    assert load_submission(master).readable
    submission = load_submission(template)
    assert submission.readable and submission.cells
    assert not any(is_otter_cell(cell) for cell in submission.cells)
    metadata = json.loads(template.read_text())["metadata"].get("otter", {})
    assert metadata.get("assignment_name") == OTTER_ASSIGNMENT_NAME


def test_names_inside_a_zip_reach_messages_without_escapes(tmp_path):
    """A zip whose entries' names hold terminal escapes: the messages that name them (which the
    summary prints and the gradebook holds) carry no control character."""
    import zipfile

    from autograder.core.submission import load_submission

    path = tmp_path / "weird.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("\x1b]0;pwned\x07a.ipynb", "{}")
        archive.writestr("\x1b[2Jb.ipynb", "{}")
    with load_submission(path) as submission:
        text = " ".join(submission.problems + list(submission.file_problems.values()))
    assert text and "\x1b" not in text and "\x07" not in text
