# about: FineGrainedPruner.apply pairs the masks with the model's weights by position (zip over
#   the multi-dimensional parameters and masks.values()), not by name: right only while
#   sparsity_dict lists every weight in the model's order
# replaces: FineGrainedPruner.apply
# loses: q5
# feedback: by name
def apply(self, model: nn.Module) -> None:
    weights = [param for param in model.parameters() if param.dim() > 1]
    with torch.no_grad():
        for param, mask in zip(weights, self.masks.values()):
            param.mul_(mask)
