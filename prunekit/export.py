"""Saving the two models and exporting the submission zip so that it cannot hold the wrong thing.

The zip a student uploads must hold the notebook as it is now (its outputs and written answers)
and the two models this run made. Two things go wrong otherwise: a "Run All" reaches the export
cell before the notebook was saved (the zip then holds the last saved file), and model files
left over from an earlier run get submitted with a newer notebook. So:

- :func:`save_submission_models` saves both models and prints a line carrying this kernel's
  run id (:data:`RUN_ID`, new in every kernel), which the saved notebook then holds;
- :func:`export_submission` checks that both model files are the ones this kernel saved (by
  content hash), that the notebook it zips contains this run's id, so it was saved after
  section 7 ran in this kernel, and that it holds the last cell run before the export (a
  save in the middle of "Run All", e.g. JupyterLab's autosave, misses the later outputs);
  then it writes one zip with a fixed name
  (:data:`SUBMISSION_ZIP`) and removes the timestamped zips earlier exports left. On Google
  Colab, where the notebook is not a file and Otter's export refuses to run, the notebook is
  read from the browser and the zip is offered as a download.

When a check fails no zip is left: the function prints what to do, removes a zip an earlier
export left (it no longer matches this run) and returns ``None``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import zipfile
from pathlib import Path

from torch import nn

from prunekit.files import atomic_path
from prunekit.model import conv_channels_of
from prunekit.submission import (CHANNEL_PRUNED_FILE, FINEGRAINED_FILE, MODEL_FILES, NOTEBOOK_FILE,
                                 load_model, save_model)

RUN_ID = secrets.token_hex(4)  # this kernel's run, printed by save_submission_models
SUBMISSION_ZIP = Path(NOTEBOOK_FILE).stem + "_submission.zip"  # the one zip to upload
# What Otter's own export names its zips (<stem>_<timestamp>.zip): older exports, removed.
OTTER_EXPORT_PATTERN = re.compile(re.escape(Path(NOTEBOOK_FILE).stem)
                                  + r"_\d{4}_\d\d_\d\dT\d\d_\d\d_\d\d_\d+\.zip")
SAVE_WAIT_S = 5  # how long to wait for a front end to save the notebook when asked to

_saved_this_run: dict[str, str] = {}  # model file name -> sha256 of what this kernel saved


class ExportRefused(Exception):
    """The submission would not be what this run made; the message says what to do."""


def save_submission_models(finegrained: nn.Module, channel_pruned: nn.Module,
                           folder: str | Path = ".") -> None:
    """Save the two fine-tuned models as :data:`FINEGRAINED_FILE` and :data:`CHANNEL_PRUNED_FILE`
    in ``folder`` and remember their content, for :func:`export_submission`.

    Side effects: writes both files (atomically) and prints one line with :data:`RUN_ID`.
    """
    for model, name in ((finegrained, FINEGRAINED_FILE), (channel_pruned, CHANNEL_PRUNED_FILE)):
        path = save_model(model, Path(folder) / name)
        _saved_this_run[name] = _sha256(path.read_bytes())
    print(f"saved {FINEGRAINED_FILE} and {CHANNEL_PRUNED_FILE} (run {RUN_ID})")


def export_submission(grader=None, folder: str | Path = ".") -> Path | None:
    """Check the submission and write :data:`SUBMISSION_ZIP` (the notebook and both models).

    Args:
        grader: the notebook's ``otter.Notebook`` (used outside Colab to write the zip).
        folder: the lab's folder (the notebook's).

    Returns:
        The zip written, or ``None`` when a check failed (the reason is printed).

    Side effects: may ask the front end to save the notebook; writes the zip; removes the
    timestamped zips of earlier Otter exports in ``folder``; on Colab, offers the zip for
    download.
    """
    folder = Path(folder)
    try:
        _check_models(folder)
        if _on_colab():
            return _export_from_colab(folder)
        return _export_with_otter(grader, folder)
    except ExportRefused as refusal:
        print(f"NOT EXPORTED: {refusal}")
        stale = folder / SUBMISSION_ZIP
        if stale.is_file():  # uploading it would submit an earlier state of the lab
            stale.unlink()
            print(f"removed the {SUBMISSION_ZIP} of an earlier export: it no longer matches "
                  "this run")
        return None


def _check_models(folder: Path) -> None:
    """Both model files exist, are this run's, and were pruned at all."""
    for name in MODEL_FILES:
        path = folder / name
        if not path.is_file():
            raise ExportRefused(f"{name} is missing: run the cell of section 7 that saves the "
                                "models, then this cell again.")
        if _saved_this_run.get(name) != _sha256(path.read_bytes()):
            raise ExportRefused(f"{name} was not saved by this run of the notebook (it is left "
                                "over from an earlier one): run the notebook from the top "
                                "(Restart and Run All), then this cell again.")
    _warn_if_unpruned(folder)


def _warn_if_unpruned(folder: Path) -> None:
    """Print a warning (the export goes on) when a model file shows no pruning at all."""
    finegrained = load_model(folder / FINEGRAINED_FILE)
    channel_pruned = load_model(folder / CHANNEL_PRUNED_FILE)
    if all(bool(p.detach().ne(0).all()) for p in finegrained.parameters() if p.dim() > 1):
        print(f"warning: {FINEGRAINED_FILE} has no zero weight: is sparsity_dict filled in?")
    if conv_channels_of(finegrained) == conv_channels_of(channel_pruned):
        print(f"warning: {CHANNEL_PRUNED_FILE} has all the dense model's channels: is "
              "channel_prune implemented?")


