# about: fine_grained_prune takes the (num_zeros - 1)-th smallest magnitude as the threshold
#   (0-based thinking with the 1-based kthvalue)
# replaces: fine_grained_prune
# loses: q3
# feedback: kept the entry equal to the threshold
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros <= 1:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.reshape(-1).kthvalue(num_zeros - 1).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
