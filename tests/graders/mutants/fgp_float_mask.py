# about: fine_grained_prune returns a float mask instead of a bool one
# replaces: fine_grained_prune
# loses: q3
# feedback: torch.bool
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.reshape(-1).kthvalue(num_zeros).values
        mask = torch.gt(importance, threshold).float()
        tensor.mul_(mask)
    return mask
