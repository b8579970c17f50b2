# about: apply_channel_sorting indexes the channels with the sorted importance values
#   (sort(...).values) instead of their indices (argsort), so it repeats some channels and
#   drops others; every tensor is indexed alike, running statistics included
# replaces: apply_channel_sorting
# loses: q8
# feedback: argsort
# lacks: running statistics
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            importance = get_input_channel_importance(next_conv.weight)
            order = importance.sort(descending=True).values.long()
            reindex_out_channels(prev_conv, prev_bn, order)
            next_conv.weight = reindexed(next_conv.weight, order, dim=1)
    return model
