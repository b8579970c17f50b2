# about: nm_prune groups m consecutive entries down each column (across output channels)
#   instead of along each row
# replaces: nm_prune
# loses: q10
# feedback: down each column
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    rows = tensor.detach().reshape(tensor.shape[0], -1)
    columns = rows.abs().t().contiguous().reshape(-1, m)
    kept = columns.sort(dim=1, descending=True, stable=True).indices[:, :n]
    mask = torch.zeros_like(columns, dtype=torch.bool).scatter_(1, kept, True)
    mask = mask.reshape(rows.shape[1], rows.shape[0]).t().reshape(tensor.shape)
    with torch.no_grad():
        tensor.mul_(mask)
    return mask
