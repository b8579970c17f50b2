"""The whole lab on a CPU, as a student does it: the student notebook with every answer filled
in from the master executes top to bottom in a fresh kernel (nbclient, as ``jupyter nbconvert
--execute``) on the offline profile, without an error, draws its plots, prints the results table,
saves both model files, and - the student saving the notebook before the export cell - exports
the submission zip that ``otter run`` grades at full marks.

Runs with the reduced ``PRUNEKIT_BUDGET=smoke`` (1-epoch fine-tunes, two-point sensitivity scan:
every cell runs, only shorter) unless ``PRUNEKIT_BUDGET`` is set; ``PRUNEKIT_BUDGET=full`` runs the
real budget (about 2 minutes of notebook on 2 cores, more under load).
"""
from __future__ import annotations

import os
import re
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import questions

from prunekit.export import SUBMISSION_ZIP
from prunekit.submission import load_model

from .notebooks import code_cells, copy_folder, error_outputs, execute_saving, fill_answers, read

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(built, solved_nb, tmp_path_factory):
    """The filled-in student notebook executed in a copy of the student folder, saved to disk
    just before the export cell: ``(folder, executed notebook, seconds)``."""
    folder = copy_folder(built.student_dir, tmp_path_factory.mktemp("e2e") / "lab")
    notebook = folder / "pruning_lab.ipynb"
    filled = fill_answers(read(notebook), solved_nb)
    nbformat.write(filled, str(notebook))
    env = {**os.environ, "PRUNEKIT_BUDGET": os.environ.get("PRUNEKIT_BUDGET", "smoke")}
    env.pop("PRUNEKIT_PROFILE", None)
    start = time.perf_counter()
    executed = execute_saving(filled, folder, notebook,
                              lambda cell: "export_submission(" in cell.source, env=env)
    return folder, executed, time.perf_counter() - start


def outputs_text(nb, cell_id: str) -> str:
    cell = next(c for c in code_cells(nb) if c.get("id") == cell_id)
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_runs_without_errors(executed):
    """No cell of the solved notebook raises, and every code cell ran."""
    _, nb, seconds = executed
    assert error_outputs(nb) == []
    assert all(cell.get("execution_count") for cell in code_cells(nb))
    print(f"notebook executed in {seconds:.0f} s")


def test_checks_pass_and_results_are_shown(executed):
    """Every grader.check passes (the bonus q10's too); the plots are drawn, the results table
    lists the three models and the check of the saved model files passes."""
    _, nb, _ = executed
    checks = [c for c in code_cells(nb) if c.source.startswith('grader.check("')]
    assert len(checks) == 10
    for cell in checks:
        assert "All test cases passed!" in "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                                                 for o in cell.outputs), cell.source
    images = sum("image/png" in o.get("data", {}) for c in code_cells(nb) for o in c.outputs)
    # weight histograms twice, weights per layer, the sensitivity curves and the kit's real-image
    # scan, the model comparison, the trade-offs, and again with the 2:4 model
    assert images >= 8
    assert any("image/png" in o.get("data", {}) for c in code_cells(nb)
               if c.get("id") == "nm-tradeoffs" for o in c.outputs)
    table = outputs_text(nb, "results-table")
    for name in ("dense", "fine-grained", "channel-pruned"):
        assert f"\n{name} " in "\n" + table
    saved = outputs_text(nb, "check-saved-models")  # the saved files, checked as grading will
    assert "Every check passes" in saved and "MISS" not in saved, saved


def numbers_after(text: str, label: str) -> list[float]:
    """The numbers printed right after ``label`` in ``text`` (e.g. "before fine-tuning: ")."""
    return [float(n) for n in re.findall(re.escape(label) + r"(-?[\d.]+)", text)]


def test_what_the_prose_claims_holds_for_the_reference_answers(executed):
    """The sentences that state results are true of this run: sorting keeps the function;
    fine-tuning recovers most of what channel pruning lost and does not lose accuracy after
    fine-grained pruning; the fine-grained model is about as fast as the dense one and the
    channel-pruned one faster, by less than its MAC reduction (W3)."""
    _, nb, _ = executed
    sorted_line = outputs_text(nb, "sorted-channel-prune")
    [sorted_accuracy] = numbers_after(sorted_line, "sorted model: ")
    [dense_accuracy] = numbers_after(sorted_line, "(dense: ")
    assert abs(sorted_accuracy - dense_accuracy) <= 0.1, sorted_line  # float sums reordered
    [channel_before] = numbers_after(outputs_text(nb, "prune-channel"), "before fine-tuning: ")
    [channel_after] = numbers_after(outputs_text(nb, "finetune-channel"), "after fine-tuning: ")
    assert channel_after - channel_before > 0.5 * (dense_accuracy - channel_before)
    [fine_before] = numbers_after(outputs_text(nb, "prune-finegrained"), "before fine-tuning: ")
    [fine_after] = numbers_after(outputs_text(nb, "finetune-finegrained"),
                                 "after fine-tuning: ")
    assert fine_after >= fine_before
    table = outputs_text(nb, "results-table")
    [fewer_macs] = numbers_after(table, "channel-pruned: ")
    [faster] = numbers_after(table, "dense model, ")
    assert 1.0 < faster < fewer_macs, table
    [fine_speedup] = [float(n) for n in re.findall(r"\nfine-grained .* ([\d.]+)x ", table)]
    assert 0.8 < fine_speedup < 1.25, table


# The kit's own full-budget cifar10-cpu runs of the filled-in notebook (one per training path,
# written by benchmarks/notebook_time.py): the claims hold on real images too, not only offline.
FULL_CIFAR10_CPU_RUNS = sorted(
    (Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "logs").glob(
        "notebook_time_cifar10-cpu_full_*.ipynb"))


