# about: sorting by fancy indexing into new nn.Parameters and reassigned buffers; importance as
#   weight.pow(2).sum(dim=(0, 2, 3)).sqrt(); order from argsort(-importance, stable=True)
# --- replace: get_input_channel_importance
def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().pow(2).sum(dim=(0, 2, 3)).sqrt()
# --- replace: apply_channel_sorting
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    layers = list(model.backbone.children())
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    bns = [m for m in layers if isinstance(m, nn.BatchNorm2d)]
    for prev_conv, prev_bn, next_conv in zip(convs, bns, convs[1:]):
        order = torch.argsort(-get_input_channel_importance(next_conv.weight), stable=True)
        prev_conv.weight = nn.Parameter(prev_conv.weight.detach()[order].clone())
        if prev_conv.bias is not None:
            prev_conv.bias = nn.Parameter(prev_conv.bias.detach()[order].clone())
        prev_bn.weight = nn.Parameter(prev_bn.weight.detach()[order].clone())
        prev_bn.bias = nn.Parameter(prev_bn.bias.detach()[order].clone())
        prev_bn.running_mean = prev_bn.running_mean[order].clone()
        prev_bn.running_var = prev_bn.running_var[order].clone()
        next_conv.weight = nn.Parameter(next_conv.weight.detach()[:, order].clone())
    return model
