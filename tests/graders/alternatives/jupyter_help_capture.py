# about: help syntax left in answer cells (get_model_sparsity?, torch.count_nonzero??), a
#   FineGrainedPruner cell that starts with %%capture out, a print() inside fine_grained_prune on
#   every call, and an `if __name__ == "__main__":` self-test block in the q8 cell
# --- replace: get_model_sparsity
def get_model_sparsity(model: nn.Module) -> float:
    zeros = sum(int((p == 0).sum()) for p in model.parameters())
    total = sum(p.numel() for p in model.parameters())
    return zeros / total if total else 0.0

get_model_sparsity?
torch.count_nonzero??
# --- replace: fine_grained_prune
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    print(f"pruning a tensor of shape {tuple(tensor.shape)} at sparsity {sparsity}")
    sparsity = min(max(sparsity, 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    importance = tensor.detach().abs()
    threshold = torch.kthvalue(importance.reshape(-1), num_zeros).values
    mask = importance > threshold
    with torch.no_grad():
        tensor *= mask
    return mask
# --- replace: FineGrainedPruner
%%capture out
class FineGrainedPruner:
    def __init__(self, model, sparsity_dict):
        self.masks = FineGrainedPruner.prune(model, sparsity_dict)

    @torch.no_grad()
    def apply(self, model):
        params = dict(model.named_parameters())
        for name, mask in self.masks.items():
            params[name].mul_(mask)

    @staticmethod
    @torch.no_grad()
    def prune(model, sparsity_dict):
        params = dict(model.named_parameters())
        for name in sparsity_dict:
            if name not in params:
                raise KeyError(name)
        return {name: fine_grained_prune(params[name], s) for name, s in sparsity_dict.items()}

print("pruner defined")
# --- replace: apply_channel_sorting
def apply_channel_sorting(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    convs, bns = get_convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            importance = get_input_channel_importance(next_conv.weight)
            order = torch.argsort(importance, descending=True, stable=True)
            reindex_out_channels(prev_conv, prev_bn, order)
            next_conv.weight = reindexed(next_conv.weight, order, dim=1)
    return model

if __name__ == "__main__":
    from prunekit.model import VGG
    toy = VGG(width=0.125).eval()
    x = torch.rand(2, 3, 32, 32)
    print("same outputs:", torch.allclose(toy(x), apply_channel_sorting(toy)(x), atol=1e-5))
