"""q6 (sparsity_dict and finegrained.pt) and q9 (channel_pruned.pt): the submitted models.

The model files are read in the grader's process with ``weights_only`` loading and rebuilt with
``prunekit.model.vgg_from_state_dict``; accuracy is measured on the hidden test split (drawn from
a seed students never see), MACs with ``prunekit.measure.count_macs`` and latency with
``Resources.speedups`` (the dense, the reference and the submitted model timed in the same
interleaved rounds; medians of per-round ratios). Thresholds come from the profile's calibration
(``settings.py``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from prunekit.measure import count_macs
from prunekit.model import VGG, conv_channels_of
from prunekit.submission import (CHANNEL_PRUNED_FILE, FINEGRAINED_FILE, size_fraction,
                                 zeros_short_of)

from . import reference as ref
from .base import Context, Fail, Outputs, Plan, as_number, describe_value, fmt, grades
from .resources import load_submitted_model
from .settings import (MAX_MACS_FRACTION, MAX_SIZE_FRACTION, SPEEDUP_ATTEMPTS,
                       SPEEDUP_GAIN_FRACTION)


class _Lazy:
    """A value computed once on first use; a Fail is remembered and raised again."""

    def __init__(self, compute):
        self._compute, self._done, self._value, self._fail = compute, False, None, None

    def __call__(self):
        if not self._done:
            try:
                self._value = self._compute()
            except Fail as fail:
                self._fail = fail
            self._done = True
        if self._fail is not None:
            raise Fail(str(self._fail))
        return self._value


def _submitted(ctx: Context, name: str, stage: str = "models"):
    def load():
        with ctx.timed(stage):
            return load_submitted_model(ctx.files.get(name), name,
                                        ctx.resources.dense_shapes(), ctx.settings.profile,
                                        ctx.file_problems.get(name, ""))
    return _Lazy(load)


def _accuracy(ctx: Context, model_lazy, metric: str):
    def measure():
        model = model_lazy()
        with ctx.timed("accuracy"):
            accuracy = ctx.resources.accuracy(model)
        ctx.metrics[metric] = accuracy
        return accuracy
    return _Lazy(measure)


@dataclass(frozen=True)
class SubmittedFile:
    """A submitted model file as its judges read it: ``name`` (finegrained.pt,
    channel_pruned.pt), ``ctx`` (the grading context: resources, metrics and timings), ``model``
    (the file's model, loaded on first use, or its Fail), ``accuracy`` (on the hidden test
    split, in percent, measured on first use) and ``threshold``, the accuracy asked (percent)."""
    name: str
    ctx: Context
    model: _Lazy
    accuracy: _Lazy
    threshold: float


def _submitted_file(ctx: Context, name: str, metric: str) -> SubmittedFile:
    """The file ``name`` of the submission, its accuracy reported as ``metric`` and judged
    against the profile's calibrated threshold of that name."""
    model = _submitted(ctx, name)
    return SubmittedFile(name, ctx, model, _accuracy(ctx, model, metric),
                         float(ctx.settings.thresholds[metric]))


def _require_at_most(fraction: float, limit: float, what: str) -> str:
    """Fail with "<what>; at most <limit>% is asked" when ``fraction`` is above ``limit`` (both
    fractions of the dense model's figure); else " (at most <limit>%)", to end the note shown
    beside the pass."""
    if fraction > limit + 1e-12:
        raise Fail(f"{what}; at most {100 * limit:g}% is asked")
    return f" (at most {100 * limit:g}%)"


def _require_accuracy(case: SubmittedFile) -> str:
    """The note on the file's accuracy, once it reaches the threshold; Fail otherwise."""
    got = case.accuracy()
    if got < case.threshold:
        raise Fail(f"{case.name} reaches {got:.2f}% on the hidden test split; at least "
                   f"{case.threshold:.2f}% is required")
    return f"{got:.2f}% on the hidden test split (at least {case.threshold:.2f}%)"


# --- q6 ------------------------------------------------------------------------------------------

