"""The q9 latency protocol (``prunekit.measure.interleaved_cpu_times``, which the grader uses):
every model is timed once per round, and what counts is the time the grading thread computed, not the time it
waited (so a loaded machine cannot flip the speedup check)."""
from __future__ import annotations

import time

import torch
from torch import nn

from prunekit.measure import interleaved_cpu_times


class Sleeper(nn.Module):
    """A model whose forward pass waits ``seconds`` without computing (like a thread that is
    off its core while other processes run)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        return x


class Worker(nn.Module):
    """A model that computes: ``steps`` matrix products of a 256 x 256 matrix."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.matrix = torch.rand(256, 256, generator=torch.Generator().manual_seed(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.steps):
            self.matrix @ self.matrix
        return x


def test_every_model_is_timed_once_per_round():
    models = [nn.Identity(), nn.Identity(), nn.Identity()]
    times = interleaved_cpu_times(models, torch.zeros(1), warmup=1, repeats=12)
    assert [len(each) for each in times] == [12, 12, 12]
    assert all(t >= 0 for each in times for t in each)


def test_waiting_is_not_counted_and_computing_is():
    """A pass that sleeps 20 ms costs (almost) nothing; one that computes more costs more."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sleeper, light, heavy = interleaved_cpu_times([Sleeper(0.02), Worker(2), Worker(20)],
                                                  torch.zeros(1), warmup=1, repeats=6)
    finally:
        torch.set_num_threads(threads)
    assert max(sleeper) < 0.005
    assert min(heavy) > 0
    assert sorted(heavy)[3] > 3 * sorted(light)[3]


def test_measurements_are_remembered_per_weights_not_per_object():
    """``Resources.remembered`` measures a model's weights once per process: a copy with the same
    weights (another file with the same bytes) reuses the value, changed weights are measured
    again, and accuracy and speedup are remembered apart."""
    import copy

    from autograder.checks.resources import Resources, model_digest
    from autograder.checks.settings import load_settings
    from tests.helpers import small_vgg

    resources = Resources(load_settings("offline"))
    calls = []

    def measure(value):
        def run():
            calls.append(value)
            return value
        return run

    model = small_vgg(seed=0)
    twin = copy.deepcopy(model)
    assert model_digest(twin) == model_digest(model)
    assert resources.remembered("accuracy", model, measure(90.0)) == 90.0
    assert resources.remembered("accuracy", twin, measure(12.0)) == 90.0
    assert resources.remembered("speedup", twin, measure(1.4)) == 1.4
    with torch.no_grad():
        twin.classifier.weight[0, 0] += 1.0
    assert model_digest(twin) != model_digest(model)
    assert resources.remembered("accuracy", twin, measure(55.0)) == 55.0
    assert calls == [90.0, 1.4, 55.0]
