# about: get_input_channel_importance adds up the L2 norms of the 3x3 kernels of weight[:, i]
#   instead of taking one L2 norm over all of weight[:, i]
# replaces: get_input_channel_importance
# loses: q8
# feedback: adds up the L2 norms of the kernels
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().pow(2).sum(dim=(2, 3)).sqrt().sum(dim=0)
