# about: nm_prune keeps the later of entries with equal magnitude (argsort of the reversed
#   group), where the prompt keeps the earlier one
# replaces: nm_prune
# loses: q10
# feedback: kept the later of entries with equal magnitude
# lacks: mask_exact
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    with torch.no_grad():
        reversed_groups = tensor.detach().abs().reshape(-1, m).flip(1)
        kept = reversed_groups.sort(dim=1, descending=True, stable=True).indices[:, :n]
        mask = torch.zeros_like(reversed_groups, dtype=torch.bool).scatter_(1, kept, True)
        mask = mask.flip(1).reshape(tensor.shape)
        tensor.mul_(mask)
    return mask
