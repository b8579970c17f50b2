# about: get_input_channel_importance averages the squares (root mean square), not the L2 norm
# replaces: get_input_channel_importance
# loses: q8
# feedback: root mean square
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().pow(2).mean(dim=(0, 2, 3)).sqrt()
