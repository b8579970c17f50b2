# about: get_sparsity returns a 0-d tensor instead of a Python float
# replaces: get_sparsity
# loses: q1
# feedback: Python float
def get_sparsity(tensor: torch.Tensor) -> float:
    return 1.0 - tensor.count_nonzero() / tensor.numel()
