# about: fine_grained_prune indexes the sorted magnitudes at num_zeros: crashes when every entry
#   is pruned (and keeps ties)
# replaces: fine_grained_prune
# loses: q3
# feedback: sparsity=1 | raised IndexError
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        sorted_magnitudes = importance.reshape(-1).sort().values
        mask = importance >= sorted_magnitudes[num_zeros]
        tensor.mul_(mask)
    return mask
