# about: channel_prune prunes every conv-to-conv boundary but the last one (conv6 -> conv7)
# replaces: channel_prune
# loses: q7
# feedback: gives conv output channels
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    if isinstance(prune_ratio, numbers.Real):
        prune_ratio = [float(prune_ratio)] * 7
    if len(prune_ratio) != 7:
        raise ValueError(f"expected 7 ratios, got {len(prune_ratio)}")
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for i in range(len(convs) - 2):  # the last boundary is forgotten
            conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
            n = get_num_channels_to_keep(conv.out_channels, prune_ratio[i])
            keep = torch.arange(n)
            reindex_out_channels(conv, bn, keep)
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
