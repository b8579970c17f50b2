# about: channel_prune applies a list of ratios to the wrong boundaries (last boundary first)
# replaces: channel_prune
# loses: q7
# feedback: channel_prune(small VGG, [ | gives conv output channels
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    with torch.no_grad():
        for i, ratio in enumerate(reversed(ratios)):
            conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
            n = get_num_channels_to_keep(conv.out_channels, ratio)
            keep = torch.arange(n)
            reindex_out_channels(conv, bn, keep)
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
