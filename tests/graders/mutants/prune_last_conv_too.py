# about: channel_prune also prunes the last conv's outputs (and the classifier's inputs)
# replaces: channel_prune
# loses: q7
# feedback: conv output channels
def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    ratios = ratios + ratios[-1:]
    with torch.no_grad():
        for i, ratio in enumerate(ratios):
            conv, bn = convs[i], bns[i]
            n = get_num_channels_to_keep(conv.out_channels, ratio)
            keep = torch.arange(n)
            reindex_out_channels(conv, bn, keep)
            if i + 1 < len(convs):
                convs[i + 1].weight = reindexed(convs[i + 1].weight, keep, dim=1)
                convs[i + 1].in_channels = n
            else:
                model.classifier.weight = reindexed(model.classifier.weight, keep, dim=1)
                model.classifier.in_features = n
    return model
