# about: get_sparsity returns NaN
# replaces: get_sparsity
# loses: q1
# feedback: nan
def get_sparsity(tensor: torch.Tensor) -> float:
    return float("nan")
