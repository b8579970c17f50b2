# about: get_input_channel_importance takes each input channel's largest magnitude, not its norm
# replaces: get_input_channel_importance
# loses: q8
# feedback: largest magnitude in weight[:, i]
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().abs().amax(dim=(0, 2, 3))
