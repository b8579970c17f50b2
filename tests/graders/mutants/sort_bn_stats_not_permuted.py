# about: apply_channel_sorting permutes BatchNorm weight and bias but not its running statistics
# replaces: apply_channel_sorting
# loses: q8
# feedback: running statistics
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            order = torch.argsort(get_input_channel_importance(next_conv.weight), descending=True)
            prev_conv.weight.copy_(prev_conv.weight[order])
            if prev_conv.bias is not None:
                prev_conv.bias.copy_(prev_conv.bias[order])
            prev_bn.weight.copy_(prev_bn.weight[order])
            prev_bn.bias.copy_(prev_bn.bias[order])
            next_conv.weight.copy_(next_conv.weight[:, order])
    return model
