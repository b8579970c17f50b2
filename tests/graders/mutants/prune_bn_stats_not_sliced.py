# about: channel_prune slices BatchNorm weight and bias but not running_mean / running_var
# replaces: channel_prune
# loses: q7
# feedback: running_mean
# lacks: gives conv output channels | returned without an error | changed the input model
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    with torch.no_grad():
        for i, ratio in enumerate(ratios):
            conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
            n = get_num_channels_to_keep(conv.out_channels, ratio)
            keep = torch.arange(n)
            conv.weight = reindexed(conv.weight, keep, dim=0)
            if conv.bias is not None:
                conv.bias = reindexed(conv.bias, keep, dim=0)
            conv.out_channels = n
            bn.weight = reindexed(bn.weight, keep, dim=0)
            bn.bias = reindexed(bn.bias, keep, dim=0)
            bn.num_features = n
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
