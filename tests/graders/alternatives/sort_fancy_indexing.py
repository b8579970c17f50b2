# about: apply_channel_sorting with torch.sort's indices and fancy indexing, copied in place
#   into the existing parameters and buffers
# replaces: apply_channel_sorting
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.backbone if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for i in range(len(convs) - 1):
            _, order = torch.sort(get_input_channel_importance(convs[i + 1].weight),
                                  descending=True)
            convs[i].weight.copy_(convs[i].weight[order])
            if convs[i].bias is not None:
                convs[i].bias.copy_(convs[i].bias[order])
            for tensor in (bns[i].weight, bns[i].bias, bns[i].running_mean, bns[i].running_var):
                tensor.copy_(tensor[order])
            convs[i + 1].weight.copy_(convs[i + 1].weight[:, order])
    return model
