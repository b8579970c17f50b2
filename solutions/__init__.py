"""Reference implementation of every function the students write (instructor only).

Names and semantics follow the MIT 6.5940 Lab 1 and the contract in DESIGN.md ("The student
API"). Layout:

- ``sparsity``: sparsity, parameter counts and model size (bits);
- ``fine_grained``: magnitude masking of single tensors and of a model (``FineGrainedPruner``);
- ``channel``: channel importance, channel sorting and channel pruning (layer surgery);
- ``semi_structured``: N:M sparsity (``nm_prune``), the optional bonus question.
"""
from .channel import (apply_channel_sorting, channel_prune, get_input_channel_importance,
                      get_num_channels_to_keep)
from .fine_grained import FineGrainedPruner, fine_grained_prune
from .semi_structured import nm_prune
from .sparsity import get_model_size, get_model_sparsity, get_num_parameters, get_sparsity

__all__ = [
    "get_sparsity", "get_model_sparsity", "get_num_parameters", "get_model_size",
    "fine_grained_prune", "FineGrainedPruner",
    "get_input_channel_importance", "apply_channel_sorting", "get_num_channels_to_keep",
    "channel_prune", "nm_prune",
]
