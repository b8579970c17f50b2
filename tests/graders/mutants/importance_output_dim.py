# about: get_input_channel_importance takes the norms over the wrong dimension (per output
#   channel)
# replaces: get_input_channel_importance
# loses: q8
# feedback: per output channel
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().reshape(weight.shape[0], -1).norm(dim=1)
