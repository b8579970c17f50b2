# about: sparsity not clamped: above 1 kthvalue gets k > numel, below 0 a negative k (crash);
#   inside [0, 1] it is the reference
# replaces: fine_grained_prune
# loses: q3
# feedback: clamp
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.flatten().kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
