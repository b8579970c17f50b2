# about: get_num_parameters counts every state-dict entry (buffers included)
# replaces: get_num_parameters
# loses: q2
# feedback: buffers
def get_num_parameters(model: nn.Module, count_nonzero_only: bool = False) -> int:
    total = 0
    for tensor in model.state_dict().values():
        total += int(tensor.count_nonzero()) if count_nonzero_only else tensor.numel()
    return total
