# about: fine_grained_prune ranks by value, not by magnitude (abs() missing)
# replaces: fine_grained_prune
# loses: q3
# feedback: magnitudes
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.clone()
        threshold = importance.reshape(-1).kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
