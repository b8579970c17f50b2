"""q10 (bonus): nm_prune, N:M semi-structured magnitude pruning.

nm_prune is judged like fine_grained_prune (q3): exact keep-masks on tie-free tensors of fixed
shapes and patterns (a conv weight at 2:4, the defaults, 1:3, 3:8, a linear weight; only the
values are drawn), one tensor whose groups hold equal magnitudes (the earlier entry is kept),
the edges n = 0 and n = m, and the ValueError for rows that do not split into groups of m (the
lab's conv0, 27 entries per row, among them: its 108 entries would split into groups of 4 if
the rows were ignored) or an n above m. Its trivial properties (a bool mask, pruned in place,
the errors) count once the function keeps n entries in every group of m on every exact case.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import reference as ref
from .base import (Context, Fail, MaskProbed, Outputs, Plan, grades, require_bool_masks,
                   require_call_pruned_in_place, returned_mask, shape_text)
from .inputs import tie_free_tensor, uniform

# The exact cases, the same for every submission (only the tensors' values are drawn):
# (shape, n, m), with None for "called without n and m" (the defaults, 2:4).
EXACT_CASES: tuple[tuple[tuple[int, ...], int | None, int | None], ...] = (
    ((8, 4, 3, 3), 2, 4),   # a conv weight: groups run over in * kh * kw, not input channels
    ((6, 4, 2, 2), None, None),
    ((6, 12), 1, 3),        # other patterns: n and m are honoured, not 2:4 hard-coded
    ((4, 16), 3, 8),
    ((10, 8), 2, 4),        # a linear weight
)
# Rows that do not split into groups of m, or n above m: a ValueError. (The first two have a
# number of entries divisible by m, so code that groups the flattened tensor runs silently.)
ERROR_CASES: tuple[tuple[tuple[int, ...], int, int], ...] = (
    ((4, 3, 3, 3), 2, 4),   # the lab's conv0: 27 entries per row
    ((2, 6), 2, 4),
    ((2, 8), 5, 4),
)
# Groups with equal magnitudes at the boundary between kept and pruned (2:4): the earlier entry
# of equal ones is kept, so the kept positions are, group by group, (0, 1), (0, 1), (1, 2), (0, 1).
TIED_GROUPS = ((0.5, -0.5, 0.5, 0.1), (0.2, 0.2, 0.2, 0.2), (0.1, 0.7, -0.7, 0.7),
               (0.3, 0.9, 0.3, -0.3))


def _nm_text(shape, n, m) -> str:
    pattern = "" if n is None else f", n={n}, m={m}"
    return f"nm_prune(tensor of shape {shape_text(shape)}{pattern})"


def _pattern(n, m) -> tuple[int, int]:
    """(n, m) of a case, the defaults for None."""
    return (2, 4) if n is None else (n, m)


def tied_tensor(generator: torch.Generator) -> torch.Tensor:
    """A (2, 8) tensor of the :data:`TIED_GROUPS` in a drawn order, each group scaled by a drawn
    factor and its signs drawn (magnitudes tie within a group, never across groups)."""
    order = torch.randperm(len(TIED_GROUPS), generator=generator).tolist()
    groups = [torch.tensor(TIED_GROUPS[i]) * uniform(generator, 0.5, 1.5) for i in order]
    values = torch.cat(groups)
    signs = torch.where(torch.rand(values.numel(), generator=generator) < 0.5, -1.0, 1.0)
    return (values * signs).reshape(2, 8)


@dataclass(frozen=True, kw_only=True)
class NmCall(MaskProbed):
    """An nm_prune call: ``input`` pruned with ``pattern`` (n, m), the defaults for a call
    without them (``expected``: the reference's keep-mask; None for a call that must raise)."""
    pattern: tuple[int, int]


@dataclass(frozen=True)
class NmCases:
    """q10's calls: ``exact`` (the tie-free tensors of :data:`EXACT_CASES`), ``ties`` (groups of
    equal magnitudes), ``none_kept`` and ``all_kept`` (n = 0 and n = m), and ``errors`` (the
    shapes and patterns of :data:`ERROR_CASES`, which must raise a ValueError)."""
    exact: tuple[NmCall, ...]
    ties: NmCall
    none_kept: NmCall
    all_kept: NmCall
    errors: tuple[NmCall, ...]

    def returning(self) -> list[NmCall]:
        """The calls that must return a mask."""
        return [*self.exact, self.ties, self.none_kept, self.all_kept]


def plan_q10(ctx: Context) -> Plan:
    """q10 (bonus): the keep-mask and the in-place pruning of nm_prune."""
    g = ctx.generator("q10")
    plan = Plan("q10", ("nm_prune",))
    exact = tuple(_nm_call(plan, f"exact{index}", tie_free_tensor(shape, g), n, m)
                  for index, (shape, n, m) in enumerate(EXACT_CASES))
    ties = _nm_call(plan, "ties", tied_tensor(g), 2, 4)
    none_kept = _nm_call(plan, "n_zero", tie_free_tensor((3, 8), g), 0, 4)
    all_kept = _nm_call(plan, "n_equal_m", tie_free_tensor((3, 8), g), 4, 4)
    errors = tuple(_nm_call(plan, f"error{index}", tie_free_tensor(shape, g), n, m, raises=True)
                   for index, (shape, n, m) in enumerate(ERROR_CASES))
    cases = NmCases(exact, ties, none_kept, all_kept, errors)
    plan.add_check("mask_exact", 4, "the exact keep-mask on tie-free tensors (a conv weight at "
                   "2:4, the defaults, 1:3, 3:8, a linear weight)",
                   judge_nm_masks_match_contract, cases.exact)
    plan.add_checks(cases, judge_returns_bool_mask, judge_prunes_in_place)
    plan.add_check("ties_keep_earlier", 1, "of entries with equal magnitude in a group, the "
                   "earlier one is kept", judge_nm_masks_match_contract, (cases.ties,))
    plan.add_checks(cases, judge_n_edges, judge_rejects_bad_shapes)
    return plan


def _nm_call(plan: Plan, key: str, tensor: torch.Tensor, n: int | None, m: int | None,
             raises: bool = False) -> NmCall:
    """Declare nm_prune(``tensor``, ``n``, ``m``) (without n and m for None) and, unless it
    ``raises``, ask the reference for its mask."""
    describe = _nm_text(tensor.shape, n, m)
    args = [tensor] if n is None else [tensor, n, m]
    plan.call(key, "call_function", describe, "nm_prune", name="nm_prune", args=args)
    pattern = _pattern(n, m)
    expected = None if raises else ref.call("nm_prune", tensor, *pattern)
    return NmCall(key=key, describe=describe, input=tensor, pattern=pattern, expected=expected)


def judge_nm_masks_match_contract(out: Outputs, case: tuple[NmCall, ...]) -> None:
    """Fail on the first call whose mask differs from the contract's, saying the mistake
    that explains every call's mask when exactly one does."""
    masks = [returned_mask(out, call) for call in case]
    wrong = [(call, mask) for call, mask in zip(case, masks)
             if not torch.equal(mask, call.expected)]
    if wrong:
        raise Fail(_mask_message(*wrong[0], _explaining_mistake(case, masks)))


def _require_pattern(out: Outputs, exact: tuple[NmCall, ...]) -> None:
    """Fail unless every exact case's mask keeps exactly n entries in each group of m
    consecutive entries of a row: a function that does nothing, or raises a ValueError
    always, satisfies the other properties trivially; they count once it prunes N:M."""
    for call in exact:
        n, m = call.pattern
        kept = returned_mask(out, call).reshape(-1, m).sum(dim=1)
        if not bool((kept == n).all()):
            raise Fail(f"{call.describe} kept {_entries(int(kept[kept != n][0]))} in a "
                       f"group of {m} consecutive entries of a row, not {n} (this property "
                       f"counts once the function keeps n of every m)")


@grades("returns_bool_mask", 1, "nm_prune returns a bool tensor of the input's shape")
def judge_returns_bool_mask(out: Outputs, case: NmCases) -> None:
    """Every call that must return did return a torch.bool mask of its input's shape, once
    the function prunes N:M."""
    _require_pattern(out, case.exact)
    require_bool_masks(out, case.returning())


@grades("prunes_in_place", 2, "the tensor passed in is pruned in place (zeros exactly where the "
        "mask is False)")
def judge_prunes_in_place(out: Outputs, case: NmCases) -> None:
    """The exact cases and n = 0 prune the tensor passed in, in place, once the function
    prunes N:M."""
    _require_pattern(out, case.exact)
    for call in [*case.exact, case.none_kept]:
        require_call_pruned_in_place(out, call, returned_mask)


@grades("n_edges", 1, "n = 0 prunes every entry, n = m keeps every entry")
def judge_n_edges(out: Outputs, case: NmCases) -> None:
    """n = 0 prunes everything; n = m keeps everything and leaves the tensor as it was."""
    _require_pattern(out, case.exact)
    judge_nm_masks_match_contract(out, (case.none_kept, case.all_kept))
    if not torch.equal(out.argument_after(case.all_kept.key), case.all_kept.input):
        raise Fail(f"{case.all_kept.describe} changed the tensor; n = m keeps every entry")


@grades("rejects_bad_shapes", 1, "a ValueError when a row's length is not a multiple of m, or n is "
        "not in 0..m")
def judge_rejects_bad_shapes(out: Outputs, case: NmCases) -> None:
    """Every call of :data:`ERROR_CASES` raised a ValueError, once the function prunes N:M."""
    _require_pattern(out, case.exact)
    for call in case.errors:
        raised = out.raised(call.key)
        n, m = call.pattern
        why = (f"n = {n} is not in 0..{m}" if n > m else
               f"its rows have {call.input.numel() // call.input.shape[0]} entries, "
               f"not a multiple of m = {m}")
        if raised is None:
            raise Fail(f"{call.describe} returned; {why}, so it must raise a ValueError")
        if not raised.startswith("ValueError"):
            raise Fail(f"{call.describe} raised {raised.split(':')[0]}; {why}, so it "
                       f"must raise a ValueError that says so")


# --- what a wrong mask is explained by --------------------------------------------------------

def _groups_mask(tensor: torch.Tensor, n: int, m: int, largest: bool = True) -> torch.Tensor:
    """The keep-mask of the n largest (or smallest) magnitudes of each run of m entries in
    memory order (the contract's grouping for ``largest``)."""
    keys = tensor.abs().reshape(-1, m)
    kept = keys.sort(dim=1, descending=largest, stable=True).indices[:, :n]
    return torch.zeros_like(keys, dtype=torch.bool).scatter_(1, kept, True).reshape(tensor.shape)


def _columns_mask(tensor: torch.Tensor, n: int, m: int) -> torch.Tensor | None:
    """Groups of m down each column of ``tensor.reshape(rows, -1)`` (along the output
    channels); None where the rows do not split into such groups."""
    rows = tensor.reshape(tensor.shape[0], -1)
    if rows.shape[0] % m:
        return None
    return _groups_mask(rows.t().contiguous(), n, m).t().reshape(tensor.shape)


def _input_channel_mask(tensor: torch.Tensor, n: int, m: int) -> torch.Tensor | None:
    """Groups of m consecutive input channels at each kernel position of a conv weight (the
    layout of NVIDIA's own 2:4 tools); None for other tensors."""
    if tensor.dim() != 4 or tensor.shape[1] % m:
        return None
    channels_last = tensor.permute(0, 2, 3, 1).contiguous()
    return _groups_mask(channels_last, n, m).permute(0, 3, 1, 2)


def _later_ties_mask(tensor: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """The contract's grouping, but of equal magnitudes the later entry is kept."""
    reversed_rows = tensor.reshape(tensor.shape[0], -1).flip(1)
    return _groups_mask(reversed_rows, n, m).flip(1).reshape(tensor.shape)


def _global_mask(tensor: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Fine-grained pruning of the whole tensor to the same sparsity, 1 - n/m."""
    return ref.call("fine_grained_prune", tensor, 1 - n / m)


MISTAKES = {
    "inverse": lambda call: ~call.expected,
    "smallest": lambda call: _groups_mask(call.input, *call.pattern, largest=False),
    "columns": lambda call: _columns_mask(call.input, *call.pattern),
    "input_channels": lambda call: _input_channel_mask(call.input, *call.pattern),
    "global": lambda call: _global_mask(call.input, *call.pattern),
    "later_ties": lambda call: _later_ties_mask(call.input, *call.pattern),
}


def _explaining_mistake(calls: tuple[NmCall, ...], masks: list[torch.Tensor]) -> str | None:
    """The one typical mistake whose masks equal the student's on every call, if exactly one:
    a mistake without a mask for a call (None: it does not apply there) explains any mask
    there, but must give the student's mask on at least one call where that mask is wrong."""
    explaining = []
    for name, rule in MISTAKES.items():
        pairs = [(mask, rule(call), call.expected) for mask, call in zip(masks, calls)]
        agrees = all(ruled is None or torch.equal(mask, ruled) for mask, ruled, _ in pairs)
        shown = any(ruled is not None and not torch.equal(mask, expected)
                    for mask, ruled, expected in pairs)
        if agrees and shown:
            explaining.append(name)
    return explaining[0] if len(explaining) == 1 else None


def _mask_message(call: NmCall, mask: torch.Tensor, mistake: str | None) -> str:
    """Why a keep-mask differs from the contract's, in terms of the input (and of the mistake
    that explains all the inputs' masks, when one does)."""
    describe = call.describe
    n, m = call.pattern
    rule = (f"in each row (tensor.reshape(tensor.shape[0], -1)), every group of {m} consecutive "
            f"entries keeps its {n} largest magnitudes")
    messages = {
        "inverse": f"{describe} returned the mask of the pruned entries; the keep-mask is True "
                   f"where the entry is kept",
        "smallest": f"{describe} kept the {n} smallest magnitudes of each group; {rule}",
        "columns": f"{describe} grouped {m} consecutive entries down each column (across "
                   f"output channels); {rule}",
        "input_channels": f"{describe} grouped {m} consecutive input channels at each kernel "
                          f"position; the contract groups the entries of a row in memory order: "
                          f"{rule}",
        "global": f"{describe} pruned the smallest magnitudes of the whole tensor to sparsity "
                  f"{1 - n / m:g}, not per group; {rule}",
        "later_ties": f"{describe} kept the later of entries with equal magnitude; of equal "
                      f"ones the earlier entry (lower index in the row) is kept",
    }
    if mistake in messages:
        return messages[mistake]
    per_group = mask.reshape(-1, m).sum(dim=1)
    if not bool((per_group == n).all()):
        return (f"{describe} kept {_entries(int(per_group[per_group != n][0]))} in a group of "
                f"{m}; {rule}")
    return f"{describe} kept {n} of every {m} entries but not the right ones; {rule}"


def _entries(count: int) -> str:
    """"1 entry", "3 entries"."""
    return f"{count} entr{'y' if count == 1 else 'ies'}"
