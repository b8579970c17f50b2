# about: get_input_channel_importance uses the L1 norm instead of the L2 norm
# replaces: get_input_channel_importance
# loses: q8
# feedback: L1 norm
# lacks: permute BatchNorm running statistics too
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().abs().sum(dim=(0, 2, 3))
