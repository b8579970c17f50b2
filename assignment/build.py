"""Build the student notebook and the Otter autograder from the master notebook, reproducibly.

    python -m assignment.build             # writes student_template/ and assignment/dist/autograder/
    python -m assignment.build --check     # rebuilds in a temporary folder; exit 1 listing the
                                           # files of student_template/ that differ (drift)
    python -m assignment.build --out DIR   # writes DIR/student_template/ and DIR/autograder/

Steps (about 15 s on 2 idle CPU cores, most of it the self-test):

1. stage the master ``assignment/pruning_lab.ipynb`` in a temporary folder together with what
   Otter's ``files:`` ship beside it (a clean copy of ``prunekit/`` without ``__pycache__``, and
   the offline base checkpoint ``assignment/checkpoints/vgg-offline.pt``) and the grading
   requirements (``assignment/requirements.txt``): Otter needs them inside the master's folder;
2. run Otter Assign (Python API) without its own self-test;
3. normalise the output, which otherwise changes on every run: the cells Otter creates get stable
   ids ``otter-NNN`` (NNN = cell index) instead of random ones, and the autograder zip is rewritten
   as ``pruning_lab-autograder.zip`` (no timestamp) with sorted entries and a fixed date;
4. self-test: grade the solved autograder notebook with the normalised zip (``otter run``'s code
   path, as Otter Assign's own self-test does) and require every autograded question at full
   marks **and** the expected total (the sum of the master's non-manual question points), since a
   broken test file grades as 0 / 0, which Otter's self-test counts as a pass;
5. write the student folder (the student notebook, ``prunekit/``, ``checkpoints/vgg-offline.pt``
   and ``README.md`` from ``assignment/student_README.md``) and the autograder folder (the solved
   notebook with all tests, the zip for Gradescope / ``otter run``, ``otter_config.json``,
   ``requirements.txt``, and the shipped files).

Never ship the autograder folder's notebook to students: it holds the solutions and hidden tests.
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MASTER = HERE / "pruning_lab.ipynb"
CHECKPOINT = Path("checkpoints") / "vgg-offline.pt"        # relative to the master's folder
STUDENT_README = HERE / "student_README.md"
REQUIREMENTS = HERE / "requirements.txt"
SUPPORT_PACKAGE = REPO / "prunekit"

DEFAULT_STUDENT_DIR = REPO / "student_template"
DEFAULT_AUTOGRADER_DIR = HERE / "dist" / "autograder"

FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".DS_Store")


@dataclass
class BuildReport:
    """What a build wrote and what its self-test measured (points, or None when skipped)."""
    student_dir: Path
    autograder_dir: Path
    autograder_zip: Path
    expected_points: float
    self_test_points: tuple[float, float] | None  # (total, possible)


# --------------------------------------------------------------------------- the master

def question_points(master: Path = MASTER) -> dict[str, tuple[float, bool]]:
    """Points of every question of the master: name -> (points, manual), in notebook order."""
    nb = nbformat.read(master, as_version=4)
    questions = {}
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(cell.source.split("\n", 1)[1]) or {}
            questions[config["name"]] = (float(config.get("points", 1)), bool(config.get("manual")))
    return questions


def expected_autograded_points(master: Path = MASTER) -> float:
    """Sum of the points of the autograded (not manual) questions of the master."""
    return sum(points for points, manual in question_points(master).values() if not manual)


# --------------------------------------------------------------------------- staging and assign

def stage(folder: Path) -> Path:
    """Copy the master and everything its ASSIGNMENT CONFIG names into ``folder``; return the
    staged master's path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(MASTER, folder / MASTER.name)
    shutil.copy2(REQUIREMENTS, folder / "requirements.txt")
    shutil.copytree(SUPPORT_PACKAGE, folder / "prunekit", ignore=JUNK)
    (folder / CHECKPOINT).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / CHECKPOINT, folder / CHECKPOINT)
    return folder / MASTER.name


def run_otter_assign(master: Path, result: Path) -> None:
    """Otter Assign (Python API) on ``master`` into ``result``, without Otter's self-test (the
    build runs its own, stricter one on the normalised output)."""
    from otter.assign import main as otter_assign  # imported late: otter is slow to import

    otter_assign(str(master), str(result), no_run_tests=True)


# --------------------------------------------------------------------------- normalisation

