"""q7 (get_num_channels_to_keep, channel_prune) and q8 (get_input_channel_importance,
apply_channel_sorting).

Models come back from the sandbox as state dicts plus a plain description of their modules; the
grader rebuilds them with ``prunekit.model.vgg_from_state_dict`` (the contract: a pruned model's
state dict loads into a VGG built from its channel counts) and compares tensors, parameter
counts, MACs and outputs with the reference's. The test VGGs have random BatchNorm parameters
and running statistics, so slicing or permuting any of them wrongly changes the outputs.
channel_prune keeps the contract's channel counts or those of the notebook's own
get_num_channels_to_keep (probed at every boundary channel_prune meets), so a wrong keep count
costs get_num_channels_to_keep's checks only, whatever ratios are drawn. The sort is graded on
the lab's VGG only (no conv biases, which the notebook never shows), with input channels that
every norm-like importance ranks alike, so a wrong importance costs its own check only; its
running statistics are judged against the order the sort itself chose.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
from torch import nn

from prunekit.measure import count_macs
from prunekit.model import NUM_CONVS, VGG, scaled_channels, vgg_from_state_dict
from solutions import get_num_parameters

from . import reference as ref
from .base import (Context, Fail, Outputs, Plan, Probed, as_number, as_state_dict, as_tensor,
                   check_within_shapes, close, describe_value, fmt, grades, judge_returns_int,
                   returned_number, shape_text, wrong_number)
from .inputs import SMALL_WIDTH, images, randint, small_vgg_state, uniform

OUTPUT_RTOL, OUTPUT_ATOL = 1e-4, 1e-4  # logits of rebuilt models vs the reference's
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")


# --- the cases ------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class VggCall(Probed):
    """A ``call_on_vgg`` call: ``state`` is the state dict of the small VGG it is given."""
    state: dict[str, torch.Tensor]


@dataclass(frozen=True)
class Pruned:
    """A model the reference pruned: ``model`` (eval mode), ``state`` (its state dict) and the
    names of its parameters."""
    model: nn.Module
    state: dict[str, torch.Tensor]
    parameter_names: list[str]


@dataclass(frozen=True, kw_only=True)
class ChannelPruneCall(VggCall):
    """A channel_prune call: ``ratios`` (one per conv-to-conv boundary), ``expected`` (the
    reference's :class:`Pruned` model), ``images`` (to compare outputs on), ``own_keep`` (the
    keys of the probes of the notebook's get_num_channels_to_keep at each boundary's channels
    and ratio) and ``by_counts`` (the reference's pruned models for other channel counts, made
    on first use: :func:`_expected_for_counts`)."""
    ratios: tuple[float, ...]
    images: torch.Tensor
    own_keep: tuple[str, ...] = ()
    by_counts: dict[tuple[int, ...], Pruned] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelPruneCases:
    """q7's channel_prune calls: by a float ratio, by a list of ratios, on a VGG with conv
    biases, and with lists of the wrong length (which must raise)."""
    by_float: ChannelPruneCall
    by_list: ChannelPruneCall
    with_bias: ChannelPruneCall
    wrong_lengths: tuple[Probed, ...]


@dataclass(frozen=True, kw_only=True)
class KeepCall(Probed):
    """A get_num_channels_to_keep(``channels``, ``ratio``) call."""
    channels: int
    ratio: float


@dataclass(frozen=True, kw_only=True)
class ImportanceCall(Probed):
    """A get_input_channel_importance call on the conv weight ``weight``."""
    weight: torch.Tensor


@dataclass(frozen=True, kw_only=True)
class SortCall(VggCall):
    """The apply_channel_sorting call: ``expected`` (the reference's sorted state dict),
    ``model`` (the reference's sorted model), ``original`` (the input model, as the reference
    builds it), ``images`` (to compare outputs on) and ``importance`` (the
    get_input_channel_importance calls, whose wrong values explain a wrong sort)."""
    model: nn.Module
    original: nn.Module
    images: torch.Tensor
    importance: tuple[ImportanceCall, ...]


# --- shared helpers ------------------------------------------------------------------------------

def _input_shapes() -> dict[str, tuple[int, ...]]:
    """The tensor shapes of the largest model the checks pass in (the small VGG with conv
    biases): no returned model may be larger."""
    model = VGG(conv_channels=scaled_channels(SMALL_WIDTH), conv_bias=True)
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


INPUT_SHAPES = _input_shapes()


def _state_dict_returned(out: Outputs, call: Probed) -> dict[str, torch.Tensor]:
    """The state dict of the model a ``call_on_vgg`` call returned (any shapes); Fail when it
    returned no module."""
    state = out.field(call.key, "state_dict")
    if state is None:
        returned = out.field(call.key, "returned_type")
        raise Fail(f"{call.describe} returned a {returned}, not an nn.Module")
    return as_state_dict(state, f"{call.describe}: the returned model's state dict")


def _returned_state(out: Outputs, call: Probed) -> dict[str, torch.Tensor]:
    """The state dict of the model a ``call_on_vgg`` call returned, its shapes known to be no
    larger than the input model's (nothing is built from it yet)."""
    state = _state_dict_returned(out, call)
    check_within_shapes(state, f"{call.describe}: the returned model", INPUT_SHAPES)
    return state


def _rebuild(out: Outputs, call: Probed) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """The model a ``call_on_vgg`` call returned, rebuilt in the grader (eval mode)."""
    describe = call.describe
    state = _returned_state(out, call)
    mismatch = _channel_mismatch(state)
    if mismatch:
        raise Fail(f"{describe}: the returned model's state dict does not load into a VGG built "
                   f"from its channel counts: {mismatch}")
    try:
        model = vgg_from_state_dict(state).eval()
    except (ValueError, RuntimeError) as error:
        raise Fail(f"{describe}: the returned model's state dict does not load into a VGG built "
                   f"from its channel counts ({str(error)[:300]})") from None
    return model, state


def _channel_mismatch(state: dict[str, torch.Tensor]) -> str | None:
    """The first tensor whose size disagrees with the output channels of the conv before it
    (conv i's bias, BatchNorm i, conv i + 1's inputs, the classifier's inputs), in words; None
    when all agree (tensors that are missing are left to the loader's message)."""
    channels = _conv_channels(state)
    for index, out_channels in enumerate(channels):
        if out_channels is None:
            continue
        conv = f"backbone.conv{index}"
        sized = {f"{conv}.bias": (0, f"slice the bias with conv{index}'s outputs")}
        sized.update({f"backbone.bn{index}.{tensor}": (0, f"bn{index} is the BatchNorm right "
                                                          f"after conv{index}: slice it with "
                                                          f"conv{index}'s outputs")
                      for tensor in BN_TENSORS})
        following = (f"backbone.conv{index + 1}.weight" if index + 1 < len(channels)
                     else "classifier.weight")
        sized[following] = (1, f"its inputs are conv{index}'s outputs")
        for name, (dim, hint) in sized.items():
            tensor = state.get(name)
            if tensor is not None and tensor.dim() > dim and tensor.shape[dim] != out_channels:
                what = "entries" if dim == 0 else "input channels"
                return (f"{name} has {tensor.shape[dim]} {what}, but {conv} has {out_channels} "
                        f"output channels ({hint})")
    return None


def _conv_channels(state: dict[str, torch.Tensor]) -> list[int | None]:
    """Output channels of each conv in ``state`` (None for a conv weight that is missing or not
    4-D)."""
    weights = [state.get(f"backbone.conv{i}.weight") for i in range(NUM_CONVS)]
    return [int(w.shape[0]) if w is not None and w.dim() == 4 else None for w in weights]


def _first_difference(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                      names=None) -> str | None:
    """The first tensor name (of ``names``, default all) whose values differ, or None."""
    for name in names or expected:
        if name.endswith("num_batches_tracked"):
            continue
        got = state.get(name)
        if got is None or not close(got, expected[name], rtol=1e-5, atol=1e-6):
            return name
    return None


def _input_untouched(out: Outputs, call: VggCall) -> None:
    """Fail unless ``call`` returned a model other than its input and left the input as it
    was."""
    key, describe = call.key, call.describe
    after = as_state_dict(out.field(key, "input_state_dict_after"), f"{describe}: the input model")
    if out.field(key, "same_object") is True:
        raise Fail(f"{describe} returned the model it was given; it must return a modified copy "
                   f"(copy.deepcopy) and leave the input untouched")
    for name, tensor in call.state.items():
        got = after.get(name)
        if got is None or tuple(got.shape) != tuple(tensor.shape) or not torch.equal(got, tensor):
            raise Fail(f"{describe} changed the input model ({name}); work on a copy "
                       f"(copy.deepcopy) and leave the input untouched")
    _returned_state(out, call)  # untouched only counts for a call that returned a model


def _require_rearranged(out: Outputs, case: SortCall) -> None:
    """Fail unless the sort returned a rearrangement of its input: every tensor holds the input
    tensor's values (in some order) and not all are where they were. A fresh or unchanged
    model satisfies "same outputs" or "input untouched" trivially, so those properties count
    only once the function does its work."""
    returned = _returned_state(out, case)
    moved = False
    for name, tensor in case.state.items():
        got = returned.get(name)
        if name.endswith("num_batches_tracked"):
            continue
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(tensor.shape) or \
                not torch.equal(got.flatten().sort().values, tensor.flatten().sort().values):
            raise Fail(f"{case.describe}: {name} does not hold the input's values in a new "
                       "order (this property counts once the function sorts the channels)")
        moved = moved or not torch.equal(got, tensor)
    if not moved:
        raise Fail(f"{case.describe} returned a model identical to its input: nothing was "
                   "sorted (this property counts once the function does its work)")


def _outputs_equal(model, expected_model, inputs) -> bool:
    got, expected = ref.outputs(model, inputs), ref.outputs(expected_model, inputs)
    return close(got, expected, rtol=OUTPUT_RTOL, atol=OUTPUT_ATOL)


# --- q7 ------------------------------------------------------------------------------------------

def _keep_cases(g: torch.Generator) -> list[tuple[int, float]]:
    """(channels, ratio) pairs: the lab's (64, 0.3), a ratio of 0, one pair where truncation and
    rounding disagree, two exact halves (an odd count at ratio 0.5: Python's round goes to the
    even integer, once down, once up, where channels - round(channels * ratio) gives the other
    one), and random pairs away from halves (where float error could tip the rounding)."""
    half_down = 2 * (2 * randint(g, 4, 100)) + 1  # channels * 0.5 = even + 0.5: rounds down
    half_up = 2 * (2 * randint(g, 4, 100) + 1) + 1  # channels * 0.5 = odd + 0.5: rounds up
    cases = [(64, 0.3), (16, 0.0), (half_down, 0.5), (half_up, 0.5), CEIL_CASE]
    while len(cases) < 10:
        channels, ratio = randint(g, 8, 512), round(uniform(g, 0.05, 0.95), 2)
        fraction = (channels * (1 - ratio)) % 1
        if abs(fraction - 0.5) < 0.05:
            continue
        if len(cases) == 5 and not 0.55 < fraction < 0.95:
            continue  # the sixth case must tell int() from round()
        cases.append((channels, ratio))
    return cases


# 20 * 0.67 = 13.4: rounding (and truncating) gives 13, rounding up (math.ceil) 14; the exact
# halves cannot tell math.ceil from int(x + 0.5), so every student gets this case too.
CEIL_CASE = (20, 0.33)
KEEP_CONTRACT = ("the contract is int(round(channels * (1 - ratio))), which takes an exact half "
                 "to the even integer")
# Typical wrong keep counts: what the mistake is called in feedback -> the count it gives.
KEEP_MISTAKES: dict[str, Callable[[int, float], int]] = {
    "that truncates": lambda channels, ratio: int(channels * (1 - ratio)),
    "that is channels - round(channels * ratio)": lambda channels, ratio:
        channels - round(channels * ratio),
    "that rounds an exact half up (int(x + 0.5))": lambda channels, ratio:
        int(channels * (1 - ratio) + 0.5),
    "that rounds up (math.ceil)": lambda channels, ratio: math.ceil(channels * (1 - ratio)),
}


def _explaining_keep_mistakes(calls: tuple[KeepCall, ...], got: list[float]) -> str:
    """" (that ...; the contract is ...)" naming the typical mistakes that give every count
    ``got`` for ``calls``, or "" when none does."""
    names = [name for name, rule in KEEP_MISTAKES.items()
             if all(rule(call.channels, call.ratio) == count for call, count in zip(calls, got))]
    return f" ({' or '.join(names)}; {KEEP_CONTRACT})" if names else ""


def plan_q7(ctx: Context) -> Plan:
    """q7: channels to keep and channel pruning (layer surgery)."""
    g = ctx.generator("q7")
    plan = Plan("q7", ("get_num_channels_to_keep", "channel_prune"))
    keep = tuple(_keep_call(plan, index, channels, ratio)
                 for index, (channels, ratio) in enumerate(_keep_cases(g)))
    inputs = images(4, g)
    plain, biased = small_vgg_state(g), small_vgg_state(g, conv_bias=True)
    float_ratio = round(uniform(g, 0.2, 0.6), 2)
    # from 0.15: every typical keep count (truncated, rounded up, the removed ones) keeps at
    # least one of the 4 channels of the narrowest boundary, so channel_prune built on a wrong
    # get_num_channels_to_keep can be judged on its own counts under every draw
    list_ratios = [round(uniform(g, 0.15, 0.7), 2) for _ in range(NUM_CONVS - 1)]
    bias_ratio = round(uniform(g, 0.2, 0.6), 2)
    drafts = [_channel_prune_call(plan, label, state, ratio, text, inputs)
              for label, state, ratio, text in [
                  ("float", plain, float_ratio, f"channel_prune(small VGG, {fmt(float_ratio)})"),
                  ("list", plain, list_ratios, f"channel_prune(small VGG, {list_ratios})"),
                  ("bias", biased, bias_ratio, f"channel_prune(small VGG with conv biases, "
                                               f"{fmt(bias_ratio)})")]]
    # the probes of the notebook's own keep counts come after the three calls they serve
    by_float, by_list, with_bias = (replace(call, own_keep=_own_keep_calls(plan, call))
                                    for call in drafts)
    # One list too short and one too long (zip would cut it silently), for every submission.
    wrong_lengths = tuple(_wrong_length_call(plan, key, plain, wrong) for key, wrong in (
        ("too_short", list_ratios[:-1]), ("too_long", list_ratios + [0.5])))
    prunes = ChannelPruneCases(by_float, by_list, with_bias, wrong_lengths)
    plan.add_checks(keep, judge_num_channels_values)
    plan.add_check("num_channels_int", 1, "get_num_channels_to_keep returns a Python int",
                   judge_returns_int, keep, requires=("num_channels_values",))
    plan.add_checks(by_float, judge_prune_channel_counts, judge_prune_state_dict_loads,
                    judge_prune_modules_consistent, judge_prune_bn_sliced, judge_prune_outputs,
                    judge_prune_params_macs)
    plan.add_checks(by_list, judge_prune_list_ratios)
    plan.add_checks(with_bias, judge_prune_conv_bias)
    plan.add_checks(prunes, judge_prune_input_untouched, judge_prune_wrong_length_rejected)
    return plan


def _keep_call(plan: Plan, index: int, channels: int, ratio: float) -> KeepCall:
    """Declare get_num_channels_to_keep(``channels``, ``ratio``) and ask the reference."""
    describe = f"get_num_channels_to_keep({channels}, {fmt(ratio)})"
    key = plan.call(f"keep{index}", "call_function", describe, "get_num_channels_to_keep",
                    name="get_num_channels_to_keep", args=[channels, ratio])
    return KeepCall(key=key, describe=describe, channels=channels, ratio=ratio,
                    expected=ref.call("get_num_channels_to_keep", channels, ratio))


def _channel_prune_call(plan: Plan, label: str, state: dict[str, torch.Tensor],
                        ratio: float | list[float], describe: str,
                        inputs: torch.Tensor) -> ChannelPruneCall:
    """Declare channel_prune(the VGG ``state``, ``ratio``) (its key: ``label``) and ask the
    reference for its pruned model."""
    plan.call(label, "call_on_vgg", describe, "channel_prune", name="channel_prune",
              state_dict=state, args=[ratio])
    return ChannelPruneCall(key=label, describe=describe, state=state,
                            ratios=_per_boundary(ratio), images=inputs,
                            expected=_reference_pruned(state, ratio))


def _wrong_length_call(plan: Plan, key: str, state: dict[str, torch.Tensor],
                       wrong: list[float]) -> Probed:
    """Declare channel_prune with a list of ratios of the wrong length (it must raise)."""
    describe = f"channel_prune(small VGG, a list of {len(wrong)} ratios)"
    plan.call(key, "call_on_vgg", describe, "channel_prune", name="channel_prune",
              state_dict=state, args=[wrong])
    return Probed(key=key, describe=describe)


@grades("num_channels_values", 2, "get_num_channels_to_keep rounds channels * (1 - ratio) to the "
        "nearest integer")
def judge_num_channels_values(out: Outputs, case: tuple[KeepCall, ...]) -> None:
    """Every call returned the contract's count; a failure names the typical rounding mistakes
    that give every count returned."""
    got = [returned_number(out, call) for call in case]
    for call, count in zip(case, got):
        if count != call.expected:
            raise wrong_number(call, count, _explaining_keep_mistakes(case, got))


def _counts_right(out: Outputs, case: ChannelPruneCall) -> tuple[dict, Pruned]:
    """(the returned state dict, the expected pruned model for its channel counts), once
    its conv output channels are the contract's or those of the notebook's own
    get_num_channels_to_keep (read from the tensors: a model whose state dict does not load
    may still have pruned them right). A wrong keep count costs its own check only, the
    same whatever ratios were drawn."""
    state = _returned_state(out, case)
    got, expected = _conv_channels(state), _conv_channels(case.expected.state)
    if got == expected:
        return state, case.expected
    own = _own_counts(out, case)
    if own is not None and got == own:
        return state, _expected_for_counts(case, own)
    also = f" (or {own}, from your get_num_channels_to_keep)" if own not in (None, expected) \
        else ""
    raise Fail(f"{case.describe} gives conv output channels {got}; expected {expected}{also}")


def _counts_match(out: Outputs, case: ChannelPruneCall) -> tuple[nn.Module, dict, Pruned]:
    """(rebuilt model, returned state dict, expected pruned model), once the counts are
    right (:func:`_counts_right`)."""
    _, target = _counts_right(out, case)
    return (*_rebuild(out, case), target)


def _require_pruned(out: Outputs, case: ChannelPruneCall) -> None:
    """Properties a do-nothing function satisfies (a fresh or empty module is "consistent",
    leaves its input untouched) count once the float ratio's channel counts are right."""
    try:
        _counts_right(out, case)
    except Fail as fail:
        raise Fail(f"{fail} (this property counts once channel_prune prunes the right "
                   "channel counts)") from None


def _require_pruned_like_reference(out: Outputs, case: ChannelPruneCall, tensor_text: str,
                                   outputs_text: str) -> None:
    """Fail unless the returned model's tensors, then its outputs on ``case.images``, are the
    expected pruned model's for its counts; the messages are the call's description and
    ``tensor_text`` (its "{name}": the first tensor that differs) or ``outputs_text``."""
    model, state, target = _counts_match(out, case)
    differs = _first_difference(state, target.state)
    if differs:
        raise Fail(f"{case.describe}: " + tensor_text.format(name=differs))
    if not _outputs_equal(model, target.model, case.images):
        raise Fail(f"{case.describe}: {outputs_text}")


@grades("prune_channel_counts", 1, "a float ratio keeps get_num_channels_to_keep(channels, ratio) "
        "channels at every conv-to-conv boundary, all of the last conv's")
def judge_prune_channel_counts(out: Outputs, case: ChannelPruneCall) -> None:
    _counts_right(out, case)


@grades("prune_state_dict_loads", 1, "the pruned model's state dict loads into a VGG built from "
        "its channel counts")
def judge_prune_state_dict_loads(out: Outputs, case: ChannelPruneCall) -> None:
    _rebuild(out, case)
    _require_pruned(out, case)


@grades("prune_modules_consistent", 1, "in_channels / out_channels / num_features / in_features "
        "agree with the pruned tensors")
def judge_prune_modules_consistent(out: Outputs, case: ChannelPruneCall) -> None:
    """The returned modules' size attributes agree with their tensors (once it prunes)."""
    layers = out.field(case.key, "layers")
    if layers is None:
        raise Fail(f"{case.describe} did not return an nn.Module")
    _check_layers(layers, case.describe)
    _require_pruned(out, case)


@grades("prune_bn_sliced", 2, "BatchNorm weight, bias, running_mean and running_var are sliced "
        "with the channels")
def judge_prune_bn_sliced(out: Outputs, case: ChannelPruneCall) -> None:
    """Every BatchNorm holds its original's first n entries, n the output channels its conv
    kept (once it prunes)."""
    # Judged against the submission's own conv channel counts (their rounding is judged by
    # the other checks): BatchNorm i must hold the first n_i entries of the original.
    state = _state_dict_returned(out, case)
    for index in range(NUM_CONVS):
        conv = state.get(f"backbone.conv{index}.weight")
        if conv is None or conv.dim() != 4:
            raise Fail(f"{case.describe}: backbone.conv{index}.weight is missing")
        _require_bn_sliced(case, state, index, int(conv.shape[0]))
    _require_pruned(out, case)


def _require_bn_sliced(case: ChannelPruneCall, state: dict[str, torch.Tensor], index: int,
                       kept: int) -> None:
    """Fail unless BatchNorm ``index`` holds the first ``kept`` entries of the original's."""
    for tensor in BN_TENSORS:
        name = f"backbone.bn{index}.{tensor}"
        got, original = state.get(name), case.state[name]
        if got is None or tuple(got.shape) != (kept,):
            size = "is missing" if got is None else f"has {got.numel()} entries"
            raise Fail(f"{case.describe}: {name} {size}, but conv{index} keeps {kept} "
                       f"channels ({_bn_slice_hint(state, index, tensor, kept)})")
        if not close(got, original[:kept], rtol=1e-5, atol=1e-6):
            raise Fail(f"{case.describe}: {name} is not the original {tensor} of the "
                       f"kept channels")


@grades("prune_outputs", 2, "the pruned model's weights and outputs equal those of the contract's "
        "pruned model (first channels kept)")
def judge_prune_outputs(out: Outputs, case: ChannelPruneCall) -> None:
    _require_pruned_like_reference(
        out, case, "{name} is not the original's entries for the kept channels (keep the first n "
        "output channels of each conv and the same input channels of the next conv)",
        "the pruned model's outputs differ from the expected pruned model's on random images")


@grades("prune_params_macs", 1, "parameter count and MACs equal those of the contract's pruned "
        "model")
def judge_prune_params_macs(out: Outputs, case: ChannelPruneCall) -> None:
    """The returned model has the expected pruned model's parameter count and MACs."""
    # Counted from the returned tensors and the conv widths, so that a model whose state
    # dict does not load (a buffer left unsliced) is still judged on its parameters.
    state, target = _counts_right(out, case)
    got_params = sum(int(state[name].numel()) for name in target.parameter_names
                     if name in state)
    expected_params = get_num_parameters(target.model)
    if got_params != expected_params:
        raise Fail(f"{case.describe}: the pruned model has {got_params} parameters, "
                   f"expected {expected_params}")
    got_macs = count_macs(VGG(conv_channels=_conv_channels(state)))
    expected_macs = count_macs(target.model)
    if got_macs != expected_macs:
        raise Fail(f"{case.describe}: the pruned model has {got_macs} MACs, expected "
                   f"{expected_macs}")


@grades("prune_list_ratios", 2, "a list of ratios prunes each boundary by its own ratio")
def judge_prune_list_ratios(out: Outputs, case: ChannelPruneCall) -> None:
    differs = "the pruned model's tensors or outputs differ from the expected pruned model's"
    _require_pruned_like_reference(out, case, differs, differs)


@grades("prune_conv_bias", 1, "convs with a bias: the bias is sliced with the output channels")
def judge_prune_conv_bias(out: Outputs, case: ChannelPruneCall) -> None:
    _require_pruned_like_reference(
        out, case, "{name} is not the original's entries for the kept channels",
        "the outputs differ from the expected pruned model's")


@grades("prune_input_untouched", 1, "channel_prune returns a copy and leaves its input model "
        "untouched")
def judge_prune_input_untouched(out: Outputs, case: ChannelPruneCases) -> None:
    """Every channel_prune call left its input model untouched (once it prunes)."""
    for call in (case.by_float, case.by_list, case.with_bias):
        _input_untouched(out, call)
    _require_pruned(out, case.by_float)


@grades("prune_wrong_length_rejected", 1, "a list of ratios of the wrong length is an error")
def judge_prune_wrong_length_rejected(out: Outputs, case: ChannelPruneCases) -> None:
    """A list of ratios of the wrong length raised (once the float ratio prunes right)."""
    _require_pruned(out, case.by_float)  # it must work on valid ratios first
    for call in case.wrong_lengths:
        if out.raised(call.key) is None:
            raise Fail(f"{call.describe} returned without an error; a list must hold one ratio "
                       f"per conv-to-conv boundary ({NUM_CONVS - 1}), anything else is an "
                       f"error")


# The channels at each conv-to-conv boundary of the test VGG (the last conv's are kept).
BOUNDARY_WIDTHS = tuple(scaled_channels(SMALL_WIDTH)[:-1])


def _per_boundary(ratio: float | list[float]) -> tuple[float, ...]:
    """The ratio of each conv-to-conv boundary, for a float or a list of ratios."""
    return tuple(ratio) if isinstance(ratio, list) else (ratio,) * len(BOUNDARY_WIDTHS)


def _reference_pruned(state: dict[str, torch.Tensor], ratio) -> Pruned:
    """The reference's channel_prune of the VGG ``state`` at ``ratio`` (a float or one per
    boundary)."""
    model = ref.call("channel_prune", ref.model(state), ratio).eval()
    return Pruned(model, dict(model.state_dict()),
                  [name for name, _ in model.named_parameters()])


def _own_keep_calls(plan: Plan, case: ChannelPruneCall) -> tuple[str, ...]:
    """Declare a probe of the notebook's get_num_channels_to_keep at every (channels, ratio)
    that channel_prune meets in ``case`` (one per boundary, so that every submission gets the
    same calls); returns their keys."""
    return tuple(plan.call(f"own_keep_{case.key}{index}", "call_function",
                           f"get_num_channels_to_keep({channels}, {fmt(ratio)})",
                           "get_num_channels_to_keep", name="get_num_channels_to_keep",
                           args=[channels, ratio])
                 for index, (channels, ratio) in enumerate(zip(BOUNDARY_WIDTHS, case.ratios)))


def _own_counts(out: Outputs, case: ChannelPruneCall) -> list[int] | None:
    """The conv output channels channel_prune gives for ``case`` when it keeps what the
    notebook's own get_num_channels_to_keep says (the last conv's all); None when that
    function fails, gives a count no model can have (not a whole number in 1..channels), or
    keeps every channel everywhere: a channel_prune that returns its input unchanged must not
    pass as right for a count function that does nothing too."""
    counts = []
    for channels, key in zip(BOUNDARY_WIDTHS, case.own_keep):
        try:
            count = as_number(out.field(key), "get_num_channels_to_keep")
        except Fail:
            return None
        if not count.is_integer() or not 1 <= count <= channels:
            return None
        counts.append(int(count))
    if counts == list(BOUNDARY_WIDTHS):
        return None
    return counts + [scaled_channels(SMALL_WIDTH)[-1]]


def _expected_for_counts(case: ChannelPruneCall, counts: list[int]) -> Pruned:
    """The reference's pruned model of ``case`` keeping ``counts`` channels (as
    :func:`_reference_pruned`), remembered in the case. The ratios 1 - n / channels give
    exactly n under the contract's rounding, since the test VGG's widths are powers of two."""
    key = tuple(counts)
    if key not in case.by_counts:
        ratios = [1 - count / channels for count, channels in zip(counts, BOUNDARY_WIDTHS)]
        pruned = _reference_pruned(case.state, ratios)
        if _conv_channels(pruned.state) != counts:  # a width that is no power of two
            raise RuntimeError(f"ratios {ratios} do not keep {counts} channels")
        case.by_counts[key] = pruned
    return case.by_counts[key]


def _bn_slice_hint(state: dict[str, torch.Tensor], index: int, tensor: str, kept: int) -> str:
    """Why BatchNorm ``index``'s ``tensor`` has the wrong size: the next BatchNorm was sliced to
    conv ``index``'s channel count instead (its own conv keeps more), or it was not sliced."""
    following = state.get(f"backbone.bn{index + 1}.{tensor}")
    conv = state.get(f"backbone.conv{index + 1}.weight")
    if following is not None and conv is not None and following.numel() == kept != conv.shape[0]:
        return (f"bn{index + 1} was sliced to conv{index}'s channels instead: bn{index}, the "
                f"BatchNorm right after conv{index}, is the one to slice")
    return f"slice BatchNorm {tensor} too"


def _check_layers(layers, describe: str) -> None:
    """Fail unless every module's size attributes agree with its tensors."""
    if not isinstance(layers, list):
        raise Fail(f"{describe}: the module description came back malformed")
    for layer in layers:
        if not isinstance(layer, dict):
            raise Fail(f"{describe}: the module description came back malformed")
        name, kind = layer.get("name"), layer.get("kind")
        shape = layer.get("weight_shape")
        if kind == "Conv2d" and isinstance(shape, list) and len(shape) == 4:
            for attribute, size in (("out_channels", shape[0]), ("in_channels", shape[1])):
                if layer.get(attribute) != size:
                    raise Fail(f"{describe}: {name} has {attribute} = {layer.get(attribute)} but "
                               f"its weight has shape {shape_text(shape)}")
        elif kind == "BatchNorm2d":
            sizes = {t: layer.get(f"{t}_shape") for t in BN_TENSORS}
            for tensor, tensor_shape in sizes.items():
                if tensor_shape is not None and tensor_shape != [layer.get("num_features")]:
                    raise Fail(f"{describe}: {name} has num_features = "
                               f"{layer.get('num_features')} but its {tensor} has "
                               f"{shape_text(tensor_shape)} entries")
        elif kind == "Linear" and isinstance(shape, list) and len(shape) == 2:
            if layer.get("in_features") != shape[1]:
                raise Fail(f"{describe}: {name} has in_features = {layer.get('in_features')} but "
                           f"its weight has shape {shape_text(shape)}")


# --- q8 ------------------------------------------------------------------------------------------

IMPORTANCE_GAP = 1.05  # ratio between consecutive input-channel importances of the sort's inputs


def _separated_importances(state: dict[str, torch.Tensor],
                           generator: torch.Generator) -> dict[str, torch.Tensor]:
    """``state`` with each conv's input channels remade so that any norm-like importance ranks
    them alike: input channel i of conv k holds, for every output channel o, the kernel
    ``weight[o, 0]`` with its entries shuffled, times ``IMPORTANCE_GAP ** rank_i`` (the ranks in
    the random order of the original L2 norms). So the L1, L2, max, RMS or summed-kernel norms of
    the channels differ by that factor at least and order them the same: a wrong importance
    function costs its own check only, for every submission, and a correct sort that computes
    the norm another way, or sorts unstably, meets no near-tie (1.3905042 against 1.3905044 was
    seen with random weights)."""
    state = dict(state)
    for index in range(1, NUM_CONVS):
        name = f"backbone.conv{index}.weight"
        weight = state[name]
        out_channels, in_channels = weight.shape[:2]
        kernel = weight[:, :1].flatten(2).expand(out_channels, in_channels, -1)
        shuffles = torch.rand(kernel.shape, generator=generator).argsort(dim=2)
        ranks = weight.pow(2).sum(dim=(0, 2, 3)).argsort().argsort().to(weight.dtype)
        remade = kernel.gather(2, shuffles) * (IMPORTANCE_GAP ** ranks)[None, :, None]
        # the original's overall norm: activations stay as large as at initialisation, so the
        # float error of a correct sort stays far below the outputs' tolerance
        state[name] = (remade * (weight.norm() / remade.norm())).reshape(weight.shape)
    return state


IMPORTANCE_SHAPES = [(8, 4, 3, 3), (16, 8, 3, 3), (5, 7, 1, 1), (6, 3, 3, 3)]
# Typical wrong importances of a conv weight [out, in, kh, kw] -> what feedback calls them.
IMPORTANCE_MISTAKES: list[tuple[Callable[[torch.Tensor], torch.Tensor], str]] = [
    (lambda w: w.abs().sum(dim=(0, 2, 3)), "that is the L1 norm; the contract uses the L2 norm"),
    (lambda w: w.pow(2).sum(dim=(0, 2, 3)), "that is the squared L2 norm; take the square root"),
    (lambda w: w.abs().amax(dim=(0, 2, 3)), "that is the largest magnitude in weight[:, i]; the "
                                            "contract takes the L2 norm of all its entries"),
    (lambda w: w.pow(2).mean(dim=(0, 2, 3)).sqrt(), "that is the root mean square, the L2 norm "
                                                    "divided by the square root of the number "
                                                    "of entries: do not average"),
    (lambda w: w.pow(2).sum(dim=(2, 3)).sqrt().sum(dim=0), "that adds up the L2 norms of the "
                                                           "kernels weight[o, i]; the contract "
                                                           "takes one L2 norm over all of "
                                                           "weight[:, i]"),
]


def _importance_hint(got: torch.Tensor, weight: torch.Tensor) -> str:
    """" (that is ...)" naming the typical mistake that gives ``got`` for ``weight``; else the
    values of input channel 0, got and expected."""
    if not got.is_floating_point():
        return f" ({describe_value(got)}; importances are floating point)"
    for mistake, text in IMPORTANCE_MISTAKES:
        if close(got, mistake(weight), rtol=1e-4, atol=1e-5):
            return f" ({text})"
    expected = weight[:, 0].pow(2).sum().sqrt()
    return (f" (for input channel 0: {fmt(float(got.reshape(-1)[0]))}, expected "
            f"{fmt(float(expected))}, the L2 norm of weight[:, 0])")


def _channel_orders(state: dict[str, torch.Tensor],
                    original: dict[str, torch.Tensor]) -> list[torch.Tensor | None]:
    """For each conv of ``state``, which original output channel each of its output channels
    holds (indices into ``original``'s conv weight), its input channels in the order found for
    the conv before it, or unchanged; None for a conv whose output channels are not all
    original ones."""
    orders: list[torch.Tensor | None] = []
    for index in range(NUM_CONVS):
        weight = original[f"backbone.conv{index}.weight"]
        inputs_moved = [weight[:, orders[-1]]] if orders and orders[-1] is not None else []
        got = state[f"backbone.conv{index}.weight"]
        orders.append(next((order for before in inputs_moved + [weight]
                            if (order := _rows_found(got, before)) is not None), None))
    return orders


def _rows_found(got: torch.Tensor, before: torch.Tensor) -> torch.Tensor | None:
    """For each output channel (dim 0) of ``got``, the index of an equal one in ``before``;
    None when the shapes differ or one has no equal."""
    if tuple(got.shape[1:]) != tuple(before.shape[1:]):
        return None
    equal = (got.flatten(1)[:, None, :] == before.flatten(1)[None, :, :]).all(dim=2)
    return equal.to(torch.uint8).argmax(dim=1) if bool(equal.any(dim=1).all()) else None


def _repeat_hint(orders: list[torch.Tensor | None]) -> str:
    """A hint when some conv's output channels repeat original channels and drop others (the
    sorted importance values used as indices); "" otherwise."""
    for index, order in enumerate(orders[:-1]):
        if order is not None and len(set(order.tolist())) < len(order):
            return (f" (conv{index}'s output channels repeat some original channels and drop "
                    f"others: reorder them by a permutation, the indices argsort gives, not by "
                    f"the sorted importance values)")
    return ""


def _order_hint(state: dict[str, torch.Tensor], original: dict[str, torch.Tensor]) -> str:
    """Why a sort's tensors differ from the contract's when the permuting itself is not the
    cause: the order repeats channels, or every tensor follows one order that is not the
    contract's ("" when neither holds)."""
    orders = _channel_orders(state, original)
    repeats = _repeat_hint(orders)
    if repeats:
        return repeats
    if all(order is not None for order in orders) and _follows_orders(state, original, orders):
        return (" (every tensor follows the same order, but not the contract's: descending "
                "importance of the next conv's input channels)")
    return ""


def _follows_orders(state: dict[str, torch.Tensor], original: dict[str, torch.Tensor],
                    orders: list[torch.Tensor]) -> bool:
    """Whether each BatchNorm's weight and bias and the next conv's input channels are
    reordered like the output channels of the conv before them (``orders``)."""
    for index, order in enumerate(orders[:-1]):
        expected = {f"backbone.bn{index}.{t}": original[f"backbone.bn{index}.{t}"][order]
                    for t in ("weight", "bias")}
        following = f"backbone.conv{index + 1}.weight"
        expected[following] = original[following][orders[index + 1]][:, order]
        if _first_difference(state, expected):
            return False
    return True


def _require_stats_follow_channels(case: SortCall, state: dict[str, torch.Tensor]) -> None:
    """Fail unless some channel moved and every BatchNorm's running statistics are in the order
    the sort gave the output channels of the conv before it (the contract's order where that
    order cannot be read off the conv). Whether the order is the contract's is judged by the
    other checks, so a wrong order costs there only."""
    orders = _channel_orders(state, case.state)
    if all(order is not None and torch.equal(order, torch.arange(len(order)))
           for order in orders):
        raise Fail(f"{case.describe} left every channel where it was: nothing was sorted "
                   f"(this property counts once the function sorts the channels)")
    for index, order in enumerate(orders):
        for name in (f"backbone.bn{index}.running_mean", f"backbone.bn{index}.running_var"):
            expected = case.expected[name] if order is None else case.state[name][order]
            if not close(state[name], expected, rtol=1e-5, atol=1e-6):
                raise Fail(f"{case.describe}: {name} is not in the order of conv{index}'s "
                           f"output channels (permute BatchNorm running statistics with them)")


def plan_q8(ctx: Context) -> Plan:
    """q8: input-channel importance and channel sorting."""
    g = ctx.generator("q8")
    plan = Plan("q8", ("get_input_channel_importance", "apply_channel_sorting"))
    importance = tuple(_importance_call(plan, index, torch.randn(shape, generator=g))
                       for index, shape in enumerate(IMPORTANCE_SHAPES))
    inputs = images(4, g)
    # The lab's VGG only: its convs have no bias, so the notebook never shows whether a sort
    # permutes conv biases, and that is not graded.
    state = _separated_importances(small_vgg_state(g), g)
    text = "apply_channel_sorting(small VGG)"
    plan.call("plain", "call_on_vgg", text, "apply_channel_sorting",
              name="apply_channel_sorting", state_dict=state)
    expected = ref.call("apply_channel_sorting", ref.model(state)).eval()
    sort = SortCall(key="plain", describe=text, state=state, model=expected,
                    original=ref.model(state), expected=dict(expected.state_dict()),
                    images=inputs, importance=importance)
    plan.add_checks(importance, judge_importance_values)
    plan.add_checks(sort, judge_sorting_descending, judge_sorting_matches_reference,
                    judge_sorting_bn_running_stats, judge_sorting_preserves_outputs,
                    judge_sorting_input_untouched)
    return plan


def _importance_call(plan: Plan, index: int, weight: torch.Tensor) -> ImportanceCall:
    """Declare get_input_channel_importance(``weight``) and ask the reference."""
    describe = f"get_input_channel_importance(weight of shape {shape_text(weight.shape)})"
    key = plan.call(f"importance{index}", "call_function", describe,
                    "get_input_channel_importance", name="get_input_channel_importance",
                    args=[weight])
    return ImportanceCall(key=key, describe=describe, weight=weight,
                          expected=ref.call("get_input_channel_importance", weight))


@grades("importance_values", 3, "the L2 norm of weight[:, i] for every input channel i")
def judge_importance_values(out: Outputs, case: tuple[ImportanceCall, ...]) -> None:
    """Every call returned one floating-point value per input channel, the reference's (a
    typical wrong norm is named)."""
    for call in case:
        got = as_tensor(out.field(call.key), call.describe)
        if tuple(got.shape) != tuple(call.expected.shape):
            hint = (" (that is one value per output channel; importance is per input "
                    "channel, dim 1)" if tuple(got.shape) == (call.weight.shape[0],) else "")
            raise Fail(f"{call.describe} returned a tensor of shape {shape_text(got.shape)}, "
                       f"expected one value per input channel, shape "
                       f"{shape_text(call.expected.shape)}{hint}")
        if not got.is_floating_point() or not close(got, call.expected, rtol=1e-4, atol=1e-5):
            raise Fail(f"{call.describe} returned wrong values"
                       f"{_importance_hint(got, call.weight)}")


def _importance_note(out: Outputs, case: SortCall) -> str:
    """Why the sort may be off besides the sort itself: the notebook's importance function,
    which the sort ranks by, is wrong ("" when it is right on every case)."""
    for call in case.importance:
        try:
            got = out.field(call.key)
        except Fail:
            break
        if not (isinstance(got, torch.Tensor) and got.is_floating_point()
                and close(got, call.expected, rtol=1e-4, atol=1e-5)):
            break
    else:
        return ""
    return (" (the sort ranks channels with get_input_channel_importance, which gives wrong "
            "values: see its check)")


def _sorted_model(out: Outputs, case: SortCall) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """(rebuilt model, returned state dict) of the sort, once it kept the channel counts."""
    model, state = _rebuild(out, case)
    got, expected = _conv_channels(state), _conv_channels(case.expected)
    if got != expected:
        raise Fail(f"{case.describe} changed the channel counts to {got}")
    return model, state


@grades("sorting_descending", 2, "the channels between consecutive convs are in descending order "
        "of the next conv's input-channel importance")
def judge_sorting_descending(out: Outputs, case: SortCall) -> None:
    """Each conv's input channels are in descending order of the reference's importance."""
    _, state = _sorted_model(out, case)
    importance = ref.solutions().get_input_channel_importance
    for index in range(1, NUM_CONVS):
        values = importance(state[f"backbone.conv{index}.weight"])
        steps = values[1:] - values[:-1]
        if bool((steps > 1e-6).any()):
            ascending = bool((steps >= -1e-6).all())
            hint = (_importance_note(out, case) or _repeat_hint(_channel_orders(state, case.state))
                    or (" (they are ascending; sort in descending order)" if ascending else ""))
            raise Fail(f"{case.describe}: the input channels of backbone.conv{index} are "
                       f"not in descending order of importance{hint}")


@grades("sorting_matches_reference", 2, "conv weights and BatchNorm weight / bias are permuted "
        "consistently (previous conv's outputs, BatchNorm, next conv's inputs)")
def judge_sorting_matches_reference(out: Outputs, case: SortCall) -> None:
    """Every tensor but the running statistics is the reference's sorted one."""
    _, state = _sorted_model(out, case)
    names = [n for n in case.expected if "running" not in n]
    differs = _first_difference(state, case.expected, names)
    if differs:
        cause = _importance_note(out, case) or _order_hint(state, case.state)
        raise Fail(f"{case.describe}: {differs} is not permuted like the sorted channels{cause}")


@grades("sorting_bn_running_stats", 1, "BatchNorm running_mean and running_var are permuted with "
        "the channels")
def judge_sorting_bn_running_stats(out: Outputs, case: SortCall) -> None:
    _, state = _sorted_model(out, case)
    _require_stats_follow_channels(case, state)


@grades("sorting_preserves_outputs", 2, "the sorted model computes the same outputs as the "
        "original")
def judge_sorting_preserves_outputs(out: Outputs, case: SortCall) -> None:
    """The sorted model's outputs on ``case.images`` are the original's (once it sorts)."""
    model, _ = _sorted_model(out, case)
    _require_rearranged(out, case)
    if not _outputs_equal(model, case.original, case.images):
        raise Fail(f"{case.describe}: the sorted model's outputs differ from the original "
                   f"model's on random images (every permutation must be applied "
                   f"consistently)")


@grades("sorting_input_untouched", 1, "apply_channel_sorting returns a copy and leaves its input "
        "model untouched")
def judge_sorting_input_untouched(out: Outputs, case: SortCall) -> None:
    _input_untouched(out, case)
    _require_rearranged(out, case)
