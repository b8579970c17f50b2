# about: channel_prune slices the tensors in place through .data but leaves in_channels /
#   out_channels / num_features stale
# replaces: channel_prune
# loses: q7
# feedback: out_channels =
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    for i, ratio in enumerate(ratios):
        conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
        n = get_num_channels_to_keep(conv.out_channels, ratio)
        conv.weight.data = conv.weight.data[:n]
        if conv.bias is not None:
            conv.bias.data = conv.bias.data[:n]
        bn.weight.data = bn.weight.data[:n]
        bn.bias.data = bn.bias.data[:n]
        bn.running_mean.data = bn.running_mean.data[:n]
        bn.running_var.data = bn.running_var.data[:n]
        next_conv.weight.data = next_conv.weight.data[:, :n]
    return model
