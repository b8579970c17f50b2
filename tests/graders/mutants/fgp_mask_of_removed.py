# about: fine_grained_prune prunes right but returns the mask of the removed entries
# replaces: fine_grained_prune
# loses: q3, q5
# feedback: mask of the pruned entries
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.zeros_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.reshape(-1).kthvalue(num_zeros).values
        tensor.mul_(importance > threshold)
    return importance <= threshold
