# about: get_model_size ignores data_width (always 32 bits per parameter)
# replaces: get_model_size
# loses: q2
# feedback: data_width=8
def get_model_size(model: nn.Module, data_width: int = 32, count_nonzero_only: bool = False) -> int:
    return get_num_parameters(model, count_nonzero_only) * 32
