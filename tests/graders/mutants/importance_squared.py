# about: get_input_channel_importance returns the squared L2 norm (sqrt forgotten)
# replaces: get_input_channel_importance
# loses: q8
# feedback: squared L2 norm
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().pow(2).sum(dim=(0, 2, 3))
