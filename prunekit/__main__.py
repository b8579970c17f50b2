"""Command line of the support package: ``python -m prunekit <command>``.

Commands:
  train-base   train the dense base model of a profile and save its checkpoint
  evaluate     load a checkpoint and print its accuracy, channels and MACs
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from prunekit.profiles import PROFILE_OPTION_HELP


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the exit status (errors print one line)."""
    parser = _parser()
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads) if args.threads else None
    from prunekit.checkpoint import CheckpointError
    from prunekit.data.cifar10 import DataUnavailableError
    try:
        return args.run(args)
    except (ValueError, CheckpointError, DataUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prunekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    commands = parser.add_subparsers(required=True, metavar="command")
    train = commands.add_parser("train-base", help="train and save the dense base model")
    _add_common(train)
    train.add_argument("--seed", type=int, default=None, help="default: the profile's seed")
    train.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    train.set_defaults(run=_train_base)
    evaluate = commands.add_parser("evaluate", help="accuracy, channels and MACs of a checkpoint")
    _add_common(evaluate)
    evaluate.set_defaults(run=_evaluate)
    return parser


def _add_common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--profile", default=None,
                         help=PROFILE_OPTION_HELP)
    command.add_argument("--checkpoint", type=Path, default=None,
                         help="checkpoint file (default: checkpoints/vgg-<profile>.pt)")
    command.add_argument("--data", type=Path, default=None, help="data directory (default: ./data)")
    command.add_argument("--quiet", action="store_true", help="no progress bars")


def _train_base(args) -> int:
    from prunekit.base import train_base
    from prunekit.profiles import get_profile
    profile = get_profile(args.profile)
    if args.epochs:
        profile = profile.with_budget(args.epochs, profile.finetune.epochs)
    print(f"training the dense VGG of profile {profile.name!r} (width {profile.width}, "
          f"{profile.train.epochs} epochs)")
    run = train_base(profile, args.checkpoint, args.data, args.seed, progress=not args.quiet)
    print(f"test accuracy {run.accuracy:.2f}% after {run.train_seconds:.0f} s of training; "
          f"saved {run.path}")
    return _evaluate(args, path=run.path)


def _evaluate(args, path: Path | None = None) -> int:
    """Print the checkpoint's profile, conv channels, test accuracy (percent) and MACs.

    Parameter counts and sizes are left out on purpose: computing them is a question of the lab.
    """
    from prunekit.checkpoint import default_checkpoint_path, load_checkpoint
    from prunekit.data import make_loaders
    from prunekit.measure import count_macs
    from prunekit.profiles import get_profile
    from prunekit.train import evaluate
    profile = get_profile(args.profile)
    path = path or args.checkpoint or default_checkpoint_path(profile)
    model, meta = load_checkpoint(path, profile)
    _, test_loader = make_loaders(profile, args.data)
    accuracy = evaluate(model, test_loader, progress=not args.quiet)
    print(f"{path}: profile {meta['profile']}, channels {meta['conv_channels']}")
    print(f"  accuracy {accuracy:.2f}%  MACs {count_macs(model):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
