# about: FineGrainedPruner builds a mask for every parameter (sparsity 0 where unlisted)
# replaces: FineGrainedPruner.__init__
# loses: q5
# feedback: not in sparsity_dict
def __init__(self, model: nn.Module, sparsity_dict: dict[str, float]):
    self.masks = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            self.masks[name] = fine_grained_prune(param, sparsity_dict.get(name, 0.0))
