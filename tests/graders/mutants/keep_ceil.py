# about: get_num_channels_to_keep rounds up: math.ceil(channels * (1 - ratio))
# replaces: get_num_channels_to_keep
# loses: q7
# feedback: math.ceil
# lacks: int(x + 0.5)
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return math.ceil(channels * (1 - prune_ratio))
