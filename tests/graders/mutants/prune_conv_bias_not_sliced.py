# about: channel_prune never slices a conv's bias (fine for the lab's bias-free convs only)
# replaces: channel_prune
# loses: q7
# feedback: small VGG with conv biases | does not load into a VGG
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
            conv.out_channels = n
            bn.weight = reindexed(bn.weight, keep, dim=0)
            bn.bias = reindexed(bn.bias, keep, dim=0)
            bn.running_mean = bn.running_mean[keep]
            bn.running_var = bn.running_var[keep]
            bn.num_features = n
            next_conv.weight = reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = n
    return model
