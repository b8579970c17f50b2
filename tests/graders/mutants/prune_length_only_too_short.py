# about: channel_prune raises only when the list of ratios is too short; a list that is too long
#   is cut silently by zip
# replaces: channel_prune
# loses: q7
# feedback: a list of 8 ratios) returned without an error
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    if isinstance(prune_ratio, numbers.Real):
        prune_ratio = [prune_ratio] * (len(convs) - 1)
    if len(prune_ratio) < len(convs) - 1:
        raise ValueError(f"expected {len(convs) - 1} ratios, got {len(prune_ratio)}")
    with torch.no_grad():
        for conv, bn, next_conv, ratio in zip(convs[:-1], bns[:-1], convs[1:], prune_ratio):
            n = get_num_channels_to_keep(conv.out_channels, ratio)
            keep = torch.arange(n)
            reindex_out_channels(conv, bn, keep)
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
