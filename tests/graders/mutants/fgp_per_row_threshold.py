# about: fine_grained_prune ranks each row (slice along dim 0) on its own, with one threshold
#   per row instead of one for the whole tensor (a q3 mistake: FineGrainedPruner, which calls
#   it, keeps q5)
# replaces: fine_grained_prune
# loses: q3
# feedback: each slice along dim 0
# lacks: nothing is ranked
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    rows = tensor.detach().abs().reshape(tensor.shape[0] if tensor.dim() > 1 else 1, -1)
    num_zeros = round(rows.shape[1] * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    threshold = rows.kthvalue(num_zeros, dim=1, keepdim=True).values
    mask = (rows > threshold).reshape(tensor.shape)
    with torch.no_grad():
        tensor.mul_(mask)
    return mask
