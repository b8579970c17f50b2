# about: nm_prune keeps the n smallest magnitudes of each group (an ascending sort)
# replaces: nm_prune
# loses: q10
# feedback: the 2 smallest magnitudes of each group
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    with torch.no_grad():
        groups = tensor.detach().abs().reshape(-1, m)
        kept = groups.sort(dim=1, stable=True).indices[:, :n]
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, kept, True)
        mask = mask.reshape(tensor.shape)
        tensor.mul_(mask)
    return mask
