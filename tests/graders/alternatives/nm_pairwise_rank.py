# about: nm_prune without sorting: each entry's rank in its group is the number of entries
#   larger than it, or equal and earlier (pairwise comparisons); ranks below n are kept
# replaces: nm_prune
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= m:
        raise ValueError(f"n must be in 0..{m}, got {n!r}")
    if tensor[0].numel() % m:
        raise ValueError(f"a row of {tensor[0].numel()} entries is not a multiple of m={m}")
    with torch.no_grad():
        groups = tensor.abs().reshape(-1, m, 1)
        others = groups.transpose(1, 2)
        earlier = torch.ones(m, m, dtype=torch.bool).tril(-1)  # [i, j]: j before i
        rank = ((others > groups) | ((others == groups) & earlier)).sum(dim=2)
        mask = (rank < n).reshape(tensor.shape)
        tensor.mul_(mask)
    return mask
