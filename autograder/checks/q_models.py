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

import torch

from prunekit.measure import count_macs
from prunekit.model import VGG, conv_channels_of
from prunekit.submission import (CHANNEL_PRUNED_FILE, FINEGRAINED_FILE, size_fraction,
                                 zeros_short_of)

from . import reference as ref
from .base import Context, Fail, Plan, as_number, describe_value, fmt
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


# --- q6 ------------------------------------------------------------------------------------------

def plan_q6(ctx: Context) -> Plan:
    """q6: the chosen sparsity_dict and the fine-tuned fine-grained model it produced."""
    plan = Plan("q6", ("sparsity_dict",))
    plan.call("dict", "read_variable", "sparsity_dict", "sparsity_dict", name="sparsity_dict")
    thresholds = ctx.settings.thresholds
    model = _submitted(ctx, FINEGRAINED_FILE)
    accuracy = _accuracy(ctx, model, "finegrained_accuracy")

    def prunable() -> list[str]:
        return [n for n, p in ctx.resources.base_model().named_parameters() if p.dim() > 1]

    def chosen(out) -> dict[str, float]:
        value = out.field("dict", "value")
        if not isinstance(value, dict):
            raise Fail(f"sparsity_dict is {describe_value(value)}, not a dict")
        if not value:
            raise Fail("sparsity_dict is empty")
        names = prunable()
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

    def fine_grained_model():
        submitted = model()
        expected = ctx.resources.dense_channels()
        if conv_channels_of(submitted) != expected:
            raise Fail(f"{FINEGRAINED_FILE} has conv channels {conv_channels_of(submitted)}; a "
                       f"fine-grained model keeps the base model's channels {expected}")
        classes = ctx.resources.base_model().classifier.out_features
        if submitted.classifier.out_features != classes:
            raise Fail(f"{FINEGRAINED_FILE} has {submitted.classifier.out_features} classes; the "
                       f"base model has {classes}")
        return submitted

    @plan.check("sparsity_dict_valid", 1, "sparsity_dict maps conv / classifier weight names to "
                                          "sparsities in [0, 1]")
    def _(out):
        chosen(out)

    @plan.check("size_at_most_25_percent", 2, "pruning the base model with sparsity_dict leaves "
                                              "at most 25% of its dense size")
    def _(out):
        sparsities = chosen(out)
        base = copy.deepcopy(ctx.resources.base_model())
        ref.solutions().FineGrainedPruner(base, sparsities)
        fraction = size_fraction(base, ctx.resources.base_model())
        ctx.metrics["sparsity_dict_size_fraction"] = fraction
        if fraction > MAX_SIZE_FRACTION + 1e-12:
            raise Fail(f"pruned with sparsity_dict, the base model keeps {100 * fraction:.2f}% of "
                       f"its dense size; at most {100 * MAX_SIZE_FRACTION:g}% is asked")
        return (f"pruned with sparsity_dict, the base model keeps {100 * fraction:.2f}% of its "
                f"dense size (at most {100 * MAX_SIZE_FRACTION:g}%)")

    @plan.check("finegrained_file_loads", 1, f"{FINEGRAINED_FILE} loads (weights_only) into a VGG "
                                             f"with the base model's channels")
    def _(out):
        fine_grained_model()

    @plan.check("finegrained_size", 1, f"{FINEGRAINED_FILE} has at most 25% of the base model's "
                                       f"parameter count in non-zero parameters")
    def _(out):
        submitted = fine_grained_model()
        # Against the base model's count: a file's own count could be padded with zeros.
        fraction = size_fraction(submitted, ctx.resources.base_model())
        ctx.metrics["finegrained_size_fraction"] = fraction
        if fraction > MAX_SIZE_FRACTION + 1e-12:
            raise Fail(f"{FINEGRAINED_FILE} keeps {100 * fraction:.2f}% of its parameters non-zero; "
                       f"at most {100 * MAX_SIZE_FRACTION:g}% is asked")
        return (f"{100 * fraction:.2f}% of the base model's parameters non-zero (at most "
                f"{100 * MAX_SIZE_FRACTION:g}%)")

    @plan.check("finegrained_zeros_match_dict", 2, f"every weight of {FINEGRAINED_FILE} has at "
                                                   f"least the zeros its sparsity_dict entry asks "
                                                   f"(masks kept while fine-tuning)")
    def _(out):
        sparsities = chosen(out)
        short = zeros_short_of(fine_grained_model(), sparsities)
        if short:
            name, zeros, needed = short[0]
            numel = dict(fine_grained_model().named_parameters())[name].numel()
            raise Fail(f"{FINEGRAINED_FILE}: {name} has {zeros} zeros, but sparsity "
                       f"{fmt(sparsities[name])} prunes {needed} of its {numel} entries "
                       f"(re-apply the masks after every fine-tuning step)")

    threshold = float(thresholds["finegrained_accuracy"])

    @plan.check("finegrained_accuracy", 3, f"{FINEGRAINED_FILE} reaches the accuracy threshold on "
                                           f"the hidden test split")
    def _(out):
        fine_grained_model()
        got = accuracy()
        if got < threshold:
            raise Fail(f"{FINEGRAINED_FILE} reaches {got:.2f}% on the hidden test split; at least "
                       f"{threshold:.2f}% is required")
        return f"{got:.2f}% on the hidden test split (at least {threshold:.2f}%)"

    return plan


