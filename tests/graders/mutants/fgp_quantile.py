# about: fine_grained_prune thresholds at torch.quantile of the magnitudes (interpolates between
#   entries: prunes floor(sparsity * (numel - 1)) + 1 entries, not round(numel * sparsity))
# replaces: fine_grained_prune
# loses: q3
# feedback: torch.quantile
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    if sparsity == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = torch.quantile(importance.flatten(), sparsity)
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