def _export_with_otter(grader, folder: Path) -> Path:
    """Save and check the notebook file, then let Otter write the zip."""
    notebook = folder / NOTEBOOK_FILE
    if grader is None:
        raise ExportRefused("pass the notebook's grader: export_submission(grader)")
    if not notebook.is_file():
        raise ExportRefused(f"no {NOTEBOOK_FILE} in {folder.resolve()}: keep the notebook's "
                            "name and run it from the lab's folder.")
    saved = _saved_notebook(notebook)
    if not _holds_run_id(saved):
        raise ExportRefused(f"the saved {NOTEBOOK_FILE} is older than this run (it lacks the "
                            "outputs of section 7): save the notebook (File > Save, Ctrl-S / "
                            "Cmd-S), then run this cell again.")
    previous = _previous_cell_number()
    if previous and _last_cell_number(saved) < previous:
        raise ExportRefused(f"the saved {NOTEBOOK_FILE} was saved before the last cell you "
                            f"ran ([{previous}]) finished, so it lacks the latest outputs (an "
                            "autosave in the middle of Run All): save the notebook (File > "
                            "Save, Ctrl-S / Cmd-S), then run this cell again.")
    zip_path = folder / SUBMISSION_ZIP
    # Otter stores each file under the path it is given: relative ones keep the zip flat.
    grader.export(os.path.relpath(notebook), export_path=str(zip_path), pdf=False,
                  files=[os.path.relpath(folder / name) for name in MODEL_FILES], force_save=False)
    removed = _remove_old_exports(folder)
    _say_what_to_upload(zip_path, removed)
    return zip_path


def _saved_notebook(path: Path) -> dict:
    """The notebook file as JSON, after asking the front end to save it when it can (classic
    Notebook; JupyterLab and VS Code ignore the request, and the check after says so)."""
    try:
        from otter.check.utils import save_notebook

        if not _holds_run_id(_read_json(path)):
            save_notebook(str(path), timeout=SAVE_WAIT_S)
    except ImportError:  # Otter absent: the check below still tells the student what to do
        pass
    return _read_json(path)


def _export_from_colab(folder: Path) -> Path:
    """Read the notebook from the Colab front end, zip it with the models, offer the download."""
    from google.colab import _message, files  # only importable on Colab

    reply = _message.blocking_request("get_ipynb", request="", timeout_sec=60)
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict):
        raise ExportRefused("Colab did not return the notebook: run this cell again.")
    if not _holds_run_id(notebook):
        raise ExportRefused("the notebook lacks the outputs of section 7 from this run: run "
                            "the cell that saves the models, then this cell again.")
    zip_path = folder / SUBMISSION_ZIP
    _write_zip(zip_path, json.dumps(notebook, indent=1), folder)
    _say_what_to_upload(zip_path, [])
    files.download(str(zip_path))
    return zip_path


def _write_zip(zip_path: Path, notebook_text: str, folder: Path) -> None:
    """The submission zip: the notebook as :data:`NOTEBOOK_FILE` and both model files."""
    with atomic_path(zip_path) as partial, \
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(NOTEBOOK_FILE, notebook_text)
        for name in MODEL_FILES:
            archive.write(folder / name, name)


def _remove_old_exports(folder: Path) -> list[str]:
    """Delete the timestamped zips of Otter's own export; return their names."""
    old = sorted(p for p in folder.iterdir() if OTTER_EXPORT_PATTERN.fullmatch(p.name))
    for path in old:
        path.unlink()
    return [path.name for path in old]


def _say_what_to_upload(zip_path: Path, removed: list[str]) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        # Otter's own bookkeeping entries (.OTTER_LOG, __zip_filename__) are not the student's
        names = sorted(info.filename for info in archive.infolist()
                       if not info.filename.startswith((".", "__")))
    print(f"Upload {zip_path.name} ({zip_path.stat().st_size / 2**20:.1f} MiB; holds "
          f"{', '.join(names)}).")
    if removed:
        print(f"removed older exports: {', '.join(removed)}")


def _holds_run_id(notebook: dict) -> bool:
    """Whether a saved notebook's outputs contain the line of :func:`save_submission_models`."""
    marker = f"(run {RUN_ID})"
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            text = output.get("text", "") if isinstance(output, dict) else ""
            if marker in ("".join(text) if isinstance(text, list) else str(text)):
                return True
    return False


def _previous_cell_number() -> int:
    """The execution number of the cell run just before the one running now (0 outside
    IPython or before any); IPython's counter is one past the running cell's number."""
    try:
        from IPython import get_ipython
    except ImportError:
        return 0
    shell = get_ipython()
    count = getattr(shell, "execution_count", 0)
    return count - 2 if isinstance(count, int) and count > 2 else 0


def _last_cell_number(notebook: dict) -> int:
    """The highest execution number among a saved notebook's code cells (0 for none)."""
    counts = [cell.get("execution_count") for cell in notebook.get("cells", [])
              if isinstance(cell, dict)]
    return max((count for count in counts if isinstance(count, int)), default=0)


def _on_colab() -> bool:
    """Whether this kernel runs on Google Colab (Otter tells it by the shell's class)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return "google.colab" in str(get_ipython())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
