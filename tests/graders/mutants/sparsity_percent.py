# about: get_sparsity returns percent instead of a fraction
# replaces: get_sparsity
# loses: q1
# feedback: not percent
def get_sparsity(tensor: torch.Tensor) -> float:
    return 100.0 * (1.0 - float(tensor.count_nonzero()) / tensor.numel())
