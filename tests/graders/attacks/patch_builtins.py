# about: patches builtins (isinstance, abs, round, float, int, len) and returns objects that
#   claim to equal anything (a float subclass with __eq__ always True)
# base: blank
# defence: the checks run in the grader's process, not the student's
# status: graded, crashed
# --- cell
import builtins

import torch


class Anything(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False

    def __sub__(self, other):
        return Anything(0.0)

    __rsub__ = __sub__

    def __abs__(self):
        return Anything(0.0)

    __hash__ = float.__hash__


_isinstance, _abs = builtins.isinstance, builtins.abs
builtins.isinstance = lambda obj, kind: True
builtins.abs = lambda x: Anything(0.0)
builtins.round = lambda x, *args: Anything(0.0)
builtins.len = lambda x: 0


def get_sparsity(tensor):
    return Anything(0.25)


def get_model_sparsity(model):
    return Anything(0.25)


def get_num_parameters(model, count_nonzero_only=False):
    return Anything(7)


def get_model_size(model, data_width=32, count_nonzero_only=False):
    return Anything(7)


def get_num_channels_to_keep(channels, prune_ratio):
    return Anything(3)


target_sparsity = Anything(0.5)
