"""q1 (get_sparsity, get_model_sparsity) and q2 (get_num_parameters, get_model_size).

Inputs: random tensors with a known number of exact zeros (none, some, all), and narrow VGGs
whose weights have known zeros, whose BatchNorm biases are random and whose running statistics
are buffers (not parameters: counting them is a classic bug), with and without conv biases.
"""
from __future__ import annotations

import math

import torch

from . import reference as ref
from .base import Context, Fail, Plan, as_number, fmt, require_type, shape_text
from .inputs import randint, small_vgg_state, tensor_with_zeros

TOLERANCE = 1e-6  # sparsities are fractions; any correct formula is exact to float rounding


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
    tensor_cases = []
    for index, shape in enumerate([(10,), (4, 5), (3, 4, 2, 2), (2, 3, 3, 3)]):
        numel = math.prod(shape)
        zeros = [0, randint(g, 1, numel - 1), randint(g, 1, numel - 1), numel][index]
        tensor = tensor_with_zeros(shape, zeros, g)
        describe = f"get_sparsity(tensor of shape {shape_text(shape)} with {zeros} zeros)"
        key = plan.call(f"tensor{index}", "call_function", describe, "get_sparsity",
                        name="get_sparsity", args=[tensor])
        tensor_cases.append((key, describe, ref.call("get_sparsity", tensor)))
    model_cases = []
    for index, (conv_bias, zero_fraction) in enumerate([(False, 0.5), (True, 0.2)]):
        state = small_vgg_state(g, conv_bias=conv_bias, zero_fraction=zero_fraction)
        describe = f"get_model_sparsity({_model_text(conv_bias, zero_fraction)})"
        key = plan.call(f"model{index}", "call_on_vgg", describe, "get_model_sparsity",
                        name="get_model_sparsity", state_dict=state)
        expected = ref.call("get_model_sparsity", ref.model(state))
        model_cases.append((key, describe, expected, _buffer_sparsity(state)))

    @plan.check("get_sparsity_values", 3, "get_sparsity on random tensors with 0, some and all "
                                          "entries zero")
    def _(out):
        for key, describe, expected in tensor_cases:
            got = as_number(out.field(key), describe)
            if abs(got - expected) > TOLERANCE:
                hint = (" (a fraction in [0, 1] is asked, not percent)"
                        if abs(got - 100 * expected) < 1e-4 and expected else "")
                raise Fail(f"{describe} returned {fmt(got)}, expected {fmt(expected)}{hint}")

    @plan.check("get_sparsity_returns_float", 1, "get_sparsity returns a Python float",
                requires=("get_sparsity_values",))
    def _(out):
        for key, describe, _ in tensor_cases:
            require_type(out.field(key), float, describe)

    @plan.check("get_model_sparsity_values", 3, "get_model_sparsity over the parameters of small "
                                                "VGGs with known zeros (buffers not counted)")
    def _(out):
        for key, describe, expected, with_buffers in model_cases:
            got = as_number(out.field(key), describe)
            if abs(got - expected) > TOLERANCE:
                hint = (" (it seems to count buffers such as BatchNorm running statistics; only "
                        "model.parameters() count)" if abs(got - with_buffers) < TOLERANCE else "")
                raise Fail(f"{describe} returned {fmt(got)}, expected {fmt(expected)}{hint}")

    @plan.check("get_model_sparsity_returns_float", 1, "get_model_sparsity returns a Python float",
                requires=("get_model_sparsity_values",))
    def _(out):
        for key, describe, _, _ in model_cases:
            require_type(out.field(key), float, describe)

    return plan


