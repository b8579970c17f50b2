# about: threshold is the (num_zeros + 1)-th smallest magnitude (off by one): one entry too many
#   is pruned whenever 0 < num_zeros < numel
# replaces: fine_grained_prune
# loses: q3
# feedback: kept
# lacks: tied with the threshold
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        k = min(num_zeros + 1, tensor.numel())
        threshold = importance.flatten().kthvalue(k).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
