# about: channel_prune that builds new, smaller nn.Conv2d / nn.BatchNorm2d modules and swaps them
#   into the backbone (fancy indexing with an index tensor)
# replaces: channel_prune
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    backbone = model.backbone
    conv_names = [n for n, m in backbone.named_children() if isinstance(m, nn.Conv2d)]
    bn_names = [n for n, m in backbone.named_children() if isinstance(m, nn.BatchNorm2d)]
    count = len(conv_names) - 1
    ratios = [prune_ratio] * count if isinstance(prune_ratio, numbers.Real) else list(prune_ratio)
    if len(ratios) != count:
        raise ValueError(f"{len(ratios)} ratios for {count} boundaries")
    with torch.no_grad():
        for i, ratio in enumerate(ratios):
            conv, bn = getattr(backbone, conv_names[i]), getattr(backbone, bn_names[i])
            nxt = getattr(backbone, conv_names[i + 1])
            keep = torch.arange(get_num_channels_to_keep(conv.out_channels, ratio))
            new_conv = nn.Conv2d(conv.in_channels, len(keep), conv.kernel_size, conv.stride,
                                 conv.padding, bias=conv.bias is not None)
            new_conv.weight.copy_(conv.weight[keep])
            if conv.bias is not None:
                new_conv.bias.copy_(conv.bias[keep])
            new_bn = nn.BatchNorm2d(len(keep), eps=bn.eps, momentum=bn.momentum)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_bn, name).copy_(getattr(bn, name)[keep])
            new_next = nn.Conv2d(len(keep), nxt.out_channels, nxt.kernel_size, nxt.stride,
                                 nxt.padding, bias=nxt.bias is not None)
            new_next.weight.copy_(nxt.weight[:, keep])
            if nxt.bias is not None:
                new_next.bias.copy_(nxt.bias)
            setattr(backbone, conv_names[i], new_conv)
            setattr(backbone, bn_names[i], new_bn)
            setattr(backbone, conv_names[i + 1], new_next)
    return model
