# about: fine_grained_prune rebinds the tensor (tensor = tensor * mask) instead of pruning it in
#   place
# replaces: fine_grained_prune
# loses: q3
# feedback: in place
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    importance = tensor.detach().abs()
    threshold = importance.reshape(-1).kthvalue(num_zeros).values
    mask = importance > threshold
    tensor = tensor * mask
    return mask
