# about: get_model_sparsity averages the per-tensor sparsities instead of counting over all
#   parameters together
# replaces: get_model_sparsity
# loses: q1
# feedback: get_model_sparsity(a small VGG | expected
def get_model_sparsity(model: nn.Module) -> float:
    sparsities = [get_sparsity(param) for param in model.parameters()]
    return sum(sparsities) / len(sparsities)
