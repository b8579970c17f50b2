"""q1 (get_sparsity, get_model_sparsity) and q2 (get_num_parameters, get_model_size).

Inputs: random tensors with a known number of exact zeros (none, some, all), and narrow VGGs
whose weights have known zeros, whose BatchNorm biases are random and whose running statistics
are buffers (not parameters: counting them is a classic bug), with and without conv biases.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import reference as ref
from .base import (Context, Outputs, Plan, Probed, grades, judge_returns_float,
                   judge_returns_int, returned_number, shape_text, wrong_number)
from .inputs import randint, small_vgg_state, tensor_with_zeros

TOLERANCE = 1e-6  # sparsities are fractions; any correct formula is exact to float rounding
BUFFERS_HINT = (" (it seems to count buffers such as BatchNorm running statistics; only "
                "model.parameters() count)")


@dataclass(frozen=True, kw_only=True)
class CountProbed(Probed):
    """A call that counts over a model's parameters: ``nonzero`` when it counts the non-zero
    entries only (count_nonzero_only=True); ``with_buffers``: what the same count over every
    state-dict tensor gives, buffers included (the classic bug, named in feedback; None where
    it is not looked for)."""
    nonzero: bool = False
    with_buffers: float | None = None


def _model_text(conv_bias: bool, zero_fraction: float) -> str:
    bias = "with conv biases" if conv_bias else "without conv biases"
    return f"a small VGG ({bias}, {round(100 * zero_fraction)}% of each weight zero)"


def _buffer_sparsity(state: dict[str, torch.Tensor]) -> float:
    """Sparsity over every state-dict tensor (buffers included): what the state_dict bug gives."""
    tensors = [t for t in state.values() if t.is_floating_point()]
    total = sum(t.numel() for t in tensors)
    return 1.0 - sum(int(t.count_nonzero()) for t in tensors) / total


def _state_count(state: dict[str, torch.Tensor], nonzero: bool) -> int:
    """Entries of every state-dict tensor (buffers included): what the state_dict bug counts."""
    return sum(int(t.count_nonzero()) if nonzero else t.numel() for t in state.values())


def plan_q1(ctx: Context) -> Plan:
    """q1: sparsity of tensors and of models."""
    g = ctx.generator("q1")
    plan = Plan("q1", ("get_sparsity", "get_model_sparsity"))
    tensors = [_tensor_sparsity_call(plan, g, index, shape)
               for index, shape in enumerate([(10,), (4, 5), (3, 4, 2, 2), (2, 3, 3, 3)])]
    models = [_model_sparsity_call(plan, g, index, conv_bias, zero_fraction)
              for index, (conv_bias, zero_fraction) in enumerate([(False, 0.5), (True, 0.2)])]
    plan.add_checks(tensors, judge_sparsity_values)
    plan.add_check("get_sparsity_returns_float", 1, "get_sparsity returns a Python float",
                   judge_returns_float, tensors, requires=("get_sparsity_values",))
    plan.add_checks(models, judge_model_sparsity_values)
    plan.add_check("get_model_sparsity_returns_float", 1, "get_model_sparsity returns a Python "
                   "float", judge_returns_float, models, requires=("get_model_sparsity_values",))
    return plan


def _tensor_sparsity_call(plan: Plan, g: torch.Generator, index: int,
                          shape: tuple[int, ...]) -> Probed:
    """Declare get_sparsity on a tensor of ``shape`` whose number of zeros is the ``index``-th of
    none, two drawn counts and all."""
    numel = math.prod(shape)
    zeros = [0, randint(g, 1, numel - 1), randint(g, 1, numel - 1), numel][index]
    tensor = tensor_with_zeros(shape, zeros, g)
    describe = f"get_sparsity(tensor of shape {shape_text(shape)} with {zeros} zeros)"
    key = plan.call(f"tensor{index}", "call_function", describe, "get_sparsity",
                    name="get_sparsity", args=[tensor])
    return Probed(key=key, describe=describe, expected=ref.call("get_sparsity", tensor))


def _model_sparsity_call(plan: Plan, g: torch.Generator, index: int, conv_bias: bool,
                         zero_fraction: float) -> CountProbed:
    """Declare get_model_sparsity on a small VGG with ``zero_fraction`` of each weight zero."""
    state = small_vgg_state(g, conv_bias=conv_bias, zero_fraction=zero_fraction)
    describe = f"get_model_sparsity({_model_text(conv_bias, zero_fraction)})"
    key = plan.call(f"model{index}", "call_on_vgg", describe, "get_model_sparsity",
                    name="get_model_sparsity", state_dict=state)
    expected = ref.call("get_model_sparsity", ref.model(state))
    return CountProbed(key=key, describe=describe, expected=expected,
                       with_buffers=_buffer_sparsity(state))


@grades("get_sparsity_values", 3, "get_sparsity on random tensors with 0, some and all entries "
        "zero")
def judge_sparsity_values(out: Outputs, case: list[Probed]) -> None:
    """Every get_sparsity call returned the reference's fraction, to :data:`TOLERANCE`."""
    for call in case:
        got = returned_number(out, call)
        if abs(got - call.expected) > TOLERANCE:
            percent = abs(got - 100 * call.expected) < 1e-4 and call.expected
            raise wrong_number(call, got, " (a fraction in [0, 1] is asked, not percent)"
                               if percent else "")


