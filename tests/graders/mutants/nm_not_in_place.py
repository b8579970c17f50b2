# about: nm_prune computes the right mask but zeroes a copy (tensor = tensor * mask), so the
#   caller's weight keeps every entry
# replaces: nm_prune
# loses: q10
# feedback: in place
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    groups = tensor.detach().abs().reshape(-1, m)
    kept = groups.sort(dim=1, descending=True, stable=True).indices[:, :n]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, kept, True)
    mask = mask.reshape(tensor.shape)
    tensor = tensor * mask
    return mask
