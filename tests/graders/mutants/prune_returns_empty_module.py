# about: channel_prune returns an empty nn.Module (no layers at all): nothing is consistent or
#   untouched about it, since it is not a pruned model
# replaces: channel_prune
# loses: q7
# feedback: does not load into a VGG
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    return nn.Module()
