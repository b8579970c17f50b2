# about: fine_grained_prune with a full sort instead of kthvalue (0-based index num_zeros - 1);
#   pruned by boolean-index assignment
# replaces: fine_grained_prune
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(1.0, max(0.0, sparsity))
    num_zeros = round(tensor.numel() * sparsity)
    magnitudes = tensor.detach().abs()
    if num_zeros == 0:
        return magnitudes >= 0
    threshold = torch.sort(magnitudes.view(-1)).values[num_zeros - 1]
    mask = magnitudes > threshold
    with torch.no_grad():
        tensor[~mask] = 0
    return mask
