"""q3 (fine_grained_prune), q4 (target_sparsity) and q5 (FineGrainedPruner).

fine_grained_prune is judged on tie-free tensors (exactly one correct mask per sparsity) of
several shapes and sparsities (fixed: every submission meets the same counts), at the edges (0,
1, values that round to no zero or to every entry) and on one tensor with ties at the threshold
(the contract prunes every tied entry). Its trivial properties (a bool mask, pruned in place,
sparsity 0 and 1) count once it ranks: on every input it prunes, the pruned entries are the
smallest magnitudes of the tensor, or of each row. FineGrainedPruner is judged on its own, in
three scenarios (every weight in model order; a fixed subset in another order, so masks must be
paired with parameters by name; a classifier so small that a step regrows pruned entries past
kept ones, so apply must re-apply the masks, not prune again): its masks must rank and equal the
reference's or the notebook's own fine_grained_prune's (so a bug there costs q3 only); then a
few SGD steps with ``apply`` after each must keep the pruned entries at zero and change nothing
else.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from . import reference as ref
from .base import (Context, Fail, MaskProbed, Outputs, Plan, as_mask, as_number, as_state_dict,
                   close, describe_value, fmt, grades, require_bool_masks,
                   require_call_pruned_in_place, returned_mask, shape_text)
from .inputs import (images, labels, model_from_state, prunable_names, small_vgg_state,
                     tie_free_tensor, tied_tensor, uniform)

# --- q3 ----------------------------------------------------------------------------------------

# The exact cases: (shape, sparsity), the same for every submission (only the tensors' values
# are drawn). The number of entries pruned depends on the shape and the sparsity alone, so these
# decide which counting mistakes a student loses the exact-mask points for; drawn per
# submission, they let one bug cost some students and not others. Chosen so that each typical
# count differs from round(numel * sparsity) somewhere (numel * sparsity in brackets):
EXACT_CASES: tuple[tuple[tuple[int, ...], float], ...] = (
    ((7,), 0.4),            # 2.8: truncation (int()) gives 2
    ((4, 5), 0.485),        # 9.7: truncation gives 9
    ((3, 4, 3, 3), 0.3),    # 32.4: torch.quantile's threshold, any interpolation, prunes 33
    ((8, 4, 3, 3), 0.55),   # 158.4: quantile 'higher' / 'nearest' prune 159
    ((10, 6), 0.62),        # 37.2: quantile 'higher' / 'nearest' prune 38
)


def _fgp_text(shape, sparsity: float) -> str:
    return f"fine_grained_prune(tensor of shape {shape_text(shape)}, sparsity={fmt(sparsity)})"


def _num_zeros(numel: int, sparsity: float) -> int:
    return round(numel * min(max(sparsity, 0.0), 1.0))


@dataclass(frozen=True, kw_only=True)
class PruneCall(MaskProbed):
    """A fine_grained_prune call: ``input`` pruned at ``sparsity`` (``expected``: the
    reference's keep-mask)."""
    sparsity: float


@dataclass(frozen=True)
class FineGrainedCases:
    """q3's calls: ``exact`` (the tie-free tensors of :data:`EXACT_CASES`), ``zero`` and ``one``
    (sparsity 0 and 1), ``below`` and ``above`` (sparsities outside [0, 1], clamped), ``edges``
    (num_zeros rounding to none, to every entry and from exact halves) and ``ties`` (entries
    tied with the threshold)."""
    exact: tuple[PruneCall, ...]
    zero: PruneCall
    one: PruneCall
    below: PruneCall
    above: PruneCall
    edges: tuple[PruneCall, ...]
    ties: PruneCall

    def every(self) -> list[PruneCall]:
        return [*self.exact, self.zero, self.one, self.below, self.above, *self.edges, self.ties]


def plan_q3(ctx: Context) -> Plan:
    """q3: the keep-mask and the in-place pruning of fine_grained_prune."""
    g = ctx.generator("q3")
    plan = Plan("q3", ("fine_grained_prune",))
    exact = tuple(_prune_call(plan, f"exact{index}", tie_free_tensor(shape, g), sparsity)
                  for index, (shape, sparsity) in enumerate(EXACT_CASES))
    zero = _prune_call(plan, "sparsity0", tie_free_tensor((4, 5), g), 0.0)
    one = _prune_call(plan, "sparsity1", tie_free_tensor((4, 5), g), 1.0)
    # outside [0, 1]: the contract clamps (unclamped, num_zeros is negative or above numel)
    below = _prune_call(plan, "sparsity_below0", tie_free_tensor((4, 5), g),
                        -round(uniform(g, 0.1, 0.5), 2))
    above = _prune_call(plan, "sparsity_above1", tie_free_tensor((4, 5), g),
                        1 + round(uniform(g, 0.1, 0.5), 2))
    # Exact halves at sparsity 0.5: 9 entries give 4.5 zeros, which Python's round takes down (to
    # the even 4), 7 give 3.5, which it takes up; rounding halves up (int(x + 0.5)) differs on
    # the first, rounding them down on the second. Fixed shapes: coverage is never drawn.
    half_down, half_up = 9, 7
    # 7 entries at 0.05 and 0.95: round(0.35) = 0 zeros, round(6.65) = 7 zeros
    edges = (_prune_call(plan, "round_to_none", tie_free_tensor((7,), g), 0.05),
             _prune_call(plan, "round_to_all", tie_free_tensor((7,), g), 0.95),
             _prune_call(plan, "half_down", tie_free_tensor((half_down,), g), 0.5),
             _prune_call(plan, "half_up", tie_free_tensor((half_up,), g), 0.5))
    ties = _prune_call(plan, "ties", *tied_tensor(g))
    cases = FineGrainedCases(exact, zero, one, below, above, edges, ties)
    plan.add_checks(cases, judge_returns_bool_mask)
    plan.add_check("mask_exact_tie_free", 4, "the exact keep-mask on tie-free tensors of several "
                   "shapes and sparsities", judge_masks_match_contract, cases.exact)
    plan.add_checks(cases, judge_prunes_in_place, judge_sparsity_zero, judge_sparsity_one)
    plan.add_check("rounding_edges", 1, "num_zeros rounding to 0, to every entry and from exact "
                   "halves (to the even integer, as Python's round does)",
                   judge_masks_match_contract, cases.edges)
    plan.add_check("ties_pruned", 1, "entries tied with the threshold magnitude are pruned too",
                   judge_masks_match_contract, (cases.ties,))
    return plan


def _prune_call(plan: Plan, key: str, tensor: torch.Tensor, sparsity: float) -> PruneCall:
    """Declare fine_grained_prune(``tensor``, ``sparsity``) and ask the reference for its mask."""
    describe = _fgp_text(tensor.shape, sparsity)
    plan.call(key, "call_function", describe, "fine_grained_prune", name="fine_grained_prune",
              args=[tensor, sparsity])
    return PruneCall(key=key, describe=describe, input=tensor, sparsity=sparsity,
                     expected=ref.call("fine_grained_prune", tensor, sparsity))


def _returned_mask(out: Outputs, call: PruneCall) -> torch.Tensor:
    """The keep-mask ``call`` returned (:func:`returned_mask`); for a sparsity outside [0, 1]
    a Fail adds that the contract clamps it first."""
    try:
        return returned_mask(out, call)
    except Fail as fail:
        if 0 <= call.sparsity <= 1:
            raise
        raise Fail(f"{fail} (a sparsity outside [0, 1] is clamped to it first: "
                   f"min(max(sparsity, 0), 1))") from None


def _mask_or_expected(out: Outputs, call: PruneCall) -> torch.Tensor:
    """The keep-mask ``call`` returned, or the contract's where none can be read."""
    try:
        return _returned_mask(out, call)
    except Fail:
        return call.expected


def judge_masks_match_contract(out: Outputs, case: tuple[PruneCall, ...]) -> None:
    """Fail on the first call whose mask differs from the contract's (the first that ranks
    per slice, if one does: a per-row threshold may match a whole-tensor one elsewhere);
    the message names the mistake that explains every call's mask, when exactly one does."""
    masks = [_returned_mask(out, call) for call in case]
    wrong = [(call, mask) for call, mask in zip(case, masks)
             if not torch.equal(mask, call.expected)]
    wrong.sort(key=lambda pair: not ranking_scope(pair[0].input, pair[1]))
    if wrong:
        raise Fail(_mask_message(*wrong[0], _explaining_mistake(case, masks)))


def _require_ranking(out: Outputs, exact: tuple[PruneCall, ...]) -> None:
    """Fail unless the exact cases' masks prune something, and prune by a ranking: the
    pruned entries are the smallest (by magnitude, or at least by value) of the tensor, or
    of each of its slices (:func:`ranking_scope`). A function that does nothing, or zeroes
    entries it did not rank, satisfies "a bool mask", "pruned in place" and "sparsity 1
    prunes everything" trivially; those count once it ranks on every input it prunes."""
    masks, first_failure = [], None
    for call in exact:
        try:
            masks.append((call, _returned_mask(out, call)))
        except Fail as failure:
            first_failure = first_failure or failure
    if not masks and first_failure is not None:
        raise first_failure
    pruning = [(call, mask) for call, mask in masks if not bool(mask.all())]
    if not pruning:
        raise Fail(f"{exact[0].describe} and every other sparsity of 0.3-0.62 kept every "
                   f"entry: nothing is pruned (this property counts once the function "
                   f"prunes)")
    for call, mask in pruning:
        if ranking_scope(call.input, mask) is None:
            raise Fail(f"{call.describe} pruned entries that are not the smallest in "
                       f"magnitude: nothing is ranked (this property counts once the "
                       f"function prunes the smallest magnitudes)")


@grades("returns_bool_mask", 1, "fine_grained_prune returns a bool tensor of the input's shape")
def judge_returns_bool_mask(out: Outputs, case: FineGrainedCases) -> None:
    """Every call returned a torch.bool mask of its input's shape, once the function ranks."""
    _require_ranking(out, case.exact)
    require_bool_masks(out, case.every())


@grades("prunes_in_place", 2, "the tensor passed in is pruned in place (zeros exactly where the "
        "mask is False)")
def judge_prunes_in_place(out: Outputs, case: FineGrainedCases) -> None:
    """Every exact call and sparsity 1 prune the tensor passed in, in place."""
    # Judged against the function's own mask: a mask that keeps everything (a rounding
    # mistake) leaves nothing to prune, and that is not a failure to prune in place.
    pruned_somewhere = False
    for call in [*case.exact, case.one]:
        mask = require_call_pruned_in_place(out, call, _mask_or_expected)
        pruned_somewhere = pruned_somewhere or not bool(mask.all())
    if not pruned_somewhere:
        raise Fail(f"{case.one.describe} returned a mask that keeps every entry: nothing was "
                   f"pruned (this property counts once the function prunes)")
    _require_ranking(out, case.exact)


@grades("sparsity_zero", 1, "sparsity 0 (or below, clamped to 0) prunes nothing")
def judge_sparsity_zero(out: Outputs, case: FineGrainedCases) -> None:
    """Sparsity 0, and below, keep every entry; sparsity 0 leaves the tensor as it was."""
    judge_masks_match_contract(out, (case.zero, case.below))
    _require_ranking(out, case.exact)
    after = out.field(case.zero.key, "args_after")
    if not (isinstance(after, list) and after and isinstance(after[0], torch.Tensor)
            and torch.equal(after[0], case.zero.input)):
        raise Fail(f"{case.zero.describe} changed the tensor; sparsity 0 prunes nothing")


@grades("sparsity_one", 1, "sparsity 1 (or above, clamped to 1) prunes every entry")
def judge_sparsity_one(out: Outputs, case: FineGrainedCases) -> None:
    """Sparsity 1, and above, prune every entry, once the function ranks."""
    judge_masks_match_contract(out, (case.one, case.above))
    _require_ranking(out, case.exact)


def ranking_scope(tensor: torch.Tensor, mask: torch.Tensor) -> int | None:
    """How ``mask`` (True: kept) prunes ``tensor``: 0 when the pruned entries are the smallest
    magnitudes (or values) of the whole tensor; ``d`` >= 1 when they are the smallest of every
    slice that fixes the first ``d`` dimensions, the same number in each (one threshold per
    row for ``d`` = 1: a ranking, only not over the whole tensor); None when it ranks nothing.
    A mask that prunes nothing, or everything, ranks trivially (0)."""
    for leading in range(tensor.dim()):
        for keys in (tensor.abs(), tensor):
            if _ranks_in_slices(keys, mask, leading):
                return leading
    return None


def _ranks_in_slices(keys: torch.Tensor, mask: torch.Tensor, leading: int) -> bool:
    """Whether, in every slice of ``keys`` that fixes its first ``leading`` dimensions (the
    whole tensor for 0), ``mask`` prunes the same number of entries and each pruned key is at
    most each kept one."""
    rows = keys.reshape(math.prod(keys.shape[:leading]), -1).double()
    kept = mask.reshape(rows.shape)
    if leading and len(set((~kept).sum(dim=1).tolist())) > 1:
        return False  # a different count per slice is no per-slice threshold rule
    largest_pruned = torch.where(kept, -math.inf, rows).amax(dim=1)
    smallest_kept = torch.where(kept, rows, math.inf).amin(dim=1)
    return bool((largest_pruned <= smallest_kept).all())


def _contract_mask(tensor: torch.Tensor, num_zeros: int, keep_ties: bool = False,
                   signed: bool = False) -> torch.Tensor:
    """The keep-mask for ``num_zeros`` by the contract's rule, or by a typical mistake:
    ``keep_ties`` (>= instead of >), ``signed`` (values instead of magnitudes)."""
    values = tensor if signed else tensor.abs()
    if num_zeros <= 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    threshold = values.reshape(-1).kthvalue(min(num_zeros, values.numel())).values
    return values >= threshold if keep_ties else values > threshold


MISTAKES = {
    "inverse": lambda t, s, expected: ~expected,
    "keeps_threshold": lambda t, s, expected: _contract_mask(t, _num_zeros(t.numel(), s),
                                                             keep_ties=True),
    "truncates": lambda t, s, expected: _contract_mask(t, int(t.numel() * min(max(s, 0.0), 1.0))),
    "signed": lambda t, s, expected: _contract_mask(t, _num_zeros(t.numel(), s), signed=True),
    "swapped": lambda t, s, expected: _contract_mask(t, t.numel() - _num_zeros(t.numel(), s)),
    "rounds_half_up": lambda t, s, expected: _contract_mask(
        t, int(t.numel() * min(max(s, 0.0), 1.0) + 0.5)),
    "unclamped": lambda t, s, expected: expected if 0 <= s <= 1 else None,
    "quantile": lambda t, s, expected: _quantile_mask(t, s),
}


def _quantile_mask(tensor: torch.Tensor, sparsity: float) -> torch.Tensor | None:
    """The keep-mask of thresholding at ``torch.quantile`` of the magnitudes (linear
    interpolation: the threshold falls between two entries, so floor(sparsity * (numel - 1)) + 1
    are pruned); None outside (0, 1], where such code usually returns early."""
    if not 0 < sparsity <= 1:
        return None
    magnitudes = tensor.abs()
    return magnitudes > torch.quantile(magnitudes.reshape(-1), sparsity)


def _explaining_mistake(calls: tuple[PruneCall, ...], masks: list[torch.Tensor]) -> str | None:
    """The one typical mistake whose masks equal the student's on every call, if exactly one."""
    explaining = [name for name, rule in MISTAKES.items()
                  if all(_equal_or_none(mask, rule(call.input, call.sparsity, call.expected))
                         for call, mask in zip(calls, masks))]
    return explaining[0] if len(explaining) == 1 else None


def _equal_or_none(mask: torch.Tensor, rule_mask: torch.Tensor | None) -> bool:
    """Whether ``mask`` is the mistake's mask (None: the mistake gives no mask there, so a
    mask that differs from the contract's can be explained by it)."""
    return rule_mask is None or torch.equal(mask, rule_mask)


def _mask_message(call: PruneCall, mask: torch.Tensor, mistake: str | None) -> str:
    """Why a keep-mask differs from the contract's, in terms of the input (and of the mistake
    that explains all the inputs' masks, when one does)."""
    describe, tensor, expected = call.describe, call.input, call.expected
    numel, sparsity = tensor.numel(), call.sparsity
    kept, expected_kept = int(mask.sum()), int(expected.sum())
    zeros = _num_zeros(numel, sparsity)
    rule = f"num_zeros = round({numel} * {fmt(sparsity)}) = {zeros}"
    if mistake == "inverse":
        return (f"{describe} returned the mask of the pruned entries; the keep-mask is True where "
                f"the entry is kept")
    if mistake == "keeps_threshold" and zeros > 0:
        magnitudes = tensor.abs().reshape(-1)
        tied = int((magnitudes == magnitudes.kthvalue(zeros).values).sum())
        what = "the entry equal to" if tied == 1 else "entries tied with"
        return (f"{describe} kept {what} the threshold (the {_ordinal(zeros)} smallest "
                f"magnitude); the contract keeps only entries strictly greater than it")
    if mistake == "truncates":
        return (f"{describe} kept {kept} of {numel} entries; the contract keeps {expected_kept} "
                f"({rule}, with Python's round, not int())")
    if mistake == "swapped":
        return (f"{describe} kept {kept} of {numel} entries, which is the number to prune: "
                f"{rule} entries are pruned (the smallest magnitudes) and the other "
                f"{expected_kept} kept")
    if mistake == "quantile":
        return (f"{describe} kept {kept} of {numel} entries; the contract keeps {expected_kept} "
                f"({rule}): a quantile of the magnitudes (torch.quantile) interpolates between "
                f"entries and prunes another count; the threshold is the num_zeros-th smallest "
                f"magnitude (e.g. kthvalue)")
    if mistake == "rounds_half_up":
        return (f"{describe} kept {kept} of {numel} entries; the contract keeps {expected_kept} "
                f"({rule}: Python's round takes an exact half to the even integer, e.g. "
                f"round(2.5) == 2, where int(x + 0.5) rounds it up)")
    if mistake == "unclamped" or not 0 <= sparsity <= 1:
        return (f"{describe} kept {kept} of {numel} entries; the contract clamps the sparsity "
                f"to [0, 1] first, so it keeps {expected_kept}")
    if mistake == "signed":
        return (f"{describe} kept the largest values, not the largest magnitudes (prune by "
                f"absolute value |w|)")
    scope = ranking_scope(tensor, mask)
    if scope:
        return (f"{describe} pruned the smallest magnitudes of {_slices_text(scope)} "
                f"separately, with one threshold per slice; the contract ranks all {numel} "
                f"entries together: one threshold for the whole tensor ({rule})")
    if kept != expected_kept:
        ties = ("; entries tied with the threshold are pruned too"
                if zeros > 0 and _tied_at_threshold(tensor, zeros) else "")
        return (f"{describe} kept {kept} of {numel} entries; the contract keeps {expected_kept} "
                f"({rule}{ties})")
    return (f"{describe} kept the right number of entries but not the ones of largest magnitude "
            f"(prune by absolute value)")


def _slices_text(leading: int) -> str:
    """The slices that fix the first ``leading`` (>= 1) dimensions, in words."""
    if leading == 1:
        return "each slice along dim 0 (each tensor[i])"
    return f"each slice tensor[{', '.join('ijklmn'[:leading])}]"


def _tied_at_threshold(tensor: torch.Tensor, num_zeros: int) -> bool:
    """Whether other entries share the magnitude of the ``num_zeros``-th smallest one."""
    magnitudes = tensor.abs().reshape(-1)
    return int((magnitudes == magnitudes.kthvalue(num_zeros).values).sum()) > 1


def _ordinal(number: int) -> str:
    suffix = ("th" if 10 <= number % 100 <= 20
              else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th"))
    return f"{number}{suffix}"


# --- q4 ----------------------------------------------------------------------------------------

# The notebook's worked example for the target-sparsity exercise (q4): a 5 x 5 tensor with 25
# different magnitudes, and how many entries the exercise asks fine_grained_prune to keep.
DEMO_TENSOR = torch.tensor([[0.41, -0.12, 0.05, -0.33, 0.27],
                            [-0.08, 0.46, -0.21, 0.02, -0.39],
                            [0.14, -0.29, 0.35, -0.04, 0.19],
                            [-0.44, 0.09, -0.16, 0.31, -0.01],
                            [0.23, -0.37, 0.11, -0.26, 0.48]])
NONZEROS_ASKED = 10


def plan_q4(ctx: Context) -> Plan:
    """q4: the value of ``target_sparsity``."""
    plan = Plan("q4", ("target_sparsity",))
    plan.call("value", "read_variable", "target_sparsity", "target_sparsity",
              name="target_sparsity")
    plan.add_checks(None, judge_target_sparsity_value)
    return plan


@grades("target_sparsity_value", 1, "fine_grained_prune on the notebook's example with "
        "target_sparsity keeps exactly the number of entries asked")
def judge_target_sparsity_value(out: Outputs) -> None:
    """target_sparsity is a Python number in [0, 1] with which the reference's
    fine_grained_prune keeps exactly :data:`NONZEROS_ASKED` entries of :data:`DEMO_TENSOR`."""
    value = out.field("value", "value")
    sparsity = as_number(value, "target_sparsity", verb="is")
    if isinstance(value, torch.Tensor):
        raise Fail(f"target_sparsity is {describe_value(value)}; make it a Python float")
    if not 0.0 <= sparsity <= 1.0:
        raise Fail(f"target_sparsity = {fmt(sparsity)} is not a fraction in [0, 1]")
    pruned = DEMO_TENSOR.clone()
    ref.solutions().fine_grained_prune(pruned, sparsity)
    left = int(pruned.count_nonzero())
    if left != NONZEROS_ASKED:
        raise Fail(f"with target_sparsity = {fmt(sparsity)}, fine_grained_prune keeps {left} of "
                   f"the 25 entries of example; the exercise asks for exactly {NONZEROS_ASKED}")


# --- q5 ----------------------------------------------------------------------------------------

SCENARIO_STEPS = 3
SCENARIO_LR = 0.05
SCENARIO_BATCH = 8
# The second scenario, the same for every submission: some of the weights, listed in an order
# other than the model's. In the first one (every weight, in model order) a pruner that pairs
# masks with parameters by position (zip over model.parameters() and masks.values()) cannot be
# told from one that pairs them by name.
SUBSET_SPARSITIES = {"classifier.weight": 0.5, "backbone.conv5.weight": 0.7,
                     "backbone.conv2.weight": 0.4}
SUBSET_HINT = ("(this sparsity_dict lists only some of the weights, not in the model's order: "
               "pair each mask with its parameter by name, e.g. "
               "dict(model.named_parameters())[name])")
# The third scenario, the same for every submission: the classifier's weights scaled down so
# far that one SGD step moves its pruned entries past the kept ones. Pruning again by magnitude
# in apply then zeroes other entries than the masks' under every draw; with weights of the
# usual size that happened only under some draws (a third of the ids kept full marks).
REGROWTH_SPARSITIES = {"classifier.weight": 0.5}
REGROWTH_SCALE = 1e-3
REGROWTH_HINT = ("(here the kept classifier weights are tiny, so one SGD step moves pruned ones "
                 "past them: apply must re-apply the masks made at construction, not prune "
                 "again)")


STEPS_TEXT = f"{SCENARIO_STEPS} SGD steps, each followed by pruner.apply(model)"


@dataclass(frozen=True)
class PrunerScenario:
    """One ``FineGrainedPruner`` run: the probe call's key, its description in feedback, the
    VGG state dict it starts from, the sparsity_dict (in the order it is passed), the
    reference's masks, the batch of the SGD steps (images and labels), and a hint added to its
    failures (what sets it apart from the scenarios judged before it)."""
    key: str
    describe: str
    state: dict[str, torch.Tensor]
    sparsity_dict: dict[str, float]
    reference_masks: dict[str, torch.Tensor]
    inputs: torch.Tensor
    targets: torch.Tensor
    hint: str = ""


def plan_q5(ctx: Context) -> Plan:
    """q5: FineGrainedPruner's masks, pruning at construction, and apply during SGD steps."""
    g = ctx.generator("q5")
    plan = Plan("q5", ("FineGrainedPruner",))
    state = small_vgg_state(g)
    # Every prunable weight, every grading (values at random, never coverage: a pruner that
    # skips one layer must lose these points whoever submits it).
    every_weight = {name: round(uniform(g, 0.3, 0.9), 2) for name in prunable_names(state)}
    inputs, targets = images(SCENARIO_BATCH, g), labels(SCENARIO_BATCH, g)
    tiny_classifier = {**state, "classifier.weight": state["classifier.weight"] * REGROWTH_SCALE}
    scenarios = tuple(_pruner_scenario(plan, key, start, sparsity_dict, inputs, targets, hint)
                      for key, start, sparsity_dict, hint in (
                          ("scenario", state, every_weight, ""),
                          ("subset", state, SUBSET_SPARSITIES, SUBSET_HINT),
                          ("regrowth", tiny_classifier, REGROWTH_SPARSITIES, REGROWTH_HINT)))
    plan.add_checks(scenarios, judge_masks_for_listed_params, judge_masks_correct,
                    judge_prunes_at_construction, judge_zeros_stay_after_steps,
                    judge_apply_changes_nothing_else)
    return plan


def _pruner_scenario(plan: Plan, key: str, state: dict[str, torch.Tensor],
                     sparsity_dict: dict[str, float], inputs: torch.Tensor,
                     targets: torch.Tensor, hint: str) -> PrunerScenario:
    """Declare the probe call of one pruner scenario on ``state``; returns the scenario with the
    reference's masks."""
    describe = f"FineGrainedPruner(small VGG, {sparsity_dict})"
    plan.call(key, "fine_grained_pruner_scenario", describe, "FineGrainedPruner",
              state_dict=state, sparsity_dict=sparsity_dict, inputs=inputs, labels=targets,
              steps=SCENARIO_STEPS, lr=SCENARIO_LR)
    masks = ref.solutions().FineGrainedPruner(ref.model(state), sparsity_dict).masks
    return PrunerScenario(key, describe, state, dict(sparsity_dict), masks, inputs, targets, hint)


def _each_scenario(scenarios: tuple[PrunerScenario, ...],
                   require: Callable[[PrunerScenario], object]) -> None:
    """``require`` on every scenario in order; the first failure, with its scenario's hint."""
    for scenario in scenarios:
        try:
            require(scenario)
        except Fail as fail:
            raise Fail(f"{fail} {scenario.hint}".rstrip()) from None


@grades("masks_for_listed_params", 2, "pruner.masks holds one bool mask per parameter listed in "
        "sparsity_dict, of its shape")
def judge_masks_for_listed_params(out: Outputs, case: tuple[PrunerScenario, ...]) -> None:
    """In every scenario, pruner.masks holds one ranked bool mask per listed parameter."""
    _each_scenario(case, lambda scenario: _pruner_masks(out, scenario, strict=True))


@grades("masks_correct", 2, "each mask is fine_grained_prune's keep-mask of its parameter at the "
        "listed sparsity")
def judge_masks_correct(out: Outputs, case: tuple[PrunerScenario, ...]) -> None:
    """In every scenario, each mask is the reference's or the notebook's own keep-mask."""
    _each_scenario(case, lambda scenario: _require_masks_correct(out, scenario))


@grades("prunes_at_construction", 2, "constructing the pruner zeroes the masked entries of the "
        "listed parameters and changes nothing else", requires=("masks_correct",))
def judge_prunes_at_construction(out: Outputs, case: tuple[PrunerScenario, ...]) -> None:
    """In every scenario, construction zeroes the masked entries and changes nothing else."""
    _each_scenario(case, lambda scenario: _require_pruned_at_construction(out, scenario))


@grades("zeros_stay_after_steps", 3, f"after {STEPS_TEXT}, pruned weights are still "
        "zero", requires=("masks_correct",))
def judge_zeros_stay_after_steps(out: Outputs, case: tuple[PrunerScenario, ...]) -> None:
    """In every scenario, the masked entries are still zero after the SGD steps."""
    _each_scenario(case, lambda scenario: _require_zeros_stay(out, scenario))


@grades("apply_changes_nothing_else", 1, f"{STEPS_TEXT} train exactly like SGD with the masks "
        "re-applied (apply touches nothing else)", requires=("masks_correct",))
def judge_apply_changes_nothing_else(out: Outputs, case: tuple[PrunerScenario, ...]) -> None:
    """In every scenario, the steps train like plain SGD with the masks re-applied (replayed
    in the grader)."""
    _each_scenario(case, lambda scenario: _require_apply_only_masks(out, scenario))


def _own_fields(out: Outputs, scenario: PrunerScenario, name: str) -> dict:
    """A per-parameter field of the probe's record about the notebook's own
    fine_grained_prune ("own_masks", "own_in_place"); {} when malformed."""
    value = out.field(scenario.key, name)
    return value if isinstance(value, dict) else {}


def _pruner_masks(out: Outputs, scenario: PrunerScenario,
                  strict: bool) -> dict[str, torch.Tensor]:
    """The pruner's masks as bool tensors, once there is one per listed parameter, of its shape
    (``strict``: and bool, or the dtype of the notebook's own fine_grained_prune, whose dtype
    is judged in q3), and they prune by a ranking: masks that keep everything, or zero entries
    they did not rank, make "a mask per parameter", pruning and apply trivially right."""
    describe, sparsity_dict = scenario.describe, scenario.sparsity_dict
    masks = out.field(scenario.key, "masks")
    own = _own_fields(out, scenario, "own_masks")
    if masks is None:
        raise Fail(f"{describe} has no attribute masks (a dict: parameter name -> keep-mask)")
    if not isinstance(masks, dict):
        raise Fail(f"{describe}: pruner.masks is {describe_value(masks)}, not a dict")
    if set(masks) != set(sparsity_dict):
        extra = sorted(set(masks) - set(sparsity_dict))
        missing = sorted(set(sparsity_dict) - set(masks))
        detail = (f"masks for parameters not in sparsity_dict: {extra}" if extra
                  else f"no masks for {missing}")
        raise Fail(f"{describe}: pruner.masks must have one mask per listed parameter "
                   f"({detail})")
    checked = {}
    for name, mask in masks.items():
        what = f"{describe}: pruner.masks[{name!r}]"
        own_dtype = getattr(own.get(name), "dtype", None)
        if strict and isinstance(mask, torch.Tensor) and mask.dtype != torch.bool \
                and mask.dtype != own_dtype:
            raise Fail(f"{what} is {describe_value(mask)}; keep-masks are torch.bool")
        if not isinstance(mask, torch.Tensor):
            raise Fail(f"{what} is {describe_value(mask)}, not a tensor")
        checked[name] = as_mask(mask, what, scenario.state[name].shape)
    _require_ranked_masks(scenario, checked)
    return checked


def _require_ranked_masks(scenario: PrunerScenario, masks: dict[str, torch.Tensor]) -> None:
    """Fail unless some mask prunes, and every mask that prunes ranks its weight's magnitudes
    (over the whole tensor, or per slice: :func:`ranking_scope`)."""
    if all(bool(mask.all()) for mask in masks.values()) \
            and not all(bool(mask.all()) for mask in scenario.reference_masks.values()):
        raise Fail(f"{scenario.describe}: every mask in pruner.masks keeps every entry, so "
                   f"nothing is pruned at these sparsities (the pruner counts once its masks "
                   f"prune)")
    for name, mask in masks.items():
        if ranking_scope(scenario.state[name], mask) is None:
            raise Fail(f"{scenario.describe}: pruner.masks[{name!r}] prunes entries that are "
                       f"not the smallest magnitudes of {name}: nothing is ranked (the pruner "
                       f"counts once its masks prune by magnitude)")


def _require_masks_correct(out: Outputs, scenario: PrunerScenario) -> None:
    """Fail unless every mask is the reference's, or the notebook's own fine_grained_prune's
    mask of the same weight (a bug there costs q3 only; the masks rank, see
    :func:`_pruner_masks`)."""
    masks = _pruner_masks(out, scenario, strict=False)
    own = _own_fields(out, scenario, "own_masks")
    for name, mask in masks.items():
        expected = scenario.reference_masks[name]
        if torch.equal(mask, expected) or _is_own_mask(own.get(name), mask):
            continue
        raise Fail(f"{scenario.describe}: the mask of {name} keeps {int(mask.sum())} of "
                   f"{mask.numel()} entries, but is not the keep-mask fine_grained_prune "
                   f"gives at sparsity {scenario.sparsity_dict[name]} (expected "
                   f"{int(expected.sum())} kept)")


def _is_own_mask(own_mask, mask: torch.Tensor) -> bool:
    """Whether ``mask`` is what the notebook's own fine_grained_prune gave for that weight."""
    return (isinstance(own_mask, torch.Tensor) and tuple(own_mask.shape) == tuple(mask.shape)
            and torch.equal(own_mask != 0, mask))


def _require_pruned_at_construction(out: Outputs, scenario: PrunerScenario) -> None:
    """Fail unless, right after construction, the listed weights are the originals with their
    masked entries zeroed and nothing else changed."""
    describe = scenario.describe
    masks = _pruner_masks(out, scenario, strict=False)
    after = as_state_dict(out.field(scenario.key, "pruned_state"), f"{describe}: the model")
    own_in_place = _own_fields(out, scenario, "own_in_place")
    for name, original in scenario.state.items():
        got = after.get(name)
        if got is None or tuple(got.shape) != tuple(original.shape):
            raise Fail(f"{describe}: the model's {name} is missing or changed shape")
        if name in masks:
            if own_in_place.get(name) is False and torch.equal(got, original):
                continue  # the notebook's fine_grained_prune does not work in place (q3)
            if not close(got, original * masks[name], rtol=0, atol=0):
                raise Fail(f"{describe}: right after construction, {name} is not the original "
                           f"weight with its masked entries zeroed (prune in place at "
                           f"construction)")
        elif not torch.equal(got, original):
            raise Fail(f"{describe} changed {name}, which sparsity_dict does not list")


def _require_zeros_stay(out: Outputs, scenario: PrunerScenario) -> None:
    """Fail unless the training steps ran and every masked entry is still zero after them."""
    describe = scenario.describe
    apply_error = out.field(scenario.key, "apply_error")
    if apply_error:
        raise Fail(f"{describe}: during {STEPS_TEXT}, an error was raised: "
                   f"{str(apply_error)[:300]}")
    try:
        masks = _pruner_masks(out, scenario, strict=False)
    except Fail:
        masks = scenario.reference_masks
    final = as_state_dict(out.field(scenario.key, "final_state"), f"{describe}: the model")
    for name, mask in masks.items():
        weight = final.get(name)
        if weight is None or tuple(weight.shape) != tuple(mask.shape):
            raise Fail(f"{describe}: after {STEPS_TEXT}, {name} is missing or changed shape")
        regrown = int((weight[~mask] != 0).sum())
        if regrown:
            raise Fail(f"{describe}: after {STEPS_TEXT}, {regrown} pruned entries of {name} "
                       f"are non-zero again (apply must re-apply the masks in place)")


def _require_apply_only_masks(out: Outputs, scenario: PrunerScenario) -> None:
    """Fail unless the model after the steps is what plain SGD with the masks re-applied
    gives (replayed in the grader)."""
    describe = scenario.describe
    if out.field(scenario.key, "apply_error"):
        raise Fail(f"{describe}: pruner.apply raised during {STEPS_TEXT}")
    masks = _pruner_masks(out, scenario, strict=False)
    start = as_state_dict(out.field(scenario.key, "pruned_state"), f"{describe}: the model")
    final = as_state_dict(out.field(scenario.key, "final_state"), f"{describe}: the model")
    expected = _replay(start, masks, scenario.inputs, scenario.targets)
    for name, tensor in expected.items():
        got = final.get(name)
        if got is None or not close(got, tensor, rtol=1e-3, atol=1e-5):
            raise Fail(f"{describe}: after {STEPS_TEXT}, {name} differs from plain SGD with "
                       f"the masks re-applied (apply should only zero the masked entries, in "
                       f"place, on the model it is given)")


def _replay(start: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
            inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """What the scenario's SGD steps give when ``apply`` re-applies ``masks`` in place (the
    probes' own ``sgd_steps``, run here in the grader)."""
    from autograder.probes.lab import sgd_steps

    try:
        model = model_from_state({k: v.clone() for k, v in start.items()})
    except (ValueError, RuntimeError) as error:
        raise Fail(f"the pruned model's state dict is not a VGG any more: {str(error)[:200]}") \
            from None
    params = dict(model.named_parameters())

    @torch.no_grad()
    def apply() -> None:
        for name, mask in masks.items():
            params[name].mul_(mask)

    sgd_steps(model, inputs, targets, SCENARIO_STEPS, SCENARIO_LR, after_step=apply)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
