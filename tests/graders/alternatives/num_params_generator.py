# about: get_num_parameters as one sum over a generator, non-zeros counted with (p != 0).sum();
#   get_model_size without the helper
# --- replace: get_num_parameters
def get_num_parameters(model: nn.Module, count_nonzero_only: bool = False) -> int:
    if count_nonzero_only:
        return int(sum((p != 0).sum().item() for p in model.parameters()))
    return sum(p.numel() for p in model.parameters())
# --- replace: get_model_size
def get_model_size(model: nn.Module, data_width: int = 32, count_nonzero_only: bool = False) -> int:
    count = 0
    for p in model.parameters():
        count += int(torch.count_nonzero(p)) if count_nonzero_only else p.numel()
    return count * data_width
