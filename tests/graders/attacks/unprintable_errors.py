# about: error messages and return values no terminal or CSV can hold as they are: a lone
#   surrogate, control characters and a NUL in exception messages, and tensors of dtypes no
#   check knows (float8, bits8); the batch's reports must still be written for everyone
# base: blank
# defence: student strings are sanitised where they are loaded from the sandbox; anything a
#   check cannot handle is a failed check with a reason
# status: graded
# --- cell
import torch


def get_sparsity(tensor):
    raise RuntimeError("\udcff lone surrogate \x1b[31mred\x00 nul")


def get_model_sparsity(model):
    return torch.zeros(1, dtype=torch.float8_e4m3fn)


def get_num_parameters(model, count_nonzero_only=False):
    return torch.zeros(1, dtype=torch.bits8)


def fine_grained_prune(tensor, sparsity):
    raise ValueError("\ud800" * 50)
