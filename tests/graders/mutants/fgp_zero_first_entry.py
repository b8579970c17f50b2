# about: fine_grained_prune ranks nothing: it zeroes the first entry, in place, and returns a
#   bool mask of the right shape (every "property" check that ignores what is pruned would pass)
# replaces: fine_grained_prune
# loses: q3, q5
# feedback: nothing is ranked | the pruner counts once its masks prune by magnitude
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    mask = torch.ones_like(tensor, dtype=torch.bool)
    if sparsity > 0:
        mask.view(-1)[0] = False
    tensor.mul_(mask)
    return mask
