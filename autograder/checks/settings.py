"""Grading settings of a profile: the calibrated thresholds, the hidden split, the salt, and the
fixed protocol constants of the model-file checks (one place for every number the checks use).

Two kinds of numbers, each with one home:

- fixed limits (the 25% size, the 60% MACs, the speedup gain fraction, the latency protocol)
  live here in code and take effect as soon as they are edited;
- calibrated values (the accuracy thresholds, the reference's figures) live only in
  ``calibration/<profile>.json``, written by ``python -m autograder calibrate --profile <name>``
  (``autograder/frontends/calibrate.py``), which also records the inputs they were derived from
  (:func:`calibration_inputs`). A calibration whose inputs differ from the code's is refused
  with a message saying which changed and what to run.

The calibration file is secret: it holds the grading salt and the seed of the hidden test split.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"

# --- fixed protocol constants ------------------------------------------------------------------
# The targets the notebook states to students (prunekit.submission): fine-grained model at most
# 25 % of the dense size in non-zero parameters; channel-pruned model at most 60 % of the MACs.
from prunekit.submission import MAX_MACS_FRACTION, MAX_SIZE_FRACTION  # noqa: E402

# Speedup: the student model's measured gain (speedup - 1) must be at least this fraction of the
# gain of the reference pruning (ratio 0.3, 51 % of the MACs), measured in the same grading run
# (``Resources.speedups``, the thread's CPU time). Measured on the offline profile (2-core CPU,
# batch 32, one thread): ratio 0.3 -> 1.40x-1.42x idle and with four busy-looping processes (the
# wall clock gave 1.3x-1.9x depending on load); ratio 0.22 (61 % of the MACs,
# about the most the target allows) keeps ~79 % of that gain (0.90x the reference's speed); the
# reference's own architecture 0.96x-1.01x of it; the dense model itself ~1.0x (0.53x the
# reference's speed). So 0.4 passes every model that meets the MACs target with a wide margin
# over the timing noise and fails a model that is not really pruned.
SPEEDUP_GAIN_FRACTION = 0.4
LATENCY_BATCH = 32             # images per timed forward pass
LATENCY_WARMUP = 3             # untimed interleaved rounds
LATENCY_REPEATS = 30           # timed interleaved rounds of the three models (a multiple of the
                               # 6 orders they cycle through); speedups are medians over rounds
LATENCY_THREADS = 1            # torch threads while timing (pinned; restored afterwards); must
                               # stay 1: only the calling thread's CPU time is measured
SPEEDUP_ATTEMPTS = 2           # a speedup below the threshold is measured once more and the
                               # better attempt counts: a failure must be confirmed (timing on a
                               # busy machine has outliers), while a model that is not really
                               # pruned stays below in both (the dense model: margin < -0.1)
HIDDEN_SPLIT_SIZE = 2000       # images of the hidden offline test split
MAX_MODEL_FILE_BYTES = 50 * 2**20  # a submitted model file larger than this is refused
# The grader's accuracy stage (both submitted models on the hidden split) takes this many times
# the calibration's one-thread estimate (:func:`evaluation_seconds`) at the most: the batch gives
# each submission that much more time than its fixed grace. Measured on cifar10-cpu (10,000 test
# images, width 0.5): estimate 60 s; 121 s (2.0x) with one worker on the loaded 2-core machine;
# 317-320 s (5.4x) with two workers while other jobs kept the load average at 5.5 (a fixed 210 s
# deadline stopped every one of them). 6 covers that. Offline: estimate 1.3 s (+8 s).
EVALUATION_SLOWDOWN = 6.0

# --- how calibration derives the accuracy thresholds (autograder/frontends/calibrate.py) ----
ALLOWANCE_POINTS = 1.5         # percentage points: honest choices other than the reference's
NOISE_SE = 3.0                 # standard errors of the split-to-split difference


def calibration_inputs(profile_name: str) -> dict:
    """Everything a profile's calibrated values are derived from, besides the base checkpoint
    (pinned by its hash): the hidden split's size, the threshold rule's constants, the public
    accuracy allowance, the reference choices and the profile's fine-tuning recipe and width.
    Plain JSON data, recorded in the calibration file and compared when it is loaded."""
    from dataclasses import asdict

    from prunekit.profiles import PROFILES
    from prunekit.submission import ACCURACY_ALLOWANCE_POINTS
    from solutions import choices

    profile = PROFILES[profile_name]
    inputs = {"hidden_split_size": HIDDEN_SPLIT_SIZE, "allowance_points": ALLOWANCE_POINTS,
              "noise_se": NOISE_SE, "public_allowance_points": ACCURACY_ALLOWANCE_POINTS,
              "choices": {"sparsity_dict": dict(choices.SPARSITY_DICT),
                          "channel_prune_ratio": choices.CHANNEL_PRUNE_RATIO},
              "finetune": asdict(profile.finetune), "width": profile.width,
              "seed": profile.seed}
    return json.loads(json.dumps(inputs))  # as the file holds it (tuples become lists)


class NotCalibrated(RuntimeError):
    """No calibration file for the profile, or one made from other inputs than the code's (the
    message says which command writes it)."""


@dataclass(frozen=True)
class GradingSettings:
    """What the checks of one profile need.

    ``thresholds`` (from the calibration): ``finegrained_accuracy`` and ``channel_accuracy``
    (percent, on the hidden split); the fixed limits are this module's constants.
    ``reference``: the reference run's figures. ``split``: hidden
    split ``{"dataset", "seed", "size"}``. ``base_checkpoint_sha256``: the base model the
    calibration used (grading refuses another one).
    """
    profile: str
    salt: str
    split: dict
    thresholds: dict
    reference: dict
    base_checkpoint_sha256: str = ""
    choices: dict = field(default_factory=dict)
    source: str = ""  # the calibration file read

    @property
    def split_seed(self) -> int:
        return int(self.split["seed"])


def evaluation_seconds(settings: GradingSettings) -> float:
    """Estimated seconds of one grading's accuracy evaluations on an idle CPU thread, from the
    calibration's latency (``reference.latency``: dense and channel-pruned milliseconds per
    batch): the hidden split once through a dense-shaped model (the fine-grained one) and once
    through the channel-pruned one. 0 where the calibration holds no latency."""
    latency = settings.reference.get("latency") or {}
    if not latency.get("batch"):
        return 0.0
    batches = float(settings.split.get("size", 0)) / float(latency["batch"])
    return batches * (float(latency["dense_ms"]) + float(latency["pruned_ms"])) / 1000.0


def calibration_path(profile: str) -> Path:
    return CALIBRATION_DIR / f"{profile}.json"


def load_settings(profile: str = "offline", path: Path | None = None) -> GradingSettings:
    """The grading settings of ``profile`` from its calibration file.

    Raises:
        NotCalibrated: the file does not exist.
        ValueError: the file lacks a required field (names it).
    """
    path = Path(path) if path is not None else calibration_path(profile)
    if not path.is_file():
        raise NotCalibrated(f"profile {profile!r} is not calibrated (no {path}); run "
                            f"`python -m autograder calibrate --profile {profile}`")
    record = json.loads(path.read_text())
    _check_inputs(record, profile, path)
    try:
        return GradingSettings(profile=record["profile"], salt=record["salt"],
                               split=dict(record["grading_split"]),
                               thresholds=dict(record["thresholds"]),
                               reference=dict(record["reference"]),
                               base_checkpoint_sha256=record.get("base_checkpoint_sha256", ""),
                               choices=dict(record.get("choices", {})), source=str(path))
    except KeyError as missing:
        raise ValueError(f"calibration file {path} lacks {missing}") from None


def _check_inputs(record: dict, profile: str, path: Path) -> None:
    """NotCalibrated, naming what changed, when ``record`` was made from other inputs."""
    made_with = record.get("inputs")
    current = calibration_inputs(record.get("profile", profile))
    if made_with == current:
        return
    if not isinstance(made_with, dict):
        changed = "inputs (not recorded: an older calibration file)"
    else:
        changed = ", ".join(f"{key} ({made_with.get(key)!r} -> {current[key]!r})"
                            for key in current if made_with.get(key) != current[key])
    raise NotCalibrated(f"the calibration of profile {profile!r} ({path}) was made with other "
                        f"settings than the kit's: {changed}; re-run `python -m autograder "
                        f"calibrate --profile {profile}`")
