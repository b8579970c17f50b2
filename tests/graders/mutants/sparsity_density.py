# about: get_sparsity returns the density (non-zeros / numel) instead of the sparsity
# replaces: get_sparsity
# loses: q1
# feedback: get_sparsity(tensor of shape | expected
def get_sparsity(tensor: torch.Tensor) -> float:
    return float(tensor.count_nonzero()) / tensor.numel()
