# about: FineGrainedPruner written without the static helper: masks from named_parameters,
#   apply with masked_fill_ on .data
# replaces: FineGrainedPruner
class FineGrainedPruner:
    def __init__(self, model, sparsity_dict):
        self.masks = {}
        for name, param in model.named_parameters():
            if name in sparsity_dict:
                self.masks[name] = fine_grained_prune(param.data, sparsity_dict[name])

    def apply(self, model):
        for name, param in model.named_parameters():
            if name in self.masks:
                param.data.masked_fill_(~self.masks[name], 0)
