"""The export cell cannot submit the wrong thing: models of another run, a notebook saved before
this run's outputs, a pile of zips; on Colab the notebook comes from the front end."""
from __future__ import annotations

import json
import sys
import types
import zipfile

import nbformat
import pytest
import torch

from prunekit import export
from prunekit.model import VGG
from prunekit.submission import MODEL_FILES, NOTEBOOK_FILE, save_model

otter = pytest.importorskip("otter")


def pruned_pair() -> tuple[VGG, VGG]:
    """A fine-grained model with zeros and a narrower channel-pruned one."""
    torch.manual_seed(0)
    finegrained = VGG(width=0.125)
    with torch.no_grad():
        finegrained.classifier.weight[:, ::2] = 0
    return finegrained, VGG(width=0.0625)


def write_notebook(folder, with_run_id: bool) -> None:
    """The lab's notebook file, holding this run's save line only when ``with_run_id``."""
    cell = nbformat.v4.new_code_cell("save_submission_models(finegrained_model, channel_pruned_model)")
    if with_run_id:
        cell.outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text=f"saved the models (run {export.RUN_ID})\n")]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    nbformat.write(nb, str(folder / NOTEBOOK_FILE))


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """An empty lab folder as the working folder, with no model saved by this run yet."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(export, "_saved_this_run", {})
    monkeypatch.setattr(export, "SAVE_WAIT_S", 0)  # nothing here can save the notebook
    return tmp_path


def grader():
    return otter.Notebook(NOTEBOOK_FILE)


def test_missing_models_are_named(lab, capsys):
    write_notebook(lab, with_run_id=True)
    assert export.export_submission(grader()) is None
    assert "finegrained.pt is missing" in capsys.readouterr().out
    assert not (lab / export.SUBMISSION_ZIP).exists()


def test_models_of_an_earlier_run_are_refused(lab, capsys):
    finegrained, channel = pruned_pair()
    save_model(finegrained, lab / MODEL_FILES[0])  # saved, but not through this run's cell
    save_model(channel, lab / MODEL_FILES[1])
    write_notebook(lab, with_run_id=True)
    assert export.export_submission(grader()) is None
    assert "not saved by this run" in capsys.readouterr().out


def test_a_model_overwritten_after_saving_is_refused(lab, capsys):
    finegrained, channel = pruned_pair()
    export.save_submission_models(finegrained, channel)
    save_model(channel, lab / MODEL_FILES[0])
    write_notebook(lab, with_run_id=True)
    assert export.export_submission(grader()) is None
    assert f"{MODEL_FILES[0]} was not saved by this run" in capsys.readouterr().out


def test_a_notebook_saved_before_this_run_is_refused(lab, capsys):
    export.save_submission_models(*pruned_pair())
    write_notebook(lab, with_run_id=False)  # what "Run All" leaves on disk
    assert export.export_submission(grader()) is None
    out = capsys.readouterr().out
    assert "older than this run" in out and "save the notebook" in out
    assert not (lab / export.SUBMISSION_ZIP).exists()


def test_a_notebook_saved_in_the_middle_of_the_run_is_refused(lab, capsys, monkeypatch):
    """Saved after section 7 but before the cells that ran later (an autosave under Run All):
    refused, and the zip an earlier export left is removed rather than left to upload."""
    export.save_submission_models(*pruned_pair())
    write_notebook(lab, with_run_id=True)  # its one cell has no execution number
    nb = nbformat.read(str(lab / NOTEBOOK_FILE), as_version=4)
    nb.cells[0].execution_count = 40
    nbformat.write(nb, str(lab / NOTEBOOK_FILE))
    (lab / export.SUBMISSION_ZIP).write_bytes(b"an earlier export")
    shell = types.SimpleNamespace(execution_count=53)  # running cell 52; cell 51 ran before
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert export.export_submission(grader()) is None
    out = capsys.readouterr().out
    assert "before the last cell you ran ([51])" in out and "removed the" in out
    assert not (lab / export.SUBMISSION_ZIP).exists()
    nb.cells[0].execution_count = 51  # saved again after cell 51
    nbformat.write(nb, str(lab / NOTEBOOK_FILE))
    assert export.export_submission(grader()) is not None


def test_a_fresh_export_writes_one_zip_and_removes_older_ones(lab, capsys):
    export.save_submission_models(*pruned_pair())
    write_notebook(lab, with_run_id=True)
    old = lab / "pruning_lab_2026_11_30T09_15_02_123456.zip"
    old.write_bytes(b"an earlier export")
    unrelated = lab / "my_notes.zip"
    unrelated.write_bytes(b"not an export")
    zip_path = export.export_submission(grader())
    assert zip_path is not None and zip_path.name == export.SUBMISSION_ZIP
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert {NOTEBOOK_FILE, *MODEL_FILES} <= names
    out = capsys.readouterr().out
    assert f"Upload {export.SUBMISSION_ZIP}" in out and old.name in out
    assert not old.exists() and unrelated.exists()


def test_unpruned_models_are_exported_with_a_warning(lab, capsys):
    export.save_submission_models(VGG(width=0.125), VGG(width=0.125))
    write_notebook(lab, with_run_id=True)
    assert export.export_submission(grader()) is not None
    out = capsys.readouterr().out
    assert "has no zero weight" in out and "all the dense model's channels" in out


@pytest.fixture
def colab(lab, monkeypatch):
    """A stand-in for ``google.colab``: the front end returns ``colab.notebook``; downloads are
    recorded in ``colab.downloaded``."""
    state = types.SimpleNamespace(notebook=None, downloaded=[])
    message = types.ModuleType("google.colab._message")
    message.blocking_request = lambda kind, **kwargs: (
        {"ipynb": state.notebook} if kind == "get_ipynb" else None)
    files = types.ModuleType("google.colab.files")
    files.download = state.downloaded.append
    package = types.ModuleType("google.colab")
    package._message, package.files = message, files
    for name, module in (("google.colab", package), ("google.colab._message", message),
                         ("google.colab.files", files)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(export, "_on_colab", lambda: True)
    return state


def test_colab_export_zips_the_front_ends_notebook_and_downloads_it(colab, lab):
    export.save_submission_models(*pruned_pair())
    write_notebook(lab, with_run_id=True)
    colab.notebook = json.loads((lab / NOTEBOOK_FILE).read_text())
    (lab / NOTEBOOK_FILE).unlink()  # on Colab the notebook is no file
    zip_path = export.export_submission()
    assert colab.downloaded == [str(zip_path)]
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted([NOTEBOOK_FILE, *MODEL_FILES])
        assert json.loads(archive.read(NOTEBOOK_FILE)) == colab.notebook


def test_colab_export_refuses_a_notebook_without_this_runs_outputs(colab, lab, capsys):
    export.save_submission_models(*pruned_pair())
    write_notebook(lab, with_run_id=False)
    colab.notebook = json.loads((lab / NOTEBOOK_FILE).read_text())
    assert export.export_submission() is None
    assert "lacks the outputs of section 7" in capsys.readouterr().out
    assert colab.downloaded == []
