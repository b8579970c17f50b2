# about: get_model_sparsity by concatenating every flattened parameter and reusing get_sparsity;
#   get_sparsity with (tensor == 0).sum()
# replaces: get_sparsity, get_model_sparsity
# --- replace: get_sparsity
def get_sparsity(tensor: torch.Tensor) -> float:
    return (tensor == 0).sum().item() / tensor.numel()
# --- replace: get_model_sparsity
def get_model_sparsity(model: nn.Module) -> float:
    return get_sparsity(torch.cat([p.detach().flatten() for p in model.parameters()]))
