# about: get_num_parameters ignores count_nonzero_only (always counts every entry)
# replaces: get_num_parameters
# loses: q2
# feedback: count_nonzero_only=True
def get_num_parameters(model: nn.Module, count_nonzero_only: bool = False) -> int:
    return sum(param.numel() for param in model.parameters())