def plan_q6(ctx: Context) -> Plan:
    """q6: the chosen sparsity_dict and the fine-tuned fine-grained model it produced."""
    plan = Plan("q6", ("sparsity_dict",))
    plan.call("dict", "read_variable", "sparsity_dict", "sparsity_dict", name="sparsity_dict")
    case = _submitted_file(ctx, FINEGRAINED_FILE, "finegrained_accuracy")
    plan.add_checks(case, judge_sparsity_dict_valid, judge_sparsity_dict_size,
                    judge_finegrained_loads, judge_finegrained_size,
                    judge_finegrained_zeros_match_dict, judge_finegrained_accuracy)
    return plan


def _prunable(ctx: Context) -> list[str]:
    """The names of the base model's conv and classifier weights (what sparsity_dict lists)."""
    return [n for n, p in ctx.resources.base_model().named_parameters() if p.dim() > 1]


def _chosen_sparsities(out: Outputs, ctx: Context) -> dict[str, float]:
    """The notebook's sparsity_dict as {weight name: sparsity}; Fail unless it is a non-empty
    dict of the base model's prunable weights to numbers in [0, 1]."""
    value = out.field("dict", "value")
    if not isinstance(value, dict):
        raise Fail(f"sparsity_dict is {describe_value(value)}, not a dict")
    if not value:
        raise Fail("sparsity_dict is empty")
    names = _prunable(ctx)
    unknown = [k for k in value if k not in names]
    if unknown:
        raise Fail(f"sparsity_dict has keys that are not conv or classifier weights of the VGG: "
                   f"{unknown[:3]} (valid keys look like 'backbone.conv0.weight', "
                   f"'classifier.weight')")
    sparsities = {}
    for key, sparsity in value.items():
        number = as_number(sparsity, f"sparsity_dict[{key!r}]", verb="is")
        if isinstance(sparsity, bool) or not 0.0 <= number <= 1.0:
            raise Fail(f"sparsity_dict[{key!r}] = {sparsity!r} is not a sparsity in [0, 1]")
        sparsities[key] = number
    return sparsities


def _fine_grained_model(case: SubmittedFile):
    """The submitted fine-grained model, once it has the base model's channels and classes."""
    submitted = case.model()
    expected = case.ctx.resources.dense_channels()
    if conv_channels_of(submitted) != expected:
        raise Fail(f"{FINEGRAINED_FILE} has conv channels {conv_channels_of(submitted)}; a "
                   f"fine-grained model keeps the base model's channels {expected}")
    classes = case.ctx.resources.base_model().classifier.out_features
    if submitted.classifier.out_features != classes:
        raise Fail(f"{FINEGRAINED_FILE} has {submitted.classifier.out_features} classes; the "
                   f"base model has {classes}")
    return submitted


@grades("sparsity_dict_valid", 1, "sparsity_dict maps conv / classifier weight names to sparsities "
        "in [0, 1]")
def judge_sparsity_dict_valid(out: Outputs, case: SubmittedFile) -> None:
    _chosen_sparsities(out, case.ctx)


@grades("size_within_limit", 2, "pruning the base model with sparsity_dict leaves at most "
        f"{MAX_SIZE_FRACTION:.0%} of its dense size")
def judge_sparsity_dict_size(out: Outputs, case: SubmittedFile) -> str:
    """The base model pruned with the reference's FineGrainedPruner at the notebook's
    sparsity_dict keeps at most MAX_SIZE_FRACTION of its dense size."""
    ctx = case.ctx
    sparsities = _chosen_sparsities(out, ctx)
    base = copy.deepcopy(ctx.resources.base_model())
    ref.solutions().FineGrainedPruner(base, sparsities)
    fraction = size_fraction(base, ctx.resources.base_model())
    ctx.metrics["sparsity_dict_size_fraction"] = fraction
    kept = (f"pruned with sparsity_dict, the base model keeps {100 * fraction:.2f}% of its dense "
            f"size")
    return kept + _require_at_most(fraction, MAX_SIZE_FRACTION, kept)


@grades("finegrained_file_loads", 1, f"{FINEGRAINED_FILE} loads (weights_only) into a VGG with the "
        "base model's channels")
def judge_finegrained_loads(out: Outputs, case: SubmittedFile) -> None:
    _fine_grained_model(case)


@grades("finegrained_size", 1, f"{FINEGRAINED_FILE} has at most {MAX_SIZE_FRACTION:.0%} of the "
        "base model's parameter count in non-zero parameters")
