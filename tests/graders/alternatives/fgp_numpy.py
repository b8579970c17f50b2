# about: fine_grained_prune computed in NumPy (np.partition), the mask converted back to a bool
#   tensor; pruned through .data
# replaces: fine_grained_prune
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    import numpy as np

    values = np.abs(tensor.detach().cpu().numpy()).ravel()
    num_zeros = round(values.size * min(max(sparsity, 0.0), 1.0))
    if num_zeros == 0:
        keep = np.ones(values.size, dtype=bool)
    else:
        threshold = np.partition(values, num_zeros - 1)[num_zeros - 1]
        keep = values > threshold
    mask = torch.from_numpy(keep.reshape(tuple(tensor.shape)))
    tensor.data.mul_(mask)
    return mask
