# about: get_input_channel_importance with a Python loop and torch.norm per input channel
# replaces: get_input_channel_importance
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    norms = []
    for i in range(weight.shape[1]):
        norms.append(torch.norm(weight.detach()[:, i]))
    return torch.stack(norms)
