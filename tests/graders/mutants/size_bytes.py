# about: get_model_size returns bytes instead of bits
# replaces: get_model_size
# loses: q2
# feedback: in bytes
def get_model_size(model: nn.Module, data_width: int = 32, count_nonzero_only: bool = False) -> int:
    return get_num_parameters(model, count_nonzero_only) * data_width // 8
