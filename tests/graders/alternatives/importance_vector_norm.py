# about: get_input_channel_importance with torch.linalg.vector_norm over dims (0, 2, 3)
# replaces: get_input_channel_importance
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(weight.detach(), ord=2, dim=(0, 2, 3))
