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

import torch

from . import reference as ref
from .base import (Context, Fail, Plan, as_mask, require_bool_mask, require_pruned_in_place,
                   shape_text)
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


def plan_q10(ctx: Context) -> Plan:
    """q10 (bonus): the keep-mask and the in-place pruning of nm_prune."""
    g = ctx.generator("q10")
    plan = Plan("q10", ("nm_prune",))

    def case(key: str, tensor: torch.Tensor, n: int | None, m: int | None,
             raises: bool = False) -> dict:
        describe = _nm_text(tensor.shape, n, m)
        args = [tensor] if n is None else [tensor, n, m]
        plan.call(key, "call_function", describe, "nm_prune", name="nm_prune", args=args)
        item = {"key": key, "describe": describe, "input": tensor, "pattern": _pattern(n, m)}
        if not raises:
            item["expected"] = ref.call("nm_prune", tensor, *item["pattern"])
        return item

    exact = [case(f"exact{index}", tie_free_tensor(shape, g), n, m)
             for index, (shape, n, m) in enumerate(EXACT_CASES)]
    ties = case("ties", tied_tensor(g), 2, 4)
    none_kept = case("n_zero", tie_free_tensor((3, 8), g), 0, 4)
    all_kept = case("n_equal_m", tie_free_tensor((3, 8), g), 4, 4)
    errors = [case(f"error{index}", tie_free_tensor(shape, g), n, m, raises=True)
              for index, (shape, n, m) in enumerate(ERROR_CASES)]
    returning = exact + [ties, none_kept, all_kept]

    def mask_of(out, item) -> torch.Tensor:
        return as_mask(out.field(item["key"]), item["describe"], item["input"].shape)

    def judge_masks(out, items: list[dict]) -> None:
        """Fail on the first item whose mask differs from the contract's, saying the mistake
        that explains every item's mask when exactly one does."""
        masks = [mask_of(out, item) for item in items]
        wrong = [(item, mask) for item, mask in zip(items, masks)
                 if not torch.equal(mask, item["expected"])]
        if wrong:
            raise Fail(_mask_message(*wrong[0], _explaining_mistake(items, masks)))

    def require_pattern(out) -> None:
        """Fail unless every exact case's mask keeps exactly n entries in each group of m
        consecutive entries of a row: a function that does nothing, or raises a ValueError
        always, satisfies the other properties trivially; they count once it prunes N:M."""
        for item in exact:
            n, m = item["pattern"]
            kept = mask_of(out, item).reshape(-1, m).sum(dim=1)
            if not bool((kept == n).all()):
                raise Fail(f"{item['describe']} kept {_entries(int(kept[kept != n][0]))} in a "
                           f"group of {m} consecutive entries of a row, not {n} (this property "
                           f"counts once the function keeps n of every m)")

    @plan.check("mask_exact", 4, "the exact keep-mask on tie-free tensors (a conv weight at 2:4, "
                                 "the defaults, 1:3, 3:8, a linear weight)")
    def _(out):
        judge_masks(out, exact)

    @plan.check("returns_bool_mask", 1, "nm_prune returns a bool tensor of the input's shape")
    def _(out):
        require_pattern(out)
        for item in returning:
            require_bool_mask(out.field(item["key"]), item["describe"], item["input"].shape)

    @plan.check("prunes_in_place", 2, "the tensor passed in is pruned in place (zeros exactly "
                                      "where the mask is False)")
    def _(out):
        require_pattern(out)
        for item in exact + [none_kept]:
            require_pruned_in_place(out.argument_after(item["key"]), item["input"],
                                    mask_of(out, item), item["describe"])

    @plan.check("ties_keep_earlier", 1, "of entries with equal magnitude in a group, the "
                                        "earlier one is kept")
    def _(out):
        judge_masks(out, [ties])

    @plan.check("n_edges", 1, "n = 0 prunes every entry, n = m keeps every entry")
    def _(out):
        require_pattern(out)
        judge_masks(out, [none_kept, all_kept])
        if not torch.equal(out.argument_after(all_kept["key"]), all_kept["input"]):
            raise Fail(f"{all_kept['describe']} changed the tensor; n = m keeps every entry")

    @plan.check("rejects_bad_shapes", 1, "a ValueError when a row's length is not a multiple "
                                         "of m, or n is not in 0..m")
    def _(out):
        require_pattern(out)
        for item in errors:
            raised = out.raised(item["key"])
            n, m = item["pattern"]
            why = (f"n = {n} is not in 0..{m}" if n > m else
                   f"its rows have {item['input'].numel() // item['input'].shape[0]} entries, "
                   f"not a multiple of m = {m}")
            if raised is None:
                raise Fail(f"{item['describe']} returned; {why}, so it must raise a ValueError")
            if not raised.startswith("ValueError"):
                raise Fail(f"{item['describe']} raised {raised.split(':')[0]}; {why}, so it "
                           f"must raise a ValueError that says so")

    return plan


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
    "inverse": lambda item: ~item["expected"],
    "smallest": lambda item: _groups_mask(item["input"], *item["pattern"], largest=False),
    "columns": lambda item: _columns_mask(item["input"], *item["pattern"]),
    "input_channels": lambda item: _input_channel_mask(item["input"], *item["pattern"]),
    "global": lambda item: _global_mask(item["input"], *item["pattern"]),
    "later_ties": lambda item: _later_ties_mask(item["input"], *item["pattern"]),
}


def _explaining_mistake(items: list[dict], masks: list[torch.Tensor]) -> str | None:
    """The one typical mistake whose masks equal the student's on every item, if exactly one:
    a mistake without a mask for an item (None: it does not apply there) explains any mask
    there, but must give the student's mask on at least one item where that mask is wrong."""
    explaining = []
    for name, rule in MISTAKES.items():
        pairs = [(mask, rule(item), item["expected"]) for mask, item in zip(masks, items)]
        agrees = all(ruled is None or torch.equal(mask, ruled) for mask, ruled, _ in pairs)
        shown = any(ruled is not None and not torch.equal(mask, expected)
                    for mask, ruled, expected in pairs)
        if agrees and shown:
            explaining.append(name)
    return explaining[0] if len(explaining) == 1 else None


def _mask_message(item: dict, mask: torch.Tensor, mistake: str | None) -> str:
    """Why a keep-mask differs from the contract's, in terms of the input (and of the mistake
    that explains all the inputs' masks, when one does)."""
    describe = item["describe"]
    n, m = item["pattern"]
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
