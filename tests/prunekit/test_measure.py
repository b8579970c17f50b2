"""Tests of prunekit.measure: parameter counts, model size, MACs and latency.

No assertion depends on how fast the machine is: latency tests check the shape of the results,
the call order and the mode handling, never a time.
"""
from __future__ import annotations

import torch
from torch import nn

from prunekit.measure import (LatencyResult, PairedLatency, bits_to_mib, compare_latency,
                              count_macs, count_parameters, measure_latency, model_size_bits,
                              summarize)
from prunekit.model import VGG

FULL_VGG_PARAMS = 9_228_362
PRUNED_0_3_CHANNELS = [45, 90, 179, 179, 358, 358, 358, 512]


def tiny_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


class Recorder(nn.Module):
    """A fake model that appends its tag, its mode and whether grad is on to a shared log."""

    def __init__(self, tag: str, log: list):
        super().__init__()
        self.tag, self.log = tag, log

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log.append((self.tag, self.training, torch.is_grad_enabled()))
        return x


# --------------------------------------------------------------------------- parameters and size

def test_full_vgg_has_the_lab_parameter_count():
    """VGG() has the 9,228,362 parameters of the lab's model."""
    assert count_parameters(VGG()) == FULL_VGG_PARAMS


def test_buffers_are_not_counted():
    """BatchNorm running statistics (buffers) are not parameters: conv + BN affine + linear only."""
    model = tiny_model()
    expected = (4 * 3 * 9 + 4) + (4 + 4) + (4 * 2 + 2)
    assert count_parameters(model) == expected
    assert sum(b.numel() for b in model.buffers()) > 0


def test_nonzero_counting_after_zeroing_weights():
    """count_nonzero_only counts only the entries that are not zero (BN biases start at zero)."""
    model = tiny_model()
    total = count_parameters(model)
    assert count_parameters(model, count_nonzero_only=True) == total - 4  # the BN bias is zeros
    with torch.no_grad():
        model[0].weight.view(-1)[:10] = 0
        model[5].weight.zero_()
    assert count_parameters(model) == total
    assert count_parameters(model, count_nonzero_only=True) == total - 4 - 10 - 8


def test_shared_parameter_counted_once():
    """A parameter used by two modules is counted once."""
    linear = nn.Linear(3, 3)
    assert count_parameters(nn.Sequential(linear, linear)) == 12


def test_model_size_in_bits_and_mib():
    """Full VGG: parameters x 32 bits, 35.20 MiB at fp32; data_width scales the size."""
    model = VGG()
    assert model_size_bits(model) == FULL_VGG_PARAMS * 32
    assert round(bits_to_mib(model_size_bits(model)), 2) == 35.20
    assert model_size_bits(model, data_width=8) == FULL_VGG_PARAMS * 8


def test_bits_to_mib_uses_binary_megabytes():
    """1 MiB is 2**20 bytes of 8 bits."""
    assert bits_to_mib(8 * 2**20) == 1.0
    assert bits_to_mib(8 * 2**19) == 0.5


def test_nonzero_size_counts_only_nonzero_entries():
    """model_size_bits with count_nonzero_only uses the nonzero parameter count."""
    model = tiny_model()
    with torch.no_grad():
        model[5].weight.zero_()
    nonzero = count_parameters(model) - 4 - 8  # the BN bias starts at zero; the linear weight zeroed
    assert model_size_bits(model, 16, count_nonzero_only=True) == 16 * nonzero


# --------------------------------------------------------------------------- MACs and summary

def test_macs_of_full_and_channel_pruned_vgg():
    """MACs of the full VGG (606 M) and of the uniformly 0.3-channel-pruned one."""
    assert count_macs(VGG()) == 605_754_368
    assert count_macs(VGG(conv_channels=PRUNED_0_3_CHANNELS)) == 305_097_920


def test_summarize_reports_counts_size_and_macs():
    """summarize gives params, nonzero params, sizes in MiB and MACs consistent with the helpers."""
    model = VGG(width=0.125)
    nonzero_before = count_parameters(model, count_nonzero_only=True)
    with torch.no_grad():
        model.classifier.weight.zero_()
    summary = summarize(model)
    assert summary["params"] == count_parameters(model)
    assert summary["nonzero_params"] == nonzero_before - model.classifier.weight.numel()
    assert summary["size_mib"] == bits_to_mib(32 * summary["params"])
    assert summary["nonzero_size_mib"] < summary["size_mib"]
    assert summary["macs"] == count_macs(model)


# --------------------------------------------------------------------------- latency

def test_latency_result_fields_are_sane():
    """measure_latency returns one positive sample per repeat, a median inside them, the batch size."""
    result = measure_latency(tiny_model(), torch.rand(5, 3, 8, 8), warmup=1, repeats=7)
    assert isinstance(result, LatencyResult)
    assert result.repeats == len(result.samples_s) == 7
    assert all(t > 0 for t in result.samples_s)
    assert result.min_s <= result.q25_s <= result.median_s <= result.q75_s <= result.max_s
    assert result.iqr_s >= 0 and result.median_ms == result.median_s * 1e3
    assert result.batch_size == 5


def test_latency_runs_in_eval_without_grad_and_restores_modes():
    """Forward passes run in eval mode without autograd; each submodule's mode is restored."""
    log: list = []
    model = nn.Sequential(Recorder("m", log), nn.Dropout())
    model.train()
    model[1].eval()  # a mixed-mode model must come back mixed
    measure_latency(model, torch.rand(2, 3), warmup=2, repeats=3)
    assert len(log) == 5
    assert all(not training and not grad for _, training, grad in log)
    assert model.training and model[0].training and not model[1].training


def test_compare_latency_of_a_model_with_itself_is_near_one():
    """A model against itself: medians positive and a ratio within a loose 0.5..2 sanity bound."""
    model = tiny_model()
    paired = compare_latency(model, model, torch.rand(4, 3, 8, 8), warmup=2, repeats=21)
    assert isinstance(paired, PairedLatency)
    assert paired.median_a_s > 0 and paired.median_b_s > 0
    assert paired.speedup == paired.median_a_s / paired.median_b_s
    assert 0.5 < paired.speedup < 2
    assert len(paired.pair_ratios) == 21
    assert paired.ratio_q25 <= paired.median_pair_ratio <= paired.ratio_q75


def test_compare_latency_interleaves_and_alternates_order():
    """Warm-up runs a then b; timed rounds alternate a-b, b-a, ...; modes restored afterwards."""
    log: list = []
    model_a, model_b = Recorder("a", log), Recorder("b", log)
    model_b.eval()
    paired = compare_latency(model_a, model_b, torch.rand(3, 2), warmup=1, repeats=4)
    order = [tag for tag, _, _ in log]
    assert order == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert all(not training and not grad for _, training, grad in log)
    assert model_a.training and not model_b.training
    assert paired.a.repeats == paired.b.repeats == 4 and paired.a.batch_size == 3
