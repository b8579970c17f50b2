# about: channel_prune uses the first ratio of a list for every boundary
# replaces: channel_prune
# loses: q7
# feedback: channel_prune(small VGG, [ | gives conv output channels
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    if not isinstance(prune_ratio, numbers.Real):
        if len(prune_ratio) != 7:
            raise ValueError(f"expected 7 ratios, got {len(prune_ratio)}")
        prune_ratio = prune_ratio[0]
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for i in range(len(convs) - 1):
            conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
            n = get_num_channels_to_keep(conv.out_channels, prune_ratio)
            keep = torch.arange(n)
            reindex_out_channels(conv, bn, keep)
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
