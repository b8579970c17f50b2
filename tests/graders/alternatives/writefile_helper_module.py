# about: a helper module written with %%writefile (a cell of the notebook) and imported inside the
#   q1 functions when they are called: works in Jupyter (the file lands in the notebook's folder,
#   which is on the kernel's sys.path)
# --- replace: get_sparsity
def get_sparsity(tensor: torch.Tensor) -> float:
    from prune_utils import count_zeros
    return count_zeros(tensor) / tensor.numel()
# --- replace: get_model_sparsity
def get_model_sparsity(model: nn.Module) -> float:
    from prune_utils import count_zeros
    params = list(model.parameters())
    return sum(count_zeros(p) for p in params) / sum(p.numel() for p in params)
# --- cell
%%writefile prune_utils.py
def count_zeros(tensor):
    """Number of exactly-zero entries of a tensor, as a Python int."""
    return int((tensor == 0).sum())
