"""Tests of prunekit.measure: MACs, the MiB conversion and latency.

No assertion depends on how fast the machine is: latency tests check the shape of the results,
the call order and the mode handling, never a time.
"""
from __future__ import annotations

import torch
from torch import nn

from prunekit.measure import (LatencyResult, PairedLatency, bits_to_mib, compare_latency,
                              count_macs, measure_latency)
from prunekit.model import VGG

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


# --------------------------------------------------------------------------- units

def test_bits_to_mib_uses_binary_megabytes():
    """1 MiB is 2**20 bytes of 8 bits."""
    assert bits_to_mib(8 * 2**20) == 1.0
    assert bits_to_mib(8 * 2**19) == 0.5


# --------------------------------------------------------------------------- MACs

def test_macs_of_full_and_channel_pruned_vgg():
    """MACs of the full VGG (606 M) and of the uniformly 0.3-channel-pruned one."""
    assert count_macs(VGG()) == 605_754_368
    assert count_macs(VGG(conv_channels=PRUNED_0_3_CHANNELS)) == 305_097_920


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
