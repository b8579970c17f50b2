# about: "implementations" that do nothing: sparsity 0, counts 0, an all-keep mask without
#   pruning, a pruner with all-keep masks, importance 1, identity sorting and pruning (deep
#   copies), every channel kept; each passes the properties that a no-op satisfies trivially
# base: blank
# defence: value checks; properties a no-op satisfies trivially count only once the function
#   works
# --- cell
import copy

import torch


def get_sparsity(tensor):
    return 0.0


def get_model_sparsity(model):
    return 0.0


def get_num_parameters(model, count_nonzero_only=False):
    return 0


def get_model_size(model, data_width=32, count_nonzero_only=False):
    return 0


def fine_grained_prune(tensor, sparsity):
    return torch.ones_like(tensor, dtype=torch.bool)


class FineGrainedPruner:
    def __init__(self, model, sparsity_dict):
        params = dict(model.named_parameters())
        self.masks = {name: fine_grained_prune(params[name], s) for name, s in sparsity_dict.items()}

    def apply(self, model):
        pass


def get_input_channel_importance(weight):
    return torch.ones(weight.shape[1])


def apply_channel_sorting(model):
    return copy.deepcopy(model)


def get_num_channels_to_keep(channels, prune_ratio):
    return channels


def channel_prune(model, prune_ratio):
    return copy.deepcopy(model)
