# about: importance via weight.norm(dim=(1, 2, 3)): torch routes a 3-dim norm to matrix_norm and
#   raises (the student's own notebook would show the same error)
# replaces: get_input_channel_importance
# loses: q8
# feedback: raised
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().norm(dim=(1, 2, 3))
