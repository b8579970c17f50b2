# about: num_zeros = int(numel * sparsity + 0.5) (rounds halves up; the contract says Python's
#   round, halves to even: 12.5 -> 12)
# replaces: fine_grained_prune
# loses: q3
# feedback: round
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = int(tensor.numel() * sparsity + 0.5)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.flatten().kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
