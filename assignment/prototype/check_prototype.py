"""End-to-end check of the Otter Assign prototype: assign, fill in, check, export, otter run.

Steps (each prints what it saw, so the log doubles as evidence for ../OTTER_NOTES.md):
  1. python make_master.py; otter assign master.ipynb dist; python normalise_dist.py master.ipynb dist
  2. build three student workspaces from dist/student/: ``solved`` (answer cells replaced by the
     solutions taken from dist/autograder/master.ipynb, matched by cell id), ``partial`` (solved,
     but fine_grained_prune lacks the ``num_zeros == 0`` guard: public test passes, hidden test
     fails) and ``blank`` (the student notebook as distributed);
  3. execute each with nbconvert's ExecutePreprocessor in its workspace, printing the output of
     every ``grader.check`` cell (what a student sees) and running the export cell;
  4. list the exported submission zip;
  5. ``otter run -a dist/autograder/<zip> <submission zip>`` and print the score.

Usage:  python check_prototype.py [--no-assign]      (run from any directory; ~1 min on a CPU)
"""

import glob
import json
import pathlib
import shutil
import subprocess
import sys
import zipfile

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

HERE = pathlib.Path(__file__).resolve().parent
DIST = HERE / "dist"
WORK = HERE / "work"


def run(cmd, cwd=HERE):
    """Run a command, echo it, fail loudly on a non-zero exit."""
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def assign():
    run([sys.executable, "make_master.py"])
    run(["otter", "assign", "master.ipynb", "dist"])
    run([sys.executable, "normalise_dist.py", "master.ipynb", "dist"])


def solutions_by_id():
    """Solution cell sources of the autograder notebook keyed by cell id."""
    nb = nbformat.read(DIST / "autograder" / "master.ipynb", as_version=4)
    return {c["id"]: c["source"] for c in nb.cells
            if "otter_assign_solution_cell" in c.metadata.get("tags", [])}


PARTIAL_BUG = ("    if num_zeros == 0:\n        return torch.ones_like(tensor, dtype=torch.bool)\n", "")


def make_workspace(name, solved, bug=None):
    """Copy dist/student to work/<name>; if ``solved``, fill every answer cell; ``bug`` is an
    (old, new) source replacement applied to the filled cells."""
    ws = WORK / name
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(DIST / "student", ws)
    nb_path = ws / "master.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    if solved:
        sols = solutions_by_id()
        md_solution = next(s for s in sols.values() if s.startswith("**SOLUTION"))
        for cell in nb.cells:
            if "otter_answer_cell" not in cell.metadata.get("tags", []):
                continue
            cell.source = sols.get(cell.get("id"), md_solution if cell.cell_type == "markdown" else cell.source)
            if bug:
                cell.source = cell.source.replace(*bug)
    nbformat.write(nb, nb_path)
    return ws


def cell_text(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.data.get("text/plain", ""))
        elif o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
    return "".join(out)


def execute(ws):
    """Execute the workspace notebook in place (allow_errors, as a student running all cells)."""
    nb_path = ws / "master.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    ep = ExecutePreprocessor(timeout=600, allow_errors=True, kernel_name="python3")
    ep.preprocess(nb, {"metadata": {"path": str(ws)}})
    for cell in nb.cells:
        src = cell.source if cell.cell_type == "code" else ""
        if src.startswith("grader.") or "running under otter" in src:
            print(f"  >>> {src.splitlines()[-1]}")
            print("    " + cell_text(cell).replace("\n", "\n    ").rstrip())
    nbformat.write(nb, ws / "executed.ipynb")
    zips = sorted(glob.glob(str(ws / "master_*.zip")))
    return zips[-1] if zips else None


def otter_run(submission, name):
    ag_zip = sorted(glob.glob(str(DIST / "autograder" / "*.zip")))[-1]
    out = WORK / f"results_{name}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    run(["otter", "run", "-a", ag_zip, "-o", str(out), "--no-logo", submission])
    results = json.loads((out / "results.json").read_text())
    # no top-level "score" unless points_possible is set: Gradescope sums the per-test scores
    total = sum(t.get("score") or 0 for t in results["tests"])
    possible = sum(t.get("max_score") or 0 for t in results["tests"])
    print(f"  score[{name}] = {total} / {possible}")
    for t in results["tests"]:
        print(f"    {t['name']}: {t.get('score')}/{t.get('max_score')} ({t.get('visibility')})")
    return results


def main(argv):
    if "--no-assign" not in argv:
        assign()
    for name, solved, bug in [("solved", True, None), ("partial", True, PARTIAL_BUG),
                              ("blank", False, None)]:
        print(f"== {name}")
        ws = make_workspace(name, solved, bug)
        zip_path = execute(ws)
        if zip_path is None:
            print("  no submission zip was exported")
            continue
        with zipfile.ZipFile(zip_path) as zf:
            print("  zip:", sorted(zf.namelist()))
        otter_run(zip_path, name)


if __name__ == "__main__":
    main(sys.argv)
