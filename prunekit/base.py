"""Training and loading the dense base model of a profile (the starting point of every lab)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from prunekit.checkpoint import checkpoint_meta, default_checkpoint_path, save_checkpoint
from prunekit.data import load_datasets, make_loader, training_batches
from prunekit.model import VGG
from prunekit.profiles import Profile
from prunekit.runtime import pick_device, seed_everything, trains_in_bfloat16
from prunekit.train import evaluate, train


@dataclass
class BaseRun:
    """What :func:`train_base` did: where it saved, the test accuracy (percent), seconds spent."""
    path: Path
    accuracy: float
    train_seconds: float
    epoch_losses: list[float]


def train_base(profile: Profile, out: Path | None = None, data_root: Path | None = None,
               seed: int | None = None, progress: bool = True,
               resident: bool | None = None) -> BaseRun:
    """Train the dense VGG of ``profile`` from scratch, evaluate it and save a checkpoint.

    Seeded end to end (``seed`` defaults to the profile's). The model trains in channels-last
    layout, which is faster for these convolutions; the saved weights are the same tensors
    either way. With ``resident`` (default: on a CUDA device) the training split is held on the
    device and augmented there in whole batches (:func:`prunekit.data.training_batches`); on a
    GPU (and on CPUs with bfloat16 units) the forward pass runs in bfloat16
    (:func:`prunekit.runtime.mixed_precision`).

    Resumable: after every epoch the run's state goes to :func:`resume_file_of` the checkpoint;
    a later call with the same arguments continues from there (the same model as a run never
    stopped), and the file is deleted once the checkpoint is saved.

    Side effect: writes the checkpoint to ``out`` (default: the profile's default path).
    """
    seed = profile.seed if seed is None else seed
    seed_everything(seed)
    train_set, test_set = load_datasets(profile, data_root)
    test_loader = make_loader(test_set, profile.eval_batch_size, shuffle=False)
    device = pick_device()
    train_loader = training_batches(profile, train_set, device, resident)
    model = VGG(width=profile.width).to(device, memory_format=torch.channels_last)
    out = Path(out or default_checkpoint_path(profile))
    resume_file = resume_file_of(out)
    resumed_after = _epochs_done(resume_file)
    start, cpu_start = time.perf_counter(), time.process_time()
    losses = train(model, train_loader, profile.train, device=device, progress=progress,
                   desc=f"train {profile.name}", resume_file=resume_file)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    accuracy = evaluate(model, test_loader, device=device)
    # Wall and CPU seconds with the thread count: on a shared machine the wall clock alone does
    # not say what the training costs on idle cores.
    meta = checkpoint_meta(model, profile, accuracy, seed, train_seconds=round(seconds, 1),
                           train_cpu_seconds=round(cpu_seconds, 1),
                           torch_threads=torch.get_num_threads(), device=str(device),
                           train_precision="bfloat16" if trains_in_bfloat16(device) else "float32",
                           train_recipe=asdict(profile.train), batch_size=profile.batch_size,
                           resident_data=not isinstance(train_loader, DataLoader),
                           epoch_losses=[round(loss, 4) for loss in losses],
                           resumed_after_epochs=resumed_after)
    path = save_checkpoint(model, out, meta)
    resume_file.unlink(missing_ok=True)
    return BaseRun(path, accuracy, seconds, losses)


def resume_file_of(checkpoint: Path) -> Path:
    """Where a base training run that will write ``checkpoint`` keeps its state between epochs."""
    return checkpoint.with_name(checkpoint.name + ".resume")


def _epochs_done(resume_file: Path) -> int:
    """Epochs a stopped run finished (0 when there is none to resume)."""
    if not resume_file.is_file():
        return 0
    return len(torch.load(resume_file, map_location="cpu", weights_only=True)["epoch_losses"])