def judge_finegrained_size(out: Outputs, case: SubmittedFile) -> str:
    """The file keeps at most MAX_SIZE_FRACTION of the base model's parameter count non-zero."""
    submitted = _fine_grained_model(case)
    # Against the base model's count: a file's own count could be padded with zeros.
    fraction = size_fraction(submitted, case.ctx.resources.base_model())
    case.ctx.metrics["finegrained_size_fraction"] = fraction
    percent = f"{100 * fraction:.2f}%"
    return (f"{percent} of the base model's parameters non-zero"
            + _require_at_most(fraction, MAX_SIZE_FRACTION,
                               f"{FINEGRAINED_FILE} keeps {percent} of its parameters non-zero"))


@grades("finegrained_zeros_match_dict", 2, f"every weight of {FINEGRAINED_FILE} has at least the "
        "zeros its sparsity_dict entry asks (masks kept while fine-tuning)")
def judge_finegrained_zeros_match_dict(out: Outputs, case: SubmittedFile) -> None:
    """Every weight of the file has at least the zeros its sparsity_dict entry prunes."""
    sparsities = _chosen_sparsities(out, case.ctx)
    short = zeros_short_of(_fine_grained_model(case), sparsities)
    if short:
        name, zeros, needed = short[0]
        numel = dict(_fine_grained_model(case).named_parameters())[name].numel()
        raise Fail(f"{FINEGRAINED_FILE}: {name} has {zeros} zeros, but sparsity "
                   f"{fmt(sparsities[name])} prunes {needed} of its {numel} entries "
                   f"(re-apply the masks after every fine-tuning step)")


@grades("finegrained_accuracy", 3, f"{FINEGRAINED_FILE} reaches the accuracy threshold on the "
        "hidden test split")
def judge_finegrained_accuracy(out: Outputs, case: SubmittedFile) -> str:
    _fine_grained_model(case)
    return _require_accuracy(case)


# --- q9 ------------------------------------------------------------------------------------------

def plan_q9(ctx: Context) -> Plan:
    """q9: channel_prune_ratio and the fine-tuned channel-pruned model: accuracy, MACs and
    measured speedup."""
    plan = Plan("q9", ("channel_prune_ratio",))
    plan.call("ratio", "read_variable", "channel_prune_ratio", "channel_prune_ratio",
              name="channel_prune_ratio")
    case = _submitted_file(ctx, CHANNEL_PRUNED_FILE, "channel_accuracy")
    plan.add_checks(case, judge_channel_prune_ratio_valid, judge_channel_pruned_loads,
                    judge_channel_pruned_accuracy, judge_channel_pruned_macs,
                    judge_channel_pruned_speedup)
    return plan


# The MACs and speedup limits are fixed code constants (settings.py), not calibrated values.

@grades("channel_prune_ratio_valid", 1, "channel_prune_ratio is a ratio in [0, 1] or a list of one "
        f"per boundary, and leaves at most {MAX_MACS_FRACTION:.0%} of the dense MACs")
def judge_channel_prune_ratio_valid(out: Outputs, case: SubmittedFile) -> None:
    """channel_prune_ratio is one ratio in [0, 1] or a list of one per conv-to-conv boundary,
    keeps a channel at every boundary and, built into a VGG of the channels it keeps, needs at
    most MAX_MACS_FRACTION of the dense model's MACs."""
    value = out.field("ratio", "value")
    dense = case.ctx.resources.dense_channels()
    numbers = _prune_ratios(value, len(dense) - 1)
    kept = [int(round(c * (1 - r))) for c, r in zip(dense, numbers)] + dense[-1:]
    if min(kept) < 1:
        raise Fail(f"channel_prune_ratio = {value!r} keeps no channel at some boundary "
                   f"(channels {kept})")
    with torch.random.fork_rng(devices=[]):  # building a VGG draws weights
        fraction = count_macs(VGG(conv_channels=kept)) / case.ctx.resources.dense_macs()
    _require_at_most(fraction, MAX_MACS_FRACTION, f"channel_prune_ratio = {value!r} keeps "
                     f"channels {kept}: {100 * fraction:.1f}% of the dense MACs")


