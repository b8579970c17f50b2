# about: fine_grained_prune with torch.topk: the threshold is the largest of the num_zeros
#   smallest magnitudes; pruned with masked_fill_
# replaces: fine_grained_prune
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones(tensor.shape, dtype=torch.bool, device=tensor.device)
    magnitudes = tensor.detach().abs()
    smallest = torch.topk(magnitudes.flatten(), num_zeros, largest=False).values
    mask = magnitudes > smallest.max()
    with torch.no_grad():
        tensor.masked_fill_(~mask, 0.0)
    return mask
