"""Training, fine-tuning and evaluation loops with progress bars and per-step callbacks."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader

from prunekit.files import atomic_path
from prunekit.profiles import Recipe
from prunekit.progress import progress_bar
from prunekit.runtime import mixed_precision, pick_device, trains_in_bfloat16

StepCallback = Callable[[], None]


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Learning-rate factor per optimizer step: linear warm-up to 1, then cosine decay to 0.

    Stepped once per batch over the whole run (the original lab built a per-epoch cosine
    schedule and stepped it every batch, so its learning rate cycled many times; not here).
    """
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


ONE_CYCLE_START = 1 / 25   # first learning-rate factor of ``one_cycle`` (torch's OneCycleLR default)


def one_cycle(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Learning-rate factor per optimizer step: a triangle, rising linearly from
    :data:`ONE_CYCLE_START` to 1 over ``warmup_steps``, then falling linearly to 0 at the last
    step (``total_steps - 1``). With no warm-up it starts at 1."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return ONE_CYCLE_START + (1.0 - ONE_CYCLE_START) * step / warmup_steps
        remaining = max(1, total_steps - 1 - warmup_steps)
        return max(0.0, 1.0 - (step - warmup_steps) / remaining)
    return factor


SCHEDULE_FACTORS = {"cosine": warmup_cosine, "onecycle": one_cycle}


def make_optimizer(model: nn.Module, recipe: Recipe, steps_per_epoch: int):
    """SGD with Nesterov momentum and the recipe's schedule (``cosine`` or ``onecycle``,
    stepped once per batch).

    Raises:
        ValueError: the recipe names an unknown schedule.
    """
    if recipe.schedule not in SCHEDULE_FACTORS:
        raise ValueError(f"unknown schedule {recipe.schedule!r}; known schedules: "
                         f"{', '.join(SCHEDULE_FACTORS)}")
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay, nesterov=recipe.momentum > 0)
    total = recipe.epochs * steps_per_epoch
    warmup = int(recipe.warmup_epochs * steps_per_epoch)
    factor = SCHEDULE_FACTORS[recipe.schedule](total, warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return optimizer, scheduler


def train(model: nn.Module, loader: DataLoader, recipe: Recipe,
          callbacks: Iterable[StepCallback] = (), device: torch.device | str | None = None,
          progress: bool = True, desc: str = "train",
          resume_file: Path | None = None) -> list[float]:
    """Train ``model`` in place for ``recipe.epochs`` epochs.

    Args:
        callbacks: functions called with no arguments after every optimizer step, e.g.
            ``lambda: pruner.apply(model)`` so pruned weights stay zero.
        device: where to train (default: :func:`prunekit.runtime.pick_device`); the model is
            moved there and stays there. Where :func:`prunekit.runtime.trains_in_bfloat16`
            (CUDA, CPUs with bfloat16 units) the forward pass runs in bfloat16 autocast on
            channels-last weights; the weights stay float32 and get their layout back at the end.
        progress: a text progress bar per epoch, left as one line with its last loss.
        resume_file: where to keep the run's state after every epoch (weights, optimizer,
            schedule, random generators); when it exists at the start, training continues after
            its last finished epoch, giving the same model as a run never stopped. The caller
            deletes it once the result is saved.

    Returns:
        The mean training loss of each epoch (those of a resumed run's earlier epochs too).
    """
    device = torch.device(device) if device is not None else pick_device()
    model.to(device)
    restore_layout = _to_fast_layout(model, device)
    optimizer, scheduler = make_optimizer(model, recipe, len(loader))
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    callbacks = list(callbacks)
    epoch_losses = _resume(resume_file, model, optimizer, scheduler, loader)
    for epoch in range(len(epoch_losses), recipe.epochs):
        model.train()
        total_loss, batches = 0.0, 0
        bar = progress_bar(loader, desc=f"{desc} {epoch + 1}/{recipe.epochs}",
                           disable=not progress)
        for inputs, targets in bar:
            loss = _train_step(model, inputs.to(device), targets.to(device), criterion, optimizer)
            scheduler.step()
            for callback in callbacks:
                callback()
            total_loss, batches = total_loss + loss, batches + 1
            bar.set_postfix(loss=f"{loss:.3f}")
        epoch_losses.append(total_loss / max(1, batches))
        if resume_file is not None:
            _save_resume_state(resume_file, model, optimizer, scheduler, loader, epoch_losses)
    if restore_layout:
        model.to(memory_format=torch.contiguous_format)
    return epoch_losses


def _generators(loader) -> list[torch.Generator]:
    """The random generators an epoch draws from: torch's global one (augmentation) and the
    loader's own (order; a DataLoader's or :class:`~prunekit.data.resident.ResidentBatches`')."""
    own = getattr(loader, "generator", None)
    return [torch.default_generator] + ([own] if own is not None else [])


def _save_resume_state(path: Path, model, optimizer, scheduler, loader,
                       epoch_losses: list[float]) -> None:
    """Write what continuing after this epoch needs (atomically: a run stopped while writing
    keeps the previous epoch's state)."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch_losses": list(epoch_losses),
             "generators": [g.get_state() for g in _generators(loader)]}
    with atomic_path(Path(path)) as partial:
        torch.save(state, partial)


def _resume(path: Path | None, model, optimizer, scheduler, loader) -> list[float]:
    """Load a saved run's state into the objects given; returns its epochs' losses (empty when
    there is nothing to resume)."""
    if path is None or not Path(path).is_file():
        return []
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    for generator, saved in zip(_generators(loader), state["generators"]):
        generator.set_state(saved)
    return list(state["epoch_losses"])


def _to_fast_layout(model: nn.Module, device: torch.device) -> bool:
    """Switch ``model`` to channels-last where training runs in bfloat16 (the layout oneDNN and
    cuDNN run those convolutions fastest in); True when it switched, so the caller puts the
    usual layout back and what a student saves or times after fine-tuning is laid out as before."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    already = all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    if already or not trains_in_bfloat16(device):
        return False
    model.to(memory_format=torch.channels_last)
    return True


def _train_step(model, inputs, targets, criterion, optimizer) -> float:
    """One forward/backward/update; returns the batch loss. The forward pass runs in the
    device's mixed precision (:func:`prunekit.runtime.mixed_precision`), the backward pass
    outside it, as autocast asks."""
    optimizer.zero_grad(set_to_none=True)
    with mixed_precision(inputs.device):
        loss = criterion(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def fine_tune(model: nn.Module, loader: DataLoader, recipe: Recipe,
              callbacks: Iterable[StepCallback] = (), device: torch.device | str | None = None,
              progress: bool = True) -> list[float]:
    """Fine-tune a pruned model in place: :func:`train` with the profile's fine-tuning recipe
    (smaller learning rate, fewer epochs). Pass the pruner's ``apply`` in ``callbacks`` to keep
    fine-grained sparsity."""
    return train(model, loader, recipe, callbacks, device, progress, desc="fine-tune")


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None,
             progress: bool = False) -> float:
    """Top-1 accuracy of ``model`` on ``loader``, in percent (0-100).

    Side effect: puts the model in eval mode and moves it to ``device``.
    """
    device = torch.device(device) if device is not None else pick_device()
    model.to(device).eval()
    correct, seen = 0, 0
    for inputs, targets in progress_bar(loader, desc="eval", leave=False, disable=not progress):
        predictions = model(inputs.to(device)).argmax(dim=1)
        correct += (predictions == targets.to(device)).sum().item()
        seen += targets.numel()
    if seen == 0:
        raise ValueError("cannot evaluate on an empty data set")
    return 100.0 * correct / seen