@grades("get_model_sparsity_values", 3, "get_model_sparsity over the parameters of small VGGs with "
        "known zeros (buffers not counted)")
def judge_model_sparsity_values(out: Outputs, case: list[CountProbed]) -> None:
    """Every get_model_sparsity call returned the reference's fraction over the parameters, to
    :data:`TOLERANCE` (the fraction over every state-dict tensor is the bug named)."""
    for call in case:
        got = returned_number(out, call)
        if abs(got - call.expected) > TOLERANCE:
            buffers = abs(got - call.with_buffers) < TOLERANCE
            raise wrong_number(call, got, BUFFERS_HINT if buffers else "")


def plan_q2(ctx: Context) -> Plan:
    """q2: parameter counts and model size in bits."""
    g = ctx.generator("q2")
    plan = Plan("q2", ("get_num_parameters", "get_model_size"))
    states = {"plain": (small_vgg_state(g, conv_bias=False, zero_fraction=0.3), False, 0.3),
              "bias": (small_vgg_state(g, conv_bias=True, zero_fraction=0.5), True, 0.5)}
    counts = [_parameter_count_call(plan, label, state, _model_text(conv_bias, zeros), nonzero)
              for label, (state, conv_bias, zeros) in states.items() for nonzero in (False, True)]
    size_cases = [("plain", {}, ""), ("plain", {"data_width": 8}, ", data_width=8"),
                  ("bias", {"data_width": 16, "count_nonzero_only": True},
                   ", data_width=16, count_nonzero_only=True")]
    sizes = [_model_size_call(plan, index, states[label], kwargs, arg)
             for index, (label, kwargs, arg) in enumerate(size_cases)]
    plan.add_check("num_parameters_all", 2, "get_num_parameters counts every parameter entry "
                   "(buffers excluded), with and without conv biases", judge_parameter_counts,
                   [call for call in counts if not call.nonzero])
    plan.add_check("num_parameters_nonzero", 2, "get_num_parameters(count_nonzero_only=True) "
                   "counts the non-zero entries", judge_parameter_counts,
                   [call for call in counts if call.nonzero])
    plan.add_check("num_parameters_int", 1, "get_num_parameters returns a Python int",
                   judge_returns_int, counts, requires=("num_parameters_all",))
    plan.add_check("model_size_bits", 2, "get_model_size in bits for data widths 32 and 8",
                   judge_model_sizes, [call for call in sizes if not call.nonzero])
    plan.add_check("model_size_nonzero", 2, "get_model_size(count_nonzero_only=True) counts only "
                   "the non-zero entries", judge_model_sizes, [call for call in sizes
                                                               if call.nonzero])
    plan.add_check("model_size_int", 1, "get_model_size returns a Python int", judge_returns_int,
                   sizes, requires=("model_size_bits",))
    return plan


def _parameter_count_call(plan: Plan, label: str, state: dict[str, torch.Tensor],
                          model_text: str, nonzero: bool) -> CountProbed:
    """Declare get_num_parameters on the VGG ``state`` (of the non-zero entries: ``nonzero``)."""
    kwargs = {"count_nonzero_only": True} if nonzero else {}
    arg = ", count_nonzero_only=True" if nonzero else ""
    describe = f"get_num_parameters({model_text}{arg})"
    key = plan.call(f"count_{label}_{int(nonzero)}", "call_on_vgg", describe,
                    "get_num_parameters", name="get_num_parameters", state_dict=state,
                    kwargs=kwargs)
    expected = ref.call("get_num_parameters", ref.model(state), **kwargs)
    return CountProbed(key=key, describe=describe, expected=expected, nonzero=nonzero,
                       with_buffers=_state_count(state, nonzero))


def _model_size_call(plan: Plan, index: int, model: tuple[dict, bool, float], kwargs: dict,
                     arg: str) -> CountProbed:
    """Declare get_model_size(``kwargs``, written ``arg`` in feedback) on ``model``: (its state
    dict, whether its convs have biases, the fraction of each weight that is zero)."""
    state, conv_bias, zeros = model
    describe = f"get_model_size({_model_text(conv_bias, zeros)}{arg})"
    key = plan.call(f"size{index}", "call_on_vgg", describe, "get_model_size",
                    name="get_model_size", state_dict=state, kwargs=kwargs)
    expected = ref.call("get_model_size", ref.model(state), **kwargs)
    return CountProbed(key=key, describe=describe, expected=expected,
                       nonzero=kwargs.get("count_nonzero_only", False))


def judge_parameter_counts(out: Outputs, case: list[CountProbed]) -> None:
    """Every get_num_parameters call returned the reference's count (counting every state-dict
    tensor is the bug named)."""
    for call in case:
        got = returned_number(out, call)
        if got != call.expected:
            raise wrong_number(call, got, BUFFERS_HINT if got == call.with_buffers else "")


def judge_model_sizes(out: Outputs, case: list[CountProbed]) -> None:
    """Every get_model_size call returned the reference's size in bits (a size in bytes or MiB
    is named)."""
    for call in case:
        got = returned_number(out, call)
        if got != call.expected:
            hint = ""
            if got * 8 == call.expected:
                hint = " (that is the size in bytes; the contract asks for bits)"
            elif abs(got * 8 * 2**20 - call.expected) < 8:
                hint = " (that is the size in MiB; the contract asks for bits)"
            raise wrong_number(call, got, hint, unit=" bits")
