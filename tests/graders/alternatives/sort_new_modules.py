# about: apply_channel_sorting that builds new nn.Conv2d / nn.BatchNorm2d modules (index_select)
#   and puts them into the backbone in place of the old ones
# replaces: apply_channel_sorting
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    names = [name for name, m in model.backbone.named_children() if isinstance(m, nn.Conv2d)]
    bn_names = [name for name, m in model.backbone.named_children()
                if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for i in range(len(names) - 1):
            conv = getattr(model.backbone, names[i])
            bn = getattr(model.backbone, bn_names[i])
            nxt = getattr(model.backbone, names[i + 1])
            order = get_input_channel_importance(nxt.weight).argsort(descending=True)
            new_conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                                 conv.stride, conv.padding, bias=conv.bias is not None)
            new_conv.weight.copy_(conv.weight.index_select(0, order))
            if conv.bias is not None:
                new_conv.bias.copy_(conv.bias.index_select(0, order))
            new_bn = nn.BatchNorm2d(bn.num_features, eps=bn.eps, momentum=bn.momentum)
            new_bn.weight.copy_(bn.weight.index_select(0, order))
            new_bn.bias.copy_(bn.bias.index_select(0, order))
            new_bn.running_mean.copy_(bn.running_mean.index_select(0, order))
            new_bn.running_var.copy_(bn.running_var.index_select(0, order))
            new_bn.num_batches_tracked.copy_(bn.num_batches_tracked)
            new_next = nn.Conv2d(nxt.in_channels, nxt.out_channels, nxt.kernel_size, nxt.stride,
                                 nxt.padding, bias=nxt.bias is not None)
            new_next.weight.copy_(nxt.weight.index_select(1, order))
            if nxt.bias is not None:
                new_next.bias.copy_(nxt.bias)
            setattr(model.backbone, names[i], new_conv)
            setattr(model.backbone, bn_names[i], new_bn)
            setattr(model.backbone, names[i + 1], new_next)
    return model.eval()
