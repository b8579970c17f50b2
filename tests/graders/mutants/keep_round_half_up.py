# about: get_num_channels_to_keep rounds halves up: int(channels * (1 - ratio) + 0.5)
#   (the contract: Python's round, halves to even: 5 channels at 0.5 keep 2, not 3)
# replaces: get_num_channels_to_keep
# loses: q7
# feedback: rounds an exact half up
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return int(channels * (1 - prune_ratio) + 0.5)