# --- q9 ------------------------------------------------------------------------------------------

def plan_q9(ctx: Context) -> Plan:
    """q9: channel_prune_ratio and the fine-tuned channel-pruned model: accuracy, MACs and
    measured speedup."""
    plan = Plan("q9", ("channel_prune_ratio",))
    plan.call("ratio", "read_variable", "channel_prune_ratio", "channel_prune_ratio",
              name="channel_prune_ratio")
    thresholds = ctx.settings.thresholds
    model = _submitted(ctx, CHANNEL_PRUNED_FILE)
    accuracy = _accuracy(ctx, model, "channel_accuracy")
    min_accuracy = float(thresholds["channel_accuracy"])
    max_fraction = MAX_MACS_FRACTION  # fixed limits: code constants, not calibrated values
    gain_fraction = SPEEDUP_GAIN_FRACTION

    @plan.check("channel_prune_ratio_valid", 1, "channel_prune_ratio is a ratio in [0, 1] or a "
                                                "list of one per boundary, and leaves at most 60% "
                                                "of the dense MACs")
    def _(out):
        value = out.field("ratio", "value")
        boundaries = len(ctx.resources.dense_channels()) - 1
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
        dense = ctx.resources.dense_channels()
        kept = [int(round(c * (1 - r))) for c, r in zip(dense, numbers)] + dense[-1:]
        if min(kept) < 1:
            raise Fail(f"channel_prune_ratio = {value!r} keeps no channel at some boundary "
                       f"(channels {kept})")
        with torch.random.fork_rng(devices=[]):  # building a VGG draws weights
            fraction = count_macs(VGG(conv_channels=kept)) / ctx.resources.dense_macs()
        if fraction > max_fraction + 1e-12:
            raise Fail(f"channel_prune_ratio = {value!r} keeps channels {kept}: "
                       f"{100 * fraction:.1f}% of the dense MACs; at most "
                       f"{100 * max_fraction:g}% is asked")

    @plan.check("channel_pruned_loads", 1, f"{CHANNEL_PRUNED_FILE} loads (weights_only) into a VGG "
                                           f"built from its channel counts")
    def _(out):
        model()

    @plan.check("channel_pruned_accuracy", 3, f"{CHANNEL_PRUNED_FILE} reaches the accuracy "
                                              f"threshold on the hidden test split")
    def _(out):
        got = accuracy()
        if got < min_accuracy:
            raise Fail(f"{CHANNEL_PRUNED_FILE} reaches {got:.2f}% on the hidden test split; at "
                       f"least {min_accuracy:.2f}% is required")
        return f"{got:.2f}% on the hidden test split (at least {min_accuracy:.2f}%)"

    @plan.check("channel_pruned_macs", 2, f"{CHANNEL_PRUNED_FILE} needs at most 60% of the dense "
                                          f"model's MACs")
    def _(out):
        macs = count_macs(model())
        dense = ctx.resources.dense_macs()
        ctx.metrics["channel_macs_fraction"] = macs / dense
        if macs > max_fraction * dense + 1e-9:
            raise Fail(f"{CHANNEL_PRUNED_FILE} needs {macs:,} MACs per image, "
                       f"{100 * macs / dense:.1f}% of the dense model's; at most "
                       f"{100 * max_fraction:g}% is asked")
        return (f"{macs:,} MACs per image, {100 * macs / dense:.1f}% of the dense model's (at "
                f"most {100 * max_fraction:g}%)")

    @plan.check("channel_pruned_speedup", 2, f"{CHANNEL_PRUNED_FILE} is measurably faster than the "
                                             f"dense model (paired median latency)")
    def _(out):
        submitted = model()

        def needed_for(reference: float) -> float:
            return 1.0 + gain_fraction * max(0.0, reference - 1.0)

        def best_attempt() -> tuple[float, float]:
            best = None
            for _ in range(SPEEDUP_ATTEMPTS):  # a failing measurement must be confirmed
                speedup, reference, _ = ctx.resources.speedups(submitted, ctx.seed)
                if best is None or speedup - needed_for(reference) > best[0] - needed_for(best[1]):
                    best = (speedup, reference)
                if speedup >= needed_for(reference):
                    break
            return best

        with ctx.timed("latency"):
            speedup, reference = ctx.resources.remembered("speedup", submitted, best_attempt)
        ctx.metrics.update({"speedup": speedup, "reference_speedup": reference})
        needed = needed_for(reference)
        if speedup < needed:
            raise Fail(f"{CHANNEL_PRUNED_FILE} runs {speedup:.2f}x as fast as the dense model "
                       f"(medians of paired timings); at least {needed:.2f}x is required here "
                       f"({100 * gain_fraction:g}% of the gain of pruning every boundary by 0.3, "
                       f"measured at the same time: {reference:.2f}x)")
        return (f"{speedup:.2f}x as fast as the dense model (at least {needed:.2f}x here; "
                f"timing varies a little run to run)")

    return plan