def normalise_notebook(path: Path, master_ids: set[str]) -> None:
    """Give the cells Otter created (ids not in the master) the stable ids ``otter-NNN``."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    for index, cell in enumerate(nb.cells):
        if "id" in cell and cell["id"] not in master_ids:
            cell["id"] = f"otter-{index:03d}"
    nbformat.write(nb, str(path))


def normalise_zip(path: Path, stable_path: Path) -> Path:
    """Rewrite the zip ``path`` as ``stable_path``: entries sorted by name, dated
    1980-01-01 00:00, same contents and permission bits, stored uncompressed like Otter's."""
    with zipfile.ZipFile(path) as source:
        entries = sorted((info.filename, info.external_attr, source.read(info))
                         for info in source.infolist() if not info.is_dir())
    partial = stable_path.with_name(stable_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as target:
        for name, attributes, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.external_attr = attributes
            target.writestr(info, data)
    path.unlink()
    partial.replace(stable_path)
    return stable_path


def normalise_output(master: Path, result: Path) -> Path:
    """Normalise both notebooks and the zip of an Otter Assign output; return the zip's path."""
    master_ids = {cell["id"] for cell in nbformat.read(master, as_version=4).cells if "id" in cell}
    for notebook in sorted(result.glob(f"*/{master.name}")):
        normalise_notebook(notebook, master_ids)
    zips = sorted((result / "autograder").glob(f"{master.stem}-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"expected one timestamped autograder zip in {result / 'autograder'}, "
                           f"found {[z.name for z in zips]}")
    return normalise_zip(zips[0], result / "autograder" / f"{master.stem}-autograder.zip")


# --------------------------------------------------------------------------- self-test

def self_test(autograder_dir: Path, autograder_zip: Path, expected: float) -> tuple[float, float]:
    """Grade the solved autograder notebook with the autograder zip; every autograded question
    must get full marks and the total must be ``expected``.

    Raises:
        RuntimeError: with Otter's summary of what failed.
    """
    from otter.api import grade_submission

    notebook = autograder_dir / MASTER.name
    results = grade_submission(str(notebook), str(autograder_zip), quiet=True)
    total, possible = float(results.total), float(results.possible)
    expected_names = {name for name, (_, manual) in question_points().items() if not manual}
    graded = set(results.results)
    if total != possible or possible != expected or graded != expected_names:
        raise RuntimeError(
            f"self-test of the solved notebook: {total} / {possible} points, expected "
            f"{expected} / {expected} over questions {sorted(expected_names)}, graded "
            f"{sorted(graded)}\n{results.summary()}")
    return total, possible


# --------------------------------------------------------------------------- the whole build

def build(student_dir: Path = DEFAULT_STUDENT_DIR, autograder_dir: Path = DEFAULT_AUTOGRADER_DIR,
          run_self_test: bool = True) -> BuildReport:
    """Build the student folder and the autograder folder from the master (replacing both).

    Side effects: ``student_dir`` and ``autograder_dir`` are deleted and written afresh; nothing
    else outside a temporary folder is touched.
    """
    expected = expected_autograded_points()
    with tempfile.TemporaryDirectory(prefix="prunekit-assign-") as tmp:
        staged_master = stage(Path(tmp) / "stage")
        result = Path(tmp) / "stage" / "dist"
        run_otter_assign(staged_master, result)
        zip_path = normalise_output(staged_master, result)
        points = self_test(result / "autograder", zip_path, expected) if run_self_test else None
        _replace_dir(result / "student", student_dir)
        shutil.copy2(STUDENT_README, student_dir / "README.md")
        _replace_dir(result / "autograder", autograder_dir)
    return BuildReport(student_dir, autograder_dir, autograder_dir / zip_path.name, expected, points)


def _replace_dir(source: Path, target: Path) -> None:
    """Make ``target`` a copy of ``source`` (deleting what ``target`` held)."""
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, ignore=JUNK)


def drift(built: Path, committed: Path) -> list[str]:
    """Relative paths that differ between two folders: changed, missing or extra files
    (``__pycache__`` and ``*.pyc`` left out). Empty when the folders match byte for byte."""
    def files(root: Path) -> set[str]:
        if not root.is_dir():
            return set()
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}

    new, old = files(built), files(committed)
    changed = [f"changed: {name}" for name in sorted(new & old)
               if not filecmp.cmp(built / name, committed / name, shallow=False)]
    missing = [f"missing from {committed.name}/ (not committed): {name}" for name in sorted(new - old)]
    extra = [f"extra in {committed.name}/ (not generated): {name}" for name in sorted(old - new)]
    return changed + missing + extra


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status (1: drift found by ``--check``)."""
    parser = argparse.ArgumentParser(prog="python -m assignment.build",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="rebuild in a temporary folder and list differences from student_template/")
    parser.add_argument("--out", type=Path, default=None,
                        help="write OUT/student_template and OUT/autograder instead of the defaults")
    parser.add_argument("--skip-self-test", action="store_true",
                        help="do not grade the solved notebook (faster; for quick iterations only)")
    args = parser.parse_args(argv)
    run_self_test = not args.skip_self_test
    if args.check:
        with tempfile.TemporaryDirectory(prefix="prunekit-check-") as tmp:
            report = build(Path(tmp) / "student_template", Path(tmp) / "autograder", run_self_test)
            _print_report(report, paths=False)
            differences = drift(report.student_dir, DEFAULT_STUDENT_DIR)
        if differences:
            print(f"student_template/ is out of date with {MASTER.relative_to(REPO)} "
                  f"({len(differences)} files); run `python -m assignment.build`:")
            print("\n".join(f"  {line}" for line in differences))
            return 1
        print("student_template/ is in sync with the master")
        return 0
    if args.out:
        report = build(args.out / "student_template", args.out / "autograder", run_self_test)
    else:
        report = build(run_self_test=run_self_test)
    _print_report(report)
    return 0


def _print_report(report: BuildReport, paths: bool = True) -> None:
    if report.self_test_points:
        total, possible = report.self_test_points
        print(f"self-test: the solved notebook scores {total:g} / {possible:g} "
              f"(expected {report.expected_points:g})")
    else:
        print("self-test skipped")
    if paths:
        print(f"student notebook: {report.student_dir}")
        print(f"autograder:       {report.autograder_dir} (zip: {report.autograder_zip.name})")


if __name__ == "__main__":
    sys.exit(main())
