# about: nm_prune with torch.topk: each group's n-th largest magnitude is a threshold; entries
#   above it are kept, and of those equal to it the first ones (cumsum) until n are kept
# replaces: nm_prune
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not isinstance(m, int) or m < 1 or not isinstance(n, int) or not 0 <= n <= m:
        raise ValueError(f"need integers 0 <= n <= m, m >= 1; got n={n!r}, m={m!r}")
    if (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"rows of {tensor.numel() // tensor.shape[0]} entries do not split "
                         f"into groups of {m}")
    groups = tensor.detach().abs().reshape(-1, m)
    if n == 0:
        mask = torch.zeros_like(groups, dtype=torch.bool)
    else:
        threshold = groups.topk(n, dim=1).values[:, -1:]
        above = groups > threshold
        tied = groups == threshold
        room = n - above.sum(dim=1, keepdim=True)
        mask = above | (tied & (tied.cumsum(dim=1) <= room))
    mask = mask.reshape(tensor.shape)
    with torch.no_grad():
        tensor.masked_fill_(~mask, 0.0)
    return mask
