# about: get_input_channel_importance as sqrt of the sum of squares over dims (0, 2, 3)
# replaces: get_input_channel_importance
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((weight.detach() ** 2).sum(dim=(0, 2, 3)))
