# about: get_num_channels_to_keep returns the number of channels to remove
# replaces: get_num_channels_to_keep
# loses: q7
# feedback: get_num_channels_to_keep(64, 0.3) returned 19, expected 45
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return int(round(channels * prune_ratio))
