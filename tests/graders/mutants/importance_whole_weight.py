# about: get_input_channel_importance returns the norm of the whole weight (one number)
# replaces: get_input_channel_importance
# loses: q8
# feedback: one value per input channel
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return torch.norm(weight.detach())
