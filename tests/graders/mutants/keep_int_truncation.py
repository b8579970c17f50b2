# about: get_num_channels_to_keep truncates with int() instead of rounding
# replaces: get_num_channels_to_keep
# loses: q7
# feedback: truncates
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return int(channels * (1 - prune_ratio))
