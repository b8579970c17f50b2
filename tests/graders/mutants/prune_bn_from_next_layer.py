# about: channel_prune slices the BatchNorm after the next conv (bns[i + 1]) instead of the one
#   after the pruned conv (bns[i])
# replaces: channel_prune
# loses: q7
# feedback: backbone.bn0 | the BatchNorm right after conv0
# lacks: Error(s) in loading
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    with torch.no_grad():
        for i, ratio in enumerate(ratios):
            conv, next_bn, next_conv = convs[i], bns[i + 1], convs[i + 1]
            n = get_num_channels_to_keep(conv.out_channels, ratio)
            keep = torch.arange(n)
            conv.weight = reindexed(conv.weight, keep, dim=0)
            if conv.bias is not None:
                conv.bias = reindexed(conv.bias, keep, dim=0)
            conv.out_channels = n
            next_bn.weight = reindexed(next_bn.weight, keep, dim=0)
            next_bn.bias = reindexed(next_bn.bias, keep, dim=0)
            next_bn.running_mean = next_bn.running_mean[keep]
            next_bn.running_var = next_bn.running_var[keep]
            next_bn.num_features = n
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
