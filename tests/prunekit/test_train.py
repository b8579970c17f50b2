"""Training and evaluation loops: the loss falls, callbacks run per step, seeding repeats runs."""
import math

import torch
from torch.utils.data import TensorDataset

from prunekit.data import make_loader
from prunekit.model import VGG
from prunekit.profiles import Recipe
from prunekit.runtime import seed_everything
from prunekit.train import (ONE_CYCLE_START, evaluate, make_optimizer, one_cycle, train,
                            warmup_cosine)


def _tiny_task(n=64):
    """Two classes told apart by brightness: learnable in a few steps."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 2
    images = torch.rand(n, 3, 32, 32, generator=generator) * 0.5 + labels.view(-1, 1, 1, 1) * 0.5
    return TensorDataset(images, labels)


def _train_tiny(epochs=3, callbacks=()):
    seed_everything(0)
    model = VGG(width=0.0625)
    loader = make_loader(_tiny_task(), 16, shuffle=True, seed=0)
    losses = train(model, loader, Recipe(epochs=epochs, lr=0.05), callbacks=callbacks,
                   device="cpu", progress=False)
    return model, loader, losses


def test_short_training_lowers_the_loss_and_learns():
    """A few epochs (32 steps) on a tiny task lower the loss and reach high accuracy (in percent)."""
    # Enough steps for the BatchNorm running statistics (momentum 0.1) to settle for eval mode.
    model, loader, losses = _train_tiny(epochs=8)
    assert losses[-1] < losses[0]
    assert evaluate(model, loader, device="cpu") >= 90.0


def test_callbacks_run_after_every_step():
    """Each callback is called once per optimizer step, with no arguments."""
    calls = []
    _train_tiny(epochs=2, callbacks=[lambda: calls.append(1)])
    assert len(calls) == 2 * 4  # 2 epochs x 64/16 batches


def test_seeded_runs_are_identical():
    """Two seeded runs give bit-identical weights."""
    first, _, _ = _train_tiny(epochs=1)
    second, _, _ = _train_tiny(epochs=1)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_schedule_warms_up_then_decays_once():
    """The learning-rate factor rises linearly, peaks at 1 and decays monotonically to 0 over the
    whole run (no restarts)."""
    factor = warmup_cosine(total_steps=100, warmup_steps=10)
    values = [factor(step) for step in range(100)]
    assert values[0] == 0.1 and values[9] == 1.0
    assert all(b <= a for a, b in zip(values[10:], values[11:]))
    assert values[-1] < 0.01


def test_one_cycle_rises_linearly_then_falls_linearly_to_zero():
    """The one-cycle factor starts at ONE_CYCLE_START, rises linearly to 1 at the end of the
    warm-up, then falls by the same amount every step to exactly 0 at the last step."""
    factor = one_cycle(total_steps=101, warmup_steps=20)
    values = [factor(step) for step in range(101)]
    assert values[0] == ONE_CYCLE_START and values[20] == 1.0
    rises = [b - a for a, b in zip(values[:20], values[1:21])]
    falls = [a - b for a, b in zip(values[20:], values[21:])]
    assert max(rises) - min(rises) < 1e-12 and min(rises) > 0
    assert max(falls) - min(falls) < 1e-12 and min(falls) > 0
    assert abs(values[-1]) < 1e-12
    assert one_cycle(total_steps=10, warmup_steps=0)(0) == 1.0


def test_recipe_schedule_picks_the_factor_and_unknown_is_an_error():
    """make_optimizer follows Recipe.schedule: after the warm-up a one-cycle learning rate falls
    linearly, a cosine one does not; an unknown schedule is a ValueError naming the known ones."""
    import pytest
    model = VGG(width=0.0625)
    rates = {}
    for schedule in ("cosine", "onecycle"):
        recipe = Recipe(epochs=1, lr=0.1, warmup_epochs=0.0, schedule=schedule)
        optimizer, scheduler = make_optimizer(model, recipe, steps_per_epoch=11)
        for _ in range(5):
            optimizer.step()
            scheduler.step()
        rates[schedule] = optimizer.param_groups[0]["lr"]
    assert abs(rates["onecycle"] - 0.05) < 1e-9          # halfway down the line
    assert abs(rates["cosine"] - 0.05 * (1 + math.cos(math.pi * 5 / 11))) < 1e-9
    with pytest.raises(ValueError, match="known schedules: cosine, onecycle"):
        make_optimizer(model, Recipe(epochs=1, lr=0.1, schedule="step"), steps_per_epoch=4)


def test_evaluate_empty_loader_is_an_error():
    """Evaluating on no data is a clear error rather than a division by zero."""
    import pytest
    empty = make_loader(TensorDataset(torch.zeros(0, 3, 32, 32), torch.zeros(0, dtype=torch.long)),
                        4, shuffle=False)
    with pytest.raises(ValueError, match="empty"):
        evaluate(VGG(width=0.0625), empty, device="cpu")


class _Stop(Exception):
    """Stands for a run killed part-way (Ctrl-C, a machine going away)."""


def _train_resumable(resume_file, stop_at_step=None, epochs=3):
    """:func:`train` on the tiny task with state kept in ``resume_file``; with ``stop_at_step``
    the run is killed after that many optimizer steps (counted in this call)."""
    seed_everything(0)
    model = VGG(width=0.0625)
    loader = make_loader(_tiny_task(), 16, shuffle=True, seed=0)
    steps = []

    def maybe_stop():
        steps.append(1)
        if stop_at_step is not None and len(steps) == stop_at_step:
            raise _Stop

    losses = train(model, loader, Recipe(epochs=epochs, lr=0.05), callbacks=[maybe_stop],
                   device="cpu", progress=False, resume_file=resume_file)
    return model, losses


def test_a_stopped_run_resumes_after_its_last_epoch_and_ends_as_an_unstopped_one(tmp_path):
    """Killed in its second epoch (4 steps per epoch), a run started again with the same resume
    file does only the missing epochs and ends with the same weights and losses as a run never
    stopped (the loader's order and the schedule continue where they were)."""
    unstopped, unstopped_losses = _train_resumable(tmp_path / "unstopped.resume")
    resume_file = tmp_path / "stopped.resume"
    try:
        _train_resumable(resume_file, stop_at_step=6)
    except _Stop:
        pass
    assert len(torch.load(resume_file, weights_only=True)["epoch_losses"]) == 1
    resumed, resumed_losses = _train_resumable(resume_file)
    assert resumed_losses == unstopped_losses
    for (name, expected), actual in zip(unstopped.state_dict().items(),
                                        resumed.state_dict().values()):
        assert torch.equal(expected, actual), name
