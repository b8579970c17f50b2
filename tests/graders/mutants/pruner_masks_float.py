# about: FineGrainedPruner keeps its masks as float tensors
# replaces: FineGrainedPruner.__init__
# loses: q5
# feedback: keep-masks are torch.bool
def __init__(self, model: nn.Module, sparsity_dict: dict[str, float]):
    masks = FineGrainedPruner.prune(model, sparsity_dict)
    self.masks = {name: mask.float() for name, mask in masks.items()}
