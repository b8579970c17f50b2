# about: FineGrainedPruner.apply prunes again by magnitude after every step instead of
#   re-applying the masks (the pruned set drifts)
# replaces: FineGrainedPruner.apply
# loses: q5
# feedback: after 3 SGD steps
def apply(self, model: nn.Module) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in self.masks.items():
            sparsity = 1.0 - float(mask.float().mean())
            fine_grained_prune(params[name], sparsity)
