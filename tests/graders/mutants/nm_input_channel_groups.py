# about: nm_prune groups m consecutive input channels at each kernel position (the layout of
#   NVIDIA's own 2:4 tools), not the row's entries in memory order as the prompt says
# replaces: nm_prune
# loses: q10
# feedback: consecutive input channels at each kernel position
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    if not 0 <= n <= m or (tensor.numel() // tensor.shape[0]) % m:
        raise ValueError(f"cannot prune {tuple(tensor.shape)} at {n}:{m}")
    layout = tensor.detach().permute(0, 2, 3, 1) if tensor.dim() == 4 else tensor.detach()
    groups = layout.abs().contiguous().reshape(-1, m)
    kept = groups.sort(dim=1, descending=True, stable=True).indices[:, :n]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, kept, True)
    mask = mask.reshape(layout.shape)
    if tensor.dim() == 4:
        mask = mask.permute(0, 3, 1, 2)
    with torch.no_grad():
        tensor.mul_(mask)
    return mask
