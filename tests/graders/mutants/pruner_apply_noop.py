# about: FineGrainedPruner.apply does nothing (pruned weights grow back while fine-tuning)
# replaces: FineGrainedPruner.apply
# loses: q5
# feedback: non-zero again
def apply(self, model: nn.Module) -> None:
    pass
