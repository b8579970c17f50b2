# about: fine_grained_prune truncates the number of zeros with int() instead of round()
# replaces: fine_grained_prune
# loses: q3
# feedback: not int()
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = int(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.reshape(-1).kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
