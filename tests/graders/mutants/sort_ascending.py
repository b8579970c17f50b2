# about: apply_channel_sorting sorts the channels in ascending order of importance
# replaces: apply_channel_sorting
# loses: q8
# feedback: ascending
# lacks: running statistics
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            importance = get_input_channel_importance(next_conv.weight)
            order = torch.argsort(importance)
            reindex_out_channels(prev_conv, prev_bn, order)
            next_conv.weight = reindexed(next_conv.weight, order, dim=1)
    return model
