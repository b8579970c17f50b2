"""Tests of the benchmark scripts: their helpers, and the whole ``python -m benchmarks`` pipeline
on a tiny budget (the figures it writes then mean nothing; that every table and plot appears
does)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from autograder.results import SubmissionResult
from benchmarks.common import REPO, machine_line, uniform_fine_grained
from benchmarks.grading_throughput import markdown, stage_medians
from benchmarks.speedup import activation_count, fold_batchnorm, rounded_to_multiple
from prunekit.model import VGG
from prunekit.sensitivity import prunable_weights
from tests.helpers import small_vgg

EXPECTED_FILES = {
    "offline_lesson": ["offline_lesson.md"],
    "results_table": ["results_table_offline.md", "results_models_offline.png"],
    "speedup": ["speedup_offline.md", "speedup_offline.png"],
    "speedup_full_width": ["speedup_cifar10.md", "speedup_cifar10.png"],
    "accuracy_vs_sparsity": ["accuracy_vs_sparsity_offline.md", "sensitivity_offline.png",
                             "uniform_offline.png"],
    "grading_throughput": ["grading_throughput.md"],
}


def test_fold_batchnorm_keeps_the_outputs_and_the_original():
    """Folding every BN into its conv gives the same logits (float rounding aside), leaves no
    BatchNorm in the copy, and does not touch the original."""
    model = small_vgg(width=1 / 16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batchnorm(model)
    inputs = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(folded(inputs), model(inputs), atol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_activation_count_adds_every_layer_output():
    """Per image: conv, BN and ReLU each write C x H x W values, a pool writes a quarter of its
    input; the plan halves the resolution after convs 1, 3, 5 and 7."""
    channels = [2, 3, 4, 5, 6, 7, 8, 9]
    expected, side = 0, 32
    for index, count in enumerate(channels):
        expected += 3 * count * side * side
        if index % 2 == 1:
            side //= 2
            expected += count * side * side
    assert activation_count(VGG(conv_channels=channels)) == expected


def test_rounded_to_multiple():
    assert rounded_to_multiple([6, 11, 22, 45, 3]) == [8, 8, 24, 48, 8]
    assert rounded_to_multiple([12], multiple=4) == [12]


def test_uniform_fine_grained_prunes_a_copy():
    model = small_vgg(width=1 / 16)
    pruned = uniform_fine_grained(model, 0.75)
    for name, weight in prunable_weights(pruned).items():
        assert abs((weight == 0).float().mean().item() - 0.75) < 0.02, name
    assert all(torch.count_nonzero(w) == w.numel() for w in prunable_weights(model).values())


def test_machine_line_names_cores_threads_and_torch():
    line = machine_line()
    assert "cores" in line and f"{torch.get_num_threads()} torch threads" in line
    assert torch.__version__ in line


def fake(status: str, total: float, **stages) -> SubmissionResult:
    return SubmissionResult("s", status, timings_s={**stages, "total": total})


def test_throughput_stage_medians_skip_timeouts_and_the_total():
    """Where the time goes is read off the graded submissions only (a time-out spends the limit
    in the sandbox), and "total" is not a stage."""
    results = [fake("graded", 7.0, load=1.0, sandbox=5.0), fake("graded", 9.0, load=3.0, sandbox=5.0),
               fake("timeout", 30.0, load=1.0, sandbox=29.0)]
    assert stage_medians(results) == {"load": 2.0, "sandbox": 5.0}
    run = {"workers": 1, "batch_s": 46.0, "count": 3, "median_s": 9.0, "graded_median_s": 8.0,
           "stages": stage_medians(results), "peak_bytes": 2**30, "statuses": ["graded", "timeout"]}
    text = markdown([run], timeout=30)
    assert "| 1 | 3 | 46 s | 3.9 | 9.0 s / 8.0 s | 1.00 GiB | graded, timeout |" in text
    assert "| reading the submission (zip, notebook, model files) | 2.00 |" in text


@pytest.mark.slow
def test_benchmark_command_writes_every_table_and_plot(tmp_path):
    """``python -m benchmarks --quick`` runs every script to completion and writes each one's
    tables and plots into the results folder given; the tables hold their rows."""
    completed = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--results",
                                str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                               timeout=1500)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    for script, names in EXPECTED_FILES.items():
        for name in names:
            assert (tmp_path / name).is_file() and (tmp_path / name).stat().st_size > 0, \
                f"{script} did not write {name}"
    speedup = (tmp_path / "speedup_offline.md").read_text()
    assert speedup.count("| channel 0.") == 7 and speedup.count("| fine-grained 0.") == 3
    assert "What limits the speedup at ratio 0.3" in speedup
    full_width = (tmp_path / "speedup_cifar10.md").read_text()
    assert "[45, 90, 179, 179, 358, 358, 358, 512]" in full_width  # the lab's VGG at 0.3
    table = (tmp_path / "results_table_offline.md").read_text()
    assert all(f"| {name}" in table for name in ("dense", "fine-grained", "channel-pruned 0.3"))
    throughput = (tmp_path / "grading_throughput.md").read_text()
    assert "| 2 | 8 |" in throughput  # the eight example submissions, two workers
