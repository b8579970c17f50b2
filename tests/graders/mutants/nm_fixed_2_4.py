# about: nm_prune always prunes 2:4, whatever n and m it is given
# replaces: nm_prune
# loses: q10
# feedback: every group of 3 consecutive entries keeps its 1 largest magnitudes
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    with torch.no_grad():
        groups = tensor.detach().abs().reshape(-1, 4)
        kept = groups.sort(dim=1, descending=True, stable=True).indices[:, :2]
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, kept, True)
        mask = mask.reshape(tensor.shape)
        tensor.mul_(mask)
    return mask
