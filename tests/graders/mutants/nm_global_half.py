# about: nm_prune ignores the groups and prunes the whole tensor to the same sparsity,
#   1 - n/m, with fine_grained_prune
# replaces: nm_prune
# loses: q10
# feedback: not per group
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    return fine_grained_prune(tensor, 1 - n / m)
