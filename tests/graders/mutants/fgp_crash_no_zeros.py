# about: fine_grained_prune crashes when the number of zeros rounds to 0 (kthvalue(0))
# replaces: fine_grained_prune
# loses: q3
# feedback: raised | sparsity=0
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    num_zeros = round(tensor.numel() * sparsity)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.reshape(-1).kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask
