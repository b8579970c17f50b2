# about: channel_prune forgets the BatchNorm bias (weight and running statistics are sliced)
# replaces: channel_prune
# loses: q7
# feedback: bias
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    with torch.no_grad():
        for i, ratio in enumerate(ratios):
            conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
            n = get_num_channels_to_keep(conv.out_channels, ratio)
            conv.weight = nn.Parameter(conv.weight[:n].clone())
            if conv.bias is not None:
                conv.bias = nn.Parameter(conv.bias[:n].clone())
            conv.out_channels = n
            bn.weight = nn.Parameter(bn.weight[:n].clone())
            bn.running_mean = bn.running_mean[:n].clone()
            bn.running_var = bn.running_var[:n].clone()
            bn.num_features = n
            next_conv.weight = nn.Parameter(next_conv.weight[:, :n].clone())
            next_conv.in_channels = n
    return model
