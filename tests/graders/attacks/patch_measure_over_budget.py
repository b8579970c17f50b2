# about: on top of a sparsity_dict over the 25% budget (mutant sparsity_dict_over_25), patches
#   what the notebook and its tests measure with (prunekit.measure, prunekit.submission's
#   targets, Tensor.count_nonzero / numel) so that the model looks small enough
# base: mutant:sparsity_dict_over_25
# defence: the size is measured in the grader's process from the dict and the file
# --- cell
import prunekit.measure
import prunekit.submission
import torch

prunekit.submission.MAX_SIZE_FRACTION = 1.0
prunekit.measure.count_macs = lambda model, *args, **kwargs: 1
prunekit.measure.bits_to_mib = lambda bits: 0.0
torch.Tensor.count_nonzero = lambda self, *args, **kwargs: torch.tensor(0)
_real_numel = torch.Tensor.numel
torch.Tensor.numel = lambda self: 10**9
