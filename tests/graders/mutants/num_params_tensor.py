# about: get_num_parameters returns a tensor (sum of count_nonzero tensors), not an int
# replaces: get_num_parameters
# loses: q2
# feedback: Python int
def get_num_parameters(model: nn.Module, count_nonzero_only: bool = False) -> int:
    total = torch.tensor(0)
    for param in model.parameters():
        total = total + (param.count_nonzero() if count_nonzero_only else param.numel())
    return total
