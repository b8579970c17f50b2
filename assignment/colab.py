"""The Colab variant of the student notebook, and the export cells of both variants.

On Google Colab a notebook opens alone: no support package, no checkpoint, no Otter, and Otter's
``grader.check`` there reads test *files* (``tests/qN.py``), not the notebook's metadata. So the
build (``python -m assignment.build --student-url URL``) runs Otter Assign a second time with
``runs_on: colab`` and test files, and writes into ``assignment/dist/colab/``:

- ``pruning_lab.ipynb``: the student notebook whose first cell fetches the lab's files from
  ``URL`` (where the instructor publishes the zip below) and installs what Colab lacks;
- ``pruning_lab_files.zip``: the support package, the base checkpoints, the public test files
  and the requirements (what the first cell unpacks beside the notebook).

Both variants end with the same export cell (:func:`export_cells`): ``prunekit.export``'s
``export_submission``, which checks the models and the saved notebook and writes one zip; on
Colab it reads the notebook from the browser and downloads the zip, which the grader reads as
it reads any export.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

from autograder import master as master_format
from prunekit.files import write_reproducible_zip

COLAB_FILES_ZIP = "pruning_lab_files.zip"
IGNORE_TAG = "otter_ignore"  # cells the grader does not run (set-up, export)

# The first cell of the Colab notebook. It is plain Python (no magics) so that it reads the same
# everywhere; it does nothing where the files are already there and the packages installed.
SETUP_CELL = '''\
# Colab set-up: fetches the lab's files (the support package prunekit, the base checkpoints and
# the public tests) from your course, and installs what Colab lacks without changing the
# versions Colab has (pip's messages go to pip-install.log). Run it first; it does nothing when
# everything is already here.
LAB_FILES_URL = {url!r}
import io, os, urllib.request, zipfile
if not (os.path.isdir("prunekit") and os.path.isdir("tests")):
    with urllib.request.urlopen(LAB_FILES_URL, timeout=300) as response:
        zipfile.ZipFile(io.BytesIO(response.read())).extractall(".")
    print("fetched the lab's files:", ", ".join(sorted(os.listdir("."))))
from prunekit.installs import install_missing
install_missing({packages!r})
'''
# (module to look for, what pip installs when it is missing): Colab has torch and numpy.
# prunekit.installs installs them without upgrading what Colab has (its ipywidgets 7 stays).
COLAB_PACKAGES = (("otter", "otter-grader==7.0.*"), ("torchvision", "torchvision"),
                  ("tqdm", "tqdm"), ("matplotlib", "matplotlib"))

EXPORT_CODE = '''\
# Checks that both model files are this run's and that the notebook holds this run's outputs,
# then writes pruning_lab_submission.zip (the notebook and both models): the file to upload.
from prunekit.export import export_submission
export_submission(grader)'''

EXPORT_TEXT = {
    "default": (
        "## Submission\n\n"
        "Run the whole notebook (Kernel > Restart Kernel and Run All Cells), **save it** (File > "
        "Save, Ctrl-S / Cmd-S), then run the cell below. It checks that both model files were "
        "saved by this run and that the saved notebook holds this run's outputs, then writes "
        "**`pruning_lab_submission.zip`**: upload that file. Under *Run All* the cell reaches "
        "the check before the notebook was saved and says so: save, then run it again."),
    "colab": (
        "## Submission\n\n"
        "Run the whole notebook (Runtime > Run all), then the cell below. It checks that both "
        "model files were saved by this run, reads this notebook from Colab, and downloads "
        "**`pruning_lab_submission.zip`** (the notebook and both models): upload that file."),
}


# What the notebook's prose says of a laptop folder, and what is true on Colab instead.
COLAB_PROSE = {
    "The support package `prunekit` (in the folder beside this notebook)":
        "The support package `prunekit` (which the first cell fetches)",
    "Each profile's ships beside\nthis notebook":
        "Each profile's is among the files\nthe first cell fetches",
    ("**Submitting.** Run the whole notebook, save it, then run the export cell at the end. It "
     "checks\nthat the saved notebook and your two model files (`finegrained.pt`, "
     "`channel_pruned.pt`) are this\nrun's and writes `pruning_lab_submission.zip`, which holds "
     "them. Upload that zip."):
        ("**Submitting.** Run the whole notebook (Runtime > Run all), then the export cell at the "
         "end. It\nchecks that your two model files (`finegrained.pt`, `channel_pruned.pt`) are "
         "this run's, reads\nthe notebook from Colab and downloads `pruning_lab_submission.zip`, "
         "which holds them. Upload\nthat zip."),
}


def colab_prose(nb) -> None:
    """Rewrite the markdown that describes the laptop folder (:data:`COLAB_PROSE`).

    Raises:
        ValueError: a passage is not in the notebook exactly once (the master's text changed:
            update COLAB_PROSE with it).
    """
    for old, new in COLAB_PROSE.items():
        cells = [cell for cell in nb.cells if cell.cell_type == "markdown" and old in cell.source]
        if len(cells) != 1:
            raise ValueError(f"the Colab notebook should hold this passage once, found "
                             f"{len(cells)}: {old[:60]!r}")
        cells[0].source = cells[0].source.replace(old, new)


def colab_config(config: dict) -> dict:
    """A copy of the master's ASSIGNMENT CONFIG for the Colab variant: ``runs_on: colab`` and
    public tests written as files (Otter's checks on Colab read only files)."""
    colab = dict(config)
    colab["runs_on"] = "colab"
    colab["tests"] = {**config.get("tests", {}), "files": True}
    return colab


def write_colab_config(master: Path) -> None:
    """Rewrite the staged master's ASSIGNMENT CONFIG cell for the Colab variant."""
    nb = nbformat.read(master, as_version=4)
    try:
        index, config = master_format.assignment_config_cell(nb.cells)
    except ValueError:
        raise ValueError(f"{master} has no ASSIGNMENT CONFIG cell") from None
    nb.cells[index].source = (f"{master_format.ASSIGNMENT_CONFIG}\n"
                              + yaml.safe_dump(colab_config(config), sort_keys=False))
    nbformat.write(nb, str(master))


def export_cells(nb, flavour: str) -> None:
    """Replace Otter's export cells (the markdown and the ``grader.export`` cell) with the kit's
    (``flavour``: ``default`` or ``colab``); the code cell is tagged for the grader to skip."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "grader.export(" in cell.source:
            cell.source = EXPORT_CODE
            _tag(cell, IGNORE_TAG)
            previous = nb.cells[index - 1] if index else None
            if previous is not None and previous.cell_type == "markdown" \
                    and previous.source.startswith("## Submission"):
                previous.source = EXPORT_TEXT[flavour]
            return
    raise ValueError("the student notebook has no grader.export cell to replace")


def setup_cell(nb, url: str) -> None:
    """Replace Otter's ``%pip install otter-grader`` cell (the Colab notebook's first) with
    :data:`SETUP_CELL` fetching the lab's files from ``url``."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("%pip install"):
            cell.source = SETUP_CELL.format(url=url, packages=COLAB_PACKAGES)
            _tag(cell, IGNORE_TAG)
            return
    raise ValueError("the Colab notebook has no %pip install cell to replace")


