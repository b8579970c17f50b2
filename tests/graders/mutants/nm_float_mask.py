# about: nm_prune returns a float 0/1 mask instead of a bool one
# replaces: nm_prune
# loses: q10
# feedback: torch.bool
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    with torch.no_grad():
        groups = tensor.detach().abs().reshape(-1, m)
        kept = groups.sort(dim=1, descending=True, stable=True).indices[:, :n]
        mask = torch.zeros_like(groups).scatter_(1, kept, 1.0).reshape(tensor.shape)
        tensor.mul_(mask)
    return mask
