# about: FineGrainedPruner.__init__ computes the masks on copies and does not prune the model
# replaces: FineGrainedPruner.__init__
# loses: q5
# feedback: right after construction
def __init__(self, model: nn.Module, sparsity_dict: dict[str, float]):
    params = dict(model.named_parameters())
    self.masks = {name: fine_grained_prune(params[name].detach().clone(), sparsity)
                  for name, sparsity in sparsity_dict.items()}
