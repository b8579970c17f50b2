# about: nm_prune in NumPy: a stable argsort of the negated magnitudes per group, the mask
#   made with put_along_axis and brought back with torch.from_numpy
# replaces: nm_prune
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    import numpy as np

    row_length = tensor.numel() // tensor.shape[0]
    if not (isinstance(n, int) and isinstance(m, int) and 0 <= n <= m and m > 0):
        raise ValueError(f"invalid pattern {n}:{m}")
    if row_length % m:
        raise ValueError(f"{row_length} entries per row are not groups of {m}")
    groups = tensor.detach().cpu().numpy().reshape(-1, m)
    order = np.argsort(-np.abs(groups), axis=1, kind="stable")[:, :n]
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=1)
    mask = torch.from_numpy(keep.reshape(tuple(tensor.shape))).to(tensor.device)
    with torch.no_grad():
        tensor.mul_(mask)
    return mask
