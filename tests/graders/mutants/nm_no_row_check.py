# about: nm_prune groups the flattened tensor and checks only that its size is a multiple of
#   m: a conv0-like weight (27 entries per row, 108 in all) is pruned with groups straddling rows
# replaces: nm_prune
# loses: q10
# feedback: 27 entries, not a multiple of m = 4
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or tensor.numel() % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    with torch.no_grad():
        groups = tensor.detach().abs().reshape(-1, m)
        kept = groups.sort(dim=1, descending=True, stable=True).indices[:, :n]
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, kept, True)
        mask = mask.reshape(tensor.shape)
        tensor.mul_(mask)
    return mask
