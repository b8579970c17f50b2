"""Make ``otter assign`` output byte-for-byte reproducible.

What varies between two ``otter assign`` runs on the same master (Otter 6.1.6, measured):
  * every cell Otter creates (init, ``grader.check``, check-all, export, the manual answer
    cell, the ``<!-- END QUESTION -->`` cell) gets a random 8-hex id from
    ``nbformat.v4.new_*_cell`` when the master is nbformat 4.5; master cells keep their ids;
  * the autograder zip is named ``<master stem>-autograder_<%Y_%m_%dT%H_%M_%S_%f>.zip``;
  * zip entries written from memory (run_autograder, run_otter.py, setup.sh, environment.yml,
    otter_config.json, tests/*.py) carry the wall-clock time; entries copied from disk carry
    the file's mtime. Entry contents are identical; nothing random is inside.

This script fixes all three in place: ids of cells that are not in the master become
``otter-NNN`` (NNN = cell index), and the zip is rewritten as ``<stem>-autograder.zip`` with
sorted entries, the fixed date 1980-01-01 00:00:00 and the original permission bits.
(Alternative for the notebooks: write the master as nbformat 4.4 without ids; Otter then strips
ids from its outputs, see ``remove_cell_ids_if_applicable``.)

Usage:  python normalise_dist.py master.ipynb dist
"""

import pathlib
import sys
import zipfile

import nbformat

FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def normalise_notebook(path: pathlib.Path, master_ids: set) -> None:
    """Replace the random ids of Otter-created cells with positional ``otter-NNN`` ids."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    for i, cell in enumerate(nb.cells):
        if "id" in cell and cell["id"] not in master_ids:
            cell["id"] = f"otter-{i:03d}"
    nbformat.write(nb, str(path))


def normalise_zip(path: pathlib.Path, stable_path: pathlib.Path) -> None:
    """Rewrite ``path`` as ``stable_path``: sorted entries, fixed dates, same bytes and modes."""
    with zipfile.ZipFile(path) as src:
        entries = sorted((info.filename, info.external_attr, src.read(info))
                         for info in src.infolist() if not info.is_dir())
    tmp = stable_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as dst:
        for name, attr, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = attr
            dst.writestr(info, data)
    path.unlink()
    tmp.replace(stable_path)


def main(argv):
    master, dist = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    master_nb = nbformat.read(master, as_version=nbformat.NO_CONVERT)
    master_ids = {c["id"] for c in master_nb.cells if "id" in c}
    for nb_path in sorted(dist.glob("*/*.ipynb")):
        normalise_notebook(nb_path, master_ids)
    zips = sorted(dist.glob(f"autograder/{master.stem}-autograder_*.zip"))
    if len(zips) != 1:
        raise SystemExit(f"expected one timestamped autograder zip in {dist}/autograder, got {zips}")
    normalise_zip(zips[0], dist / "autograder" / f"{master.stem}-autograder.zip")


if __name__ == "__main__":
    main(sys.argv)