def write_colab_folder(student: Path, url: str, target: Path) -> Path:
    """From Otter's Colab student folder ``student``, write ``target/<notebook>`` (set-up and
    export cells rewritten) and ``target/pruning_lab_files.zip`` (everything else of the
    folder); return the notebook's path."""
    notebooks = sorted(student.glob("*.ipynb"))
    if len(notebooks) != 1:
        raise RuntimeError(f"expected one notebook in {student}, found {notebooks}")
    nb = nbformat.read(notebooks[0], as_version=4)
    setup_cell(nb, url)
    export_cells(nb, "colab")
    colab_prose(nb)
    target.mkdir(parents=True, exist_ok=True)
    notebook = target / notebooks[0].name
    nbformat.write(nb, str(notebook))
    zip_folder(student, target / COLAB_FILES_ZIP, leave_out={notebooks[0].name})
    return notebook


def zip_folder(folder: Path, zip_path: Path, leave_out: set[str] = frozenset()) -> Path:
    """Zip the files under ``folder`` (paths relative to it, sorted, a fixed date: the same
    bytes on every build), except the top-level names in ``leave_out``."""
    files = [p for p in folder.rglob("*") if p.is_file()
             and p.relative_to(folder).parts[0] not in leave_out and "__pycache__" not in p.parts]
    return write_reproducible_zip(zip_path, {p.relative_to(folder).as_posix(): p.read_bytes()
                                             for p in files})


def _tag(cell, tag: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)
