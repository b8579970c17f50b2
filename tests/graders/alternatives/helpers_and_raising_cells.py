# about: a helper (_abs_flat) defined in the q1 cell and used by fine_grained_prune in another
#   cell; the q3 cell raises NameError after its definition (a leftover debug line); the q2 cell
#   ends with a wrong assert (AssertionError after the definitions); channel_prune uses a BN
#   slicing helper defined in a scratch cell at the end of the notebook; a tqdm loop in it
# --- replace: get_sparsity
def _abs_flat(t):
    return t.detach().abs().flatten()

def get_sparsity(tensor: torch.Tensor) -> float:
    return 1.0 - float(torch.count_nonzero(tensor)) / tensor.numel()
# --- replace: get_model_size
def get_model_size(model: nn.Module, data_width: int = 32, count_nonzero_only: bool = False) -> int:
    return data_width * get_num_parameters(model, count_nonzero_only=count_nonzero_only)

assert get_model_size(nn.Linear(2, 2)) == 6 * 8, "size in bytes?"
# --- replace: fine_grained_prune
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(1.0, max(0.0, sparsity))
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    threshold = torch.kthvalue(_abs_flat(tensor), num_zeros).values
    mask = tensor.detach().abs() > threshold
    with torch.no_grad():
        tensor.mul_(mask)
    return mask

demo = torch.randn(4, 4)
m = fine_grained_prune(demo, 0.5)
print(mask.sum())
# --- replace: channel_prune
from tqdm import tqdm

def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    ratios = ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    with torch.no_grad():
        for i in tqdm(range(len(ratios)), desc="boundaries"):
            n = get_num_channels_to_keep(convs[i].out_channels, ratios[i])
            if n < 1:
                raise ValueError("keeps no channel")
            convs[i].weight = nn.Parameter(convs[i].weight.detach()[:n].clone())
            if convs[i].bias is not None:
                convs[i].bias = nn.Parameter(convs[i].bias.detach()[:n].clone())
            convs[i].out_channels = n
            slice_bn(bns[i], n)
            convs[i + 1].weight = nn.Parameter(convs[i + 1].weight.detach()[:, :n].clone())
            convs[i + 1].in_channels = n
    return model
# --- cell
# scratch: helpers
def slice_bn(bn, n):
    bn.weight = nn.Parameter(bn.weight.detach()[:n].clone())
    bn.bias = nn.Parameter(bn.bias.detach()[:n].clone())
    bn.running_mean = bn.running_mean[:n].clone()
    bn.running_var = bn.running_var[:n].clone()
    bn.num_features = n
