# about: channel_prune_ratio 0.1 leaves more than 60% of the dense MACs
# replaces: channel_prune_ratio
# loses: q9
# feedback: at most 60%
channel_prune_ratio = 0.1
