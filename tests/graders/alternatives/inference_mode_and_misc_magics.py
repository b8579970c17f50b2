# about: fine_grained_prune decorated with @torch.inference_mode(); %env and %cd line magics and
#   an %%html cell; get_num_channels_to_keep via numpy (np.round, banker's too) cast to int
# --- replace: fine_grained_prune
@torch.inference_mode()
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    importance = tensor.abs()
    threshold = importance.flatten().kthvalue(num_zeros).values
    mask = importance > threshold
    tensor.mul_(mask)
    return mask
# --- replace: get_num_channels_to_keep
%env OMP_NUM_THREADS=1
%cd .
import numpy as np

def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return int(np.round(channels * (1 - prune_ratio)))
# --- cell
%%html
<b>Channel pruning done</b>
