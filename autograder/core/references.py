"""The reference models: the base model pruned and fine-tuned with the reference choices
(``solutions/choices.py``), as the solved notebook makes them. The calibration measures them,
the build's self-test and the example submissions ship them, the benchmarks tabulate them;
grading never uses them (its references are computed in the checks).

The fine-grained model applies ``SPARSITY_DICT`` and is fine-tuned with the masks re-applied after
every step; the channel-pruned model is sorted, pruned at ``CHANNEL_PRUNE_RATIO`` and fine-tuned;
both with the profile's fine-tuning recipe, cached by a key of everything they are made from.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from prunekit.files import held_lock
from prunekit.model import VGG
from prunekit.profiles import Profile, get_profile
from prunekit.runtime import pick_device, seed_everything, trains_in_bfloat16
from prunekit.submission import CHANNEL_PRUNED_FILE, FINEGRAINED_FILE, save_model

from autograder.checks.resources import CACHE_DIR, REPO_ROOT, file_sha256
from autograder.manifest import base_checkpoint_path, grader_data_root

# Where the reference models are cached: the kit's .cache/, or PRUNEKIT_REFERENCE_CACHE (CI
# keeps them there across fresh clones; the key below says when they must be made again).
REFERENCE_CACHE = Path(os.environ.get("PRUNEKIT_REFERENCE_CACHE") or CACHE_DIR / "reference-models")


def load_base_model(profile: Profile, progress: bool = False) -> tuple[VGG, Path]:
    """The dense base model of ``profile`` (CPU, eval mode) and its checkpoint path; trains and
    saves one first when no checkpoint exists."""
    from prunekit.checkpoint import load_checkpoint

    path = base_checkpoint_path(profile.name)
    if not path.is_file():
        from prunekit.base import train_base

        print(f"no base checkpoint at {path}: training one (profile {profile.name!r})")
        train_base(profile, path, progress=progress)
    model, _ = load_checkpoint(path, profile)
    return model.eval(), path


def reference_choices() -> dict:
    """The reference choices (``solutions/choices.py``) as plain data: ``sparsity_dict``,
    ``channel_prune_ratio``."""
    from solutions import choices

    return {"sparsity_dict": dict(choices.SPARSITY_DICT),
            "channel_prune_ratio": choices.CHANNEL_PRUNE_RATIO}


def _cache_key(profile: Profile, base_path: Path, choices: dict) -> str:
    """Hash of everything the reference models depend on, the precision fine-tuning runs in
    included (bfloat16 on CPUs with bfloat16 units, :func:`prunekit.runtime.trains_in_bfloat16`)."""
    digest = hashlib.sha256()
    digest.update(file_sha256(base_path).encode())
    digest.update(json.dumps([choices, asdict(profile.finetune), profile.name, profile.seed,
                              profile.batch_size, trains_in_bfloat16(compute_device(profile))],
                             sort_keys=True, default=str).encode())
    digest.update(torch.__version__.encode())  # another release may round differently
    # the pruning (solutions/) and the fine-tuning, data and model code (prunekit/)
    sources = [*(REPO_ROOT / "solutions").glob("*.py"), *(REPO_ROOT / "prunekit").rglob("*.py")]
    for source in sorted(sources):
        if source.name != "choices.py":  # its values are in ``choices`` already
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def reference_model_files(profile_name: str, progress: bool = False) -> dict[str, Path]:
    """The reference ``finegrained.pt`` and ``channel_pruned.pt`` of a profile (file name ->
    path), made on first use (about 45 s of fine-tuning each on the offline profile, 2 CPU cores)
    and cached under ``.cache/reference-models/<profile>-<key>/``."""
    profile = get_profile(profile_name)
    base, base_path = load_base_model(profile, progress)
    choices = reference_choices()
    folder = REFERENCE_CACHE / f"{profile.name}-{_cache_key(profile, base_path, choices)}"
    paths = {FINEGRAINED_FILE: folder / FINEGRAINED_FILE,
             CHANNEL_PRUNED_FILE: folder / CHANNEL_PRUNED_FILE}
    # Two commands at once (build and demo, two test workers) make them once: the second waits.
    with held_lock(folder.with_name(folder.name + ".lock")):
        if all(path.is_file() for path in paths.values()):
            return paths
        print(f"making the {profile.name} reference models (pruning and fine-tuning the base "
              f"model once; cached in {folder})", flush=True)
        finegrained, channel_pruned = _make_reference_models(profile, base, choices, progress)
        save_model(finegrained, paths[FINEGRAINED_FILE])
        save_model(channel_pruned, paths[CHANNEL_PRUNED_FILE])
    return paths


def reference_models(profile_name: str, progress: bool = False) -> dict[str, nn.Module]:
    """The reference models of a profile (CPU, eval mode): ``dense`` (the base model),
    ``finegrained`` and ``channel_pruned`` (fine-tuned), from the cache when possible."""
    from prunekit.submission import load_model

    profile = get_profile(profile_name)
    files = reference_model_files(profile_name, progress)
    dense, _ = load_base_model(profile)
    return {"dense": dense, "finegrained": load_model(files[FINEGRAINED_FILE]),
            "channel_pruned": load_model(files[CHANNEL_PRUNED_FILE])}


def compute_device(profile: Profile) -> torch.device:
    """Where the reference models are fine-tuned and evaluated: the CPU for the offline
    profile (minutes, and the same reference models on every machine), else the accelerator when
    there is one (:func:`prunekit.runtime.pick_device`; on 2 CPU cores a full-width cifar10
    epoch takes about 3.5 minutes in bfloat16, 12 in float32)."""
    return torch.device("cpu") if profile.dataset == "offline" else pick_device()


def _make_reference_models(profile: Profile, base: VGG, choices: dict,
                           progress: bool) -> tuple[nn.Module, nn.Module]:
    """Prune and fine-tune the two reference models, as the solved notebook does (seeded);
    returned on the CPU in eval mode."""
    import solutions
    from prunekit.data import load_datasets, training_batches
    from prunekit.train import fine_tune

    device = compute_device(profile)
    train_set, _ = load_datasets(profile, grader_data_root())
    train_loader = training_batches(profile, train_set, device)
    seed_everything(profile.seed)
    finegrained = copy.deepcopy(base)
    pruner = solutions.FineGrainedPruner(finegrained, choices["sparsity_dict"])
    fine_tune(finegrained, train_loader, profile.finetune, device=device, progress=progress,
              callbacks=[lambda: pruner.apply(finegrained)])
    seed_everything(profile.seed)
    channel_pruned = solutions.channel_prune(solutions.apply_channel_sorting(base),
                                             choices["channel_prune_ratio"])
    fine_tune(channel_pruned, train_loader, profile.finetune, device=device, progress=progress)
    return finegrained.cpu().eval(), channel_pruned.cpu().eval()