@pytest.mark.parametrize("run", FULL_CIFAR10_CPU_RUNS, ids=lambda path: path.stem)
def test_the_prose_claims_hold_on_the_kits_full_cifar10_cpu_runs(run):
    """The same claims, read from the committed full-budget runs on real CIFAR-10 (the CI run of
    that profile is the tiny budget, near chance, which checks the code path only)."""
    test_what_the_prose_claims_holds_for_the_reference_answers((None, read(run), None))


def test_the_bonus_extension_does_what_its_prose_says(executed):
    """Section 10 with the reference nm_prune: every conv but conv0 (27 entries per row) is
    pruned at 2:4 and the classifier left dense; fine-tuning keeps the zeros (about half the
    parameters stay) and loses no accuracy; on this CPU the 2:4 model runs at about the dense
    model's speed; the compressed size is the 2:4 format's."""
    _, nb, _ = executed
    pruned = outputs_text(nb, "nm-prune-model")
    assert "2:4 pruned 7 conv weights" in pruned
    assert "left dense: backbone.conv0.weight, classifier.weight" in pruned
    [before] = numbers_after(pruned, "2:4 model before fine-tuning: ")
    [after] = numbers_after(outputs_text(nb, "nm-finetune"), "2:4 model after fine-tuning: ")
    assert after >= before
    line = outputs_text(nb, "nm-tradeoffs")
    [percent] = [float(n) for n in re.findall(r"\(([\d.]+)% of dense\)", line)]
    assert 45 < percent < 60, line
    [speed] = numbers_after(line, "on this CPU: ")
    assert 0.8 < speed < 1.25, line
    assert "would take 56.25% of their dense size" in line


def test_saves_loadable_models_and_exports_them(executed):
    """finegrained.pt and channel_pruned.pt load as VGGs (sparse and narrower), and the export zip
    holds them beside the notebook."""
    folder, _, _ = executed
    finegrained = load_model(folder / "finegrained.pt")
    channel_pruned = load_model(folder / "channel_pruned.pt")
    zeros = sum(int((p == 0).sum()) for p in finegrained.parameters())
    assert zeros / sum(p.numel() for p in finegrained.parameters()) > 0.7
    assert channel_pruned.conv_channels[:-1] == [6, 11, 22, 22, 45, 45, 45]
    assert sorted(p.name for p in folder.glob("*.zip")) == [SUBMISSION_ZIP]
    with zipfile.ZipFile(folder / SUBMISSION_ZIP) as archive:
        assert {"pruning_lab.ipynb", "finegrained.pt", "channel_pruned.pt"} <= set(archive.namelist())


def test_exported_submission_gets_full_marks(executed, built):
    """otter run (stock Otter grading, long cells skipped) gives the exported zip full marks."""
    from otter.api import grade_submission

    folder, _, _ = executed
    submission = folder / SUBMISSION_ZIP
    results = grade_submission(str(submission), str(built.autograder_zip), quiet=True)
    total = sum(questions.load().points().values())
    assert (results.total, results.possible) == (total, total), results.summary()


# --- the same notebook on real CIFAR-10 (cifar10-cpu), where the array file is present ----------

@pytest.fixture(scope="module")
def executed_cifar10_cpu(built, solved_nb, tmp_path_factory):
    """The filled-in notebook on the cifar10-cpu profile (half-width VGG, its shipped base
    checkpoint) on the tiny budget: the smoke budget on a smaller fixed subset of the real
    images (``prunekit.profiles.TINY_SUBSET``; what it shows is the code path, not accuracy):
    ``(folder, executed notebook)``."""
    from tests.conftest import SHARED_CIFAR10

    if not SHARED_CIFAR10.is_file():
        pytest.skip(f"real CIFAR-10 arrays not found at {SHARED_CIFAR10}")
    folder = copy_folder(built.student_dir, tmp_path_factory.mktemp("e2e-cifar") / "lab")
    (folder / "data").mkdir()
    (folder / "data" / SHARED_CIFAR10.name).symlink_to(SHARED_CIFAR10)
    notebook = folder / "pruning_lab.ipynb"
    filled = fill_answers(read(notebook), solved_nb)
    nbformat.write(filled, str(notebook))
    env = {**os.environ, "PRUNEKIT_BUDGET": "tiny", "PRUNEKIT_PROFILE": "cifar10-cpu"}
    for name in ("PRUNEKIT_DATA", "PRUNEKIT_CHECKPOINTS"):  # the lab folder's own data/
        env.pop(name, None)
    executed = execute_saving(filled, folder, notebook,
                              lambda cell: "export_submission(" in cell.source, env=env)
    return folder, executed


def test_cifar10_cpu_runs_end_to_end_on_real_images(executed_cifar10_cpu):
    """No cell raises, every public check passes, the shipped cifar10-cpu checkpoint is the
    dense model (no base training), the export writes the submission zip, and the accuracies
    printed say they come from the budget's subset."""
    folder, nb = executed_cifar10_cpu
    assert error_outputs(nb) == []
    assert "profile 'cifar10-cpu'" in outputs_text(nb, "settings")
    assert "training one now" not in outputs_text(nb, "load-dense")
    checks = [c for c in code_cells(nb) if c.source.startswith('grader.check("')]
    for cell in checks:
        assert "All test cases passed!" in "".join(
            o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
            for o in cell.outputs), cell.source
    assert (folder / SUBMISSION_ZIP).is_file()
    # the QUICK-like budget's accuracies, the saved models' check included, say what they used
    assert "on 500 test images (QUICK: a fixed subset" in outputs_text(nb, "load-dense")
    assert "the 500 test images of QUICK's subset" in outputs_text(nb, "check-saved-models")
