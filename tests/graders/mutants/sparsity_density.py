# about: get_sparsity returns the density (non-zeros / numel) instead of the sparsity
# replaces: get_sparsity
# loses: q1
# feedback: with 0 zeros) returned 1, expected 0
def get_sparsity(tensor: torch.Tensor) -> float:
    return float(tensor.count_nonzero()) / tensor.numel()
