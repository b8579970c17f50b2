# about: get_model_sparsity counts the state dict (BatchNorm running statistics included)
# replaces: get_model_sparsity
# loses: q1
# feedback: buffers
def get_model_sparsity(model: nn.Module) -> float:
    tensors = [t for t in model.state_dict().values() if t.is_floating_point()]
    zeros = sum(t.numel() - int(t.count_nonzero()) for t in tensors)
    return zeros / sum(t.numel() for t in tensors)
