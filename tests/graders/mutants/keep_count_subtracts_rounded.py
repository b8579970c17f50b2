# about: get_num_channels_to_keep computes channels - round(channels * ratio): the same as the
#   contract except at exact halves, where Python's round goes to the even integer
# replaces: get_num_channels_to_keep
# loses: q7
# feedback: get_num_channels_to_keep( | expected
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return channels - round(channels * prune_ratio)