def plan_q2(ctx: Context) -> Plan:
    """q2: parameter counts and model size in bits."""
    g = ctx.generator("q2")
    plan = Plan("q2", ("get_num_parameters", "get_model_size"))
    states = {"plain": (small_vgg_state(g, conv_bias=False, zero_fraction=0.3), False, 0.3),
              "bias": (small_vgg_state(g, conv_bias=True, zero_fraction=0.5), True, 0.5)}
    counts, sizes = [], []
    for label, (state, conv_bias, zeros) in states.items():
        model_text = _model_text(conv_bias, zeros)
        for nonzero in (False, True):
            kwargs = {"count_nonzero_only": True} if nonzero else {}
            arg = ", count_nonzero_only=True" if nonzero else ""
            describe = f"get_num_parameters({model_text}{arg})"
            key = plan.call(f"count_{label}_{int(nonzero)}", "call_on_vgg", describe,
                            "get_num_parameters", name="get_num_parameters", state_dict=state,
                            kwargs=kwargs)
            expected = ref.call("get_num_parameters", ref.model(state), **kwargs)
            counts.append((key, describe, expected, nonzero, _state_count(state, nonzero)))
    size_cases = [("plain", {}, ""), ("plain", {"data_width": 8}, ", data_width=8"),
                  ("bias", {"data_width": 16, "count_nonzero_only": True},
                   ", data_width=16, count_nonzero_only=True")]
    for index, (label, kwargs, arg) in enumerate(size_cases):
        state, conv_bias, zeros = states[label]
        describe = f"get_model_size({_model_text(conv_bias, zeros)}{arg})"
        key = plan.call(f"size{index}", "call_on_vgg", describe, "get_model_size",
                        name="get_model_size", state_dict=state, kwargs=kwargs)
        expected = ref.call("get_model_size", ref.model(state), **kwargs)
        sizes.append((key, describe, expected, kwargs.get("count_nonzero_only", False)))

    def judge_counts(out, nonzero: bool):
        for key, describe, expected, is_nonzero, with_buffers in counts:
            if is_nonzero != nonzero:
                continue
            got = as_number(out.field(key), describe)
            if got != expected:
                hint = (" (it seems to count buffers such as BatchNorm running statistics; only "
                        "model.parameters() count)" if got == with_buffers else "")
                raise Fail(f"{describe} returned {fmt(got)}, expected {fmt(expected)}{hint}")

    @plan.check("num_parameters_all", 2, "get_num_parameters counts every parameter entry "
                                         "(buffers excluded), with and without conv biases")
    def _(out):
        judge_counts(out, nonzero=False)

    @plan.check("num_parameters_nonzero", 2, "get_num_parameters(count_nonzero_only=True) counts "
                                             "the non-zero entries")
    def _(out):
        judge_counts(out, nonzero=True)

    @plan.check("num_parameters_int", 1, "get_num_parameters returns a Python int",
                requires=("num_parameters_all",))
    def _(out):
        for key, describe, *_ in counts:
            require_type(out.field(key), int, describe)

    def judge_sizes(out, nonzero: bool):
        for key, describe, expected, is_nonzero in sizes:
            if is_nonzero != nonzero:
                continue
            got = as_number(out.field(key), describe)
            if got != expected:
                hint = ""
                if got * 8 == expected:
                    hint = " (that is the size in bytes; the contract asks for bits)"
                elif abs(got * 8 * 2**20 - expected) < 8:
                    hint = " (that is the size in MiB; the contract asks for bits)"
                raise Fail(f"{describe} returned {fmt(got)}, expected {fmt(expected)} bits{hint}")

    @plan.check("model_size_bits", 2, "get_model_size in bits for data widths 32 and 8")
    def _(out):
        judge_sizes(out, nonzero=False)

    @plan.check("model_size_nonzero", 2, "get_model_size(count_nonzero_only=True) counts only "
                                         "the non-zero entries")
    def _(out):
        judge_sizes(out, nonzero=True)

    @plan.check("model_size_int", 1, "get_model_size returns a Python int",
                requires=("model_size_bits",))
    def _(out):
        for key, describe, *_ in sizes:
            require_type(out.field(key), int, describe)

    return plan
