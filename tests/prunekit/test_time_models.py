"""The notebook's results table times its models with ``time_models``: all of them in the same
interleaved rounds, in thread CPU time, one torch thread, as the grader measures speedup."""
from __future__ import annotations

import time

import torch
from torch import nn

from prunekit.measure import ModelTimes, time_models


class Worker(nn.Module):
    """Computes ``size`` matrix products per call: a model of known cost."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.weight = nn.Parameter(torch.ones(64, 64))

    def forward(self, x):
        for _ in range(self.size):
            x = torch.tanh(x @ self.weight)
        return x


class Sleeper(nn.Module):
    """Waits instead of computing: costs wall time but no CPU time."""

    def forward(self, x):
        time.sleep(0.01)
        return x


def test_cheaper_models_show_speedups_over_the_first():
    timing = time_models({"dense": Worker(40), "half": Worker(20), "tenth": Worker(4)},
                         torch.ones(8, 64), warmup=1, repeats=12)
    assert timing.speedup["dense"] == 1.0
    assert 1.5 < timing.speedup["half"] < timing.speedup["tenth"]
    assert timing.median_ms["tenth"] < timing.median_ms["dense"]


def test_waiting_is_not_counted():
    """A model that only sleeps costs (almost) no CPU time: waiting for a core is not cost."""
    timing = time_models({"dense": Worker(20), "sleeper": Sleeper()}, torch.ones(8, 64),
                         warmup=1, repeats=6)
    assert timing.median_ms["sleeper"] < 1.0 and timing.speedup["sleeper"] > 1.0


def test_threads_and_modes_are_restored():
    model = Worker(2).train()
    threads = torch.get_num_threads()
    time_models({"a": model}, torch.ones(2, 64), warmup=0, repeats=2, threads=1)
    assert torch.get_num_threads() == threads and model.training


def test_unstable_rounds_are_flagged():
    stable = ModelTimes(median_ms={"a": 1.0, "b": 0.5}, speedup={"a": 1.0, "b": 2.0},
                        speedup_quartiles={"a": (1.0, 1.0), "b": (1.9, 2.1)}, threads=1, repeats=30)
    unstable = ModelTimes(median_ms={"a": 1.0, "b": 0.5}, speedup={"a": 1.0, "b": 2.0},
                          speedup_quartiles={"a": (1.0, 1.0), "b": (1.2, 2.6)}, threads=1,
                          repeats=30)
    assert stable.reliable and "stable" in stable.note
    assert not unstable.reliable and "not reliable" in unstable.note
