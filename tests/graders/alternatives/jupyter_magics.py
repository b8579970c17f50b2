# about: Jupyter-isms: %time line magic, display() and print after the q2 definitions; %%time as
#   the first line of the fine_grained_prune cell; %load_ext autoreload / %autoreload 2 and a
#   !nvidia-smi shell line above get_num_channels_to_keep; %matplotlib inline and a plt.show()
#   after the q8 definitions; a cell installing with %pip and one importing an unavailable package
# --- replace: get_model_size
def get_model_size(model: nn.Module, data_width: int = 32, count_nonzero_only: bool = False) -> int:
    return get_num_parameters(model, count_nonzero_only) * data_width

%time n_params = get_num_parameters(nn.Linear(3, 4))
print(n_params)
display(n_params)
# --- replace: fine_grained_prune
%%time
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.flatten().kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask

demo = torch.randn(4, 4)
fine_grained_prune(demo, 0.5)
# --- replace: get_num_channels_to_keep
%load_ext autoreload
%autoreload 2
!nvidia-smi
def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    return int(round(channels * (1 - prune_ratio)))
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

%matplotlib inline
import matplotlib.pyplot as plt
plt.bar(range(4), get_input_channel_importance(torch.randn(2, 4, 3, 3)).numpy())
plt.title("importance of a random conv")
plt.show()
# --- cell
%pip install torch-pruning
!ls -la
# --- cell
import seaborn as sns
sns.set_theme()
