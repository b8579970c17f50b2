# about: injects fake autograder, autograder.checks, solutions and prunekit.measure modules into
#   sys.modules (a judge that passes everything, a "reference" that returns what the student
#   returns) and monkeypatches prunekit.measure / prunekit.model
# base: blank
# defence: the checks and the reference run in the grader's process, which imports nothing
#   from the sandbox
# --- cell
import sys
import types

import torch

import prunekit.measure
import prunekit.model

for name in ("autograder", "autograder.checks", "autograder.core.grade", "autograder.checks.base",
             "solutions", "solutions.sparsity"):
    module = types.ModuleType(name)
    module.judge_plan = lambda *args, **kwargs: ([], [])
    module.grade_submission = lambda *args, **kwargs: {"score": 26}
    module.get_sparsity = lambda tensor: 0.5
    module.get_num_parameters = lambda *args, **kwargs: 1  # what the grader counts with
    sys.modules[name] = module
prunekit.measure.count_macs = lambda *args, **kwargs: 1
prunekit.measure.compare_latency = lambda *args, **kwargs: None
_original_vgg = prunekit.model.vgg_from_state_dict


def vgg_from_state_dict(state_dict):
    model = _original_vgg(state_dict)
    model.load_state_dict = lambda *args, **kwargs: None
    return model


prunekit.model.vgg_from_state_dict = vgg_from_state_dict


def get_sparsity(tensor):
    return 0.5


def channel_prune(model, prune_ratio):
    return model
