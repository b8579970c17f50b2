# about: channel_prune slicing .data in place (plain slices, no index tensors) and updating
#   every size attribute; get_num_channels_to_keep with round() alone
# --- replace: get_num_channels_to_keep
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return round(channels * (1 - prune_ratio))
# --- replace: channel_prune
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.backbone if isinstance(m, nn.BatchNorm2d)]
    if isinstance(prune_ratio, (list, tuple)):
        if len(prune_ratio) != len(convs) - 1:
            raise ValueError("need one ratio per conv-to-conv boundary")
        ratios = list(prune_ratio)
    else:
        ratios = [prune_ratio] * (len(convs) - 1)
    for conv, bn, nxt, ratio in zip(convs, bns, convs[1:], ratios):
        n = get_num_channels_to_keep(conv.out_channels, ratio)
        conv.weight.data = conv.weight.data[:n].clone()
        if conv.bias is not None:
            conv.bias.data = conv.bias.data[:n].clone()
        conv.out_channels = n
        for tensor in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
            tensor.data = tensor.data[:n].clone()
        bn.num_features = n
        nxt.weight.data = nxt.weight.data[:, :n].clone()
        nxt.in_channels = n
    return model
