# about: FineGrainedPruner prunes only the convs of sparsity_dict and skips the classifier's
#   weight (whichever parameters a grading draws, every listed one must be pruned)
# replaces: FineGrainedPruner.__init__
# loses: q5
# feedback: classifier.weight
def __init__(self, model: nn.Module, sparsity_dict: dict[str, float]):
    self.masks = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in sparsity_dict and not name.startswith("classifier"):
                self.masks[name] = fine_grained_prune(param, sparsity_dict[name])
