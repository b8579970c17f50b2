# about: apply_channel_sorting sorts the model it is given instead of a copy
# replaces: apply_channel_sorting
# loses: q8
# feedback: returned the model it was given
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            importance = get_input_channel_importance(next_conv.weight)
            order = torch.argsort(importance, descending=True)
            reindex_out_channels(prev_conv, prev_bn, order)
            next_conv.weight = reindexed(next_conv.weight, order, dim=1)
    return model