def _prune_ratios(value, boundaries: int) -> list[float]:
    """channel_prune_ratio as one number in [0, 1] per boundary; Fail for anything else."""
    if isinstance(value, (list, tuple)):
        if len(value) != boundaries:
            raise Fail(f"channel_prune_ratio is a list of {len(value)} ratios; a list needs one "
                       f"per conv-to-conv boundary ({boundaries})")
        ratios = list(value)
    else:
        ratios = [value] * boundaries
    numbers = []
    for ratio in ratios:
        number = as_number(ratio, "channel_prune_ratio", verb="holds")
        if isinstance(ratio, bool) or not 0.0 <= number <= 1.0:
            raise Fail(f"channel_prune_ratio holds {ratio!r}, not a ratio in [0, 1]")
        numbers.append(number)
    return numbers


@grades("channel_pruned_loads", 1, f"{CHANNEL_PRUNED_FILE} loads (weights_only) into a VGG built "
        "from its channel counts")
def judge_channel_pruned_loads(out: Outputs, case: SubmittedFile) -> None:
    case.model()


@grades("channel_pruned_accuracy", 3, f"{CHANNEL_PRUNED_FILE} reaches the accuracy threshold on "
        "the hidden test split")
def judge_channel_pruned_accuracy(out: Outputs, case: SubmittedFile) -> str:
    return _require_accuracy(case)


@grades("channel_pruned_macs", 2, f"{CHANNEL_PRUNED_FILE} needs at most {MAX_MACS_FRACTION:.0%} of "
        "the dense model's MACs")
def judge_channel_pruned_macs(out: Outputs, case: SubmittedFile) -> str:
    """The file's model needs at most MAX_MACS_FRACTION of the dense model's MACs per image."""
    macs = count_macs(case.model())
    dense = case.ctx.resources.dense_macs()
    case.ctx.metrics["channel_macs_fraction"] = macs / dense
    if macs > MAX_MACS_FRACTION * dense + 1e-9:
        raise Fail(f"{CHANNEL_PRUNED_FILE} needs {macs:,} MACs per image, "
                   f"{100 * macs / dense:.1f}% of the dense model's; at most "
                   f"{100 * MAX_MACS_FRACTION:g}% is asked")
    return (f"{macs:,} MACs per image, {100 * macs / dense:.1f}% of the dense model's (at "
            f"most {100 * MAX_MACS_FRACTION:g}%)")


@grades("channel_pruned_speedup", 2, f"{CHANNEL_PRUNED_FILE} is measurably faster than the dense "
        "model (paired median latency)")
def judge_channel_pruned_speedup(out: Outputs, case: SubmittedFile) -> str:
    """The file's model runs faster than the dense model by at least SPEEDUP_GAIN_FRACTION of
    the gain of the reference architecture, timed in the same rounds (:func:`_speedup_needed`;
    a failing measurement is repeated, :func:`_best_speedup`)."""
    ctx, submitted = case.ctx, case.model()
    with ctx.timed("latency"):
        speedup, reference = ctx.resources.remembered(
            "speedup", submitted, lambda: _best_speedup(ctx, submitted))
    ctx.metrics.update({"speedup": speedup, "reference_speedup": reference})
    needed = _speedup_needed(reference)
    if speedup < needed:
        raise Fail(f"{CHANNEL_PRUNED_FILE} runs {speedup:.2f}x as fast as the dense model "
                   f"(medians of paired timings); at least {needed:.2f}x is required here "
                   f"({100 * SPEEDUP_GAIN_FRACTION:g}% of the gain of pruning every boundary by "
                   f"0.3, measured at the same time: {reference:.2f}x)")
    return (f"{speedup:.2f}x as fast as the dense model (at least {needed:.2f}x here; "
            f"timing varies a little run to run)")


def _speedup_needed(reference: float) -> float:
    """The speedup asked when the reference architecture measured ``reference``."""
    return 1.0 + SPEEDUP_GAIN_FRACTION * max(0.0, reference - 1.0)


def _best_speedup(ctx: Context, submitted) -> tuple[float, float]:
    """(speedup, reference speedup) of the measurement closest to passing, of at most
    SPEEDUP_ATTEMPTS (a failing measurement must be confirmed)."""
    best = None
    for _ in range(SPEEDUP_ATTEMPTS):
        speedup, reference, _ = ctx.resources.speedups(submitted, ctx.seed)
        if best is None or \
                speedup - _speedup_needed(reference) > best[0] - _speedup_needed(best[1]):
            best = (speedup, reference)
        if speedup >= _speedup_needed(reference):
            break
    return best
