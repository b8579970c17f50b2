# about: apply_channel_sorting ranks channels by the previous conv's output-channel norms
#   instead of the next conv's input-channel importance
# replaces: apply_channel_sorting
# loses: q8
# feedback: descending order
# lacks: running statistics
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            importance = prev_conv.weight.detach().reshape(prev_conv.out_channels, -1).norm(dim=1)
            order = torch.argsort(importance, descending=True)
            reindex_out_channels(prev_conv, prev_bn, order)
            next_conv.weight = reindexed(next_conv.weight, order, dim=1)
    return model
