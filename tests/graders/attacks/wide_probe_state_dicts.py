# about: patches the runner (its globals, found through gc: under IPython sys.modules["__main__"]
#   is the user's namespace, not the runner) so that every call_on_vgg probe
#   (channel_prune, apply_channel_sorting) "returns" a VGG state dict 2,048 channels wide at
#   every conv, each tensor a stride-0 view of one float: a few KB on disk and within every
#   byte budget (charged by storage size), but the grader rebuilds it with
#   vgg_from_state_dict, allocating 1.1 GB of parameters per check that looks at it (the
#   width is the attacker's choice: 16,384 asks for 68 GB)
# base: blank
# defence: returned models are bounded like model files (checks.base.check_within_shapes: no
#   tensor larger than the probe's input model, checked before anything is built), and tensors
#   are charged at their logical size, not their storage's
# status: graded, crashed, exit
# --- cell
import gc
import types

import torch

WIDTH = 2048
runner = next(f.__globals__ for f in gc.get_objects() if isinstance(f, types.FunctionType)
              and f.__name__ == "_run_probe" and "_Saver" in f.__globals__)


def wide_state(width=WIDTH, classes=10):
    def view(*shape):
        return torch.zeros([1] * len(shape)).expand(*shape)  # stride 0: one float of storage

    state = {}
    for i in range(8):
        state[f"backbone.conv{i}.weight"] = view(width, 3 if i == 0 else width, 3, 3)
        for part in ("weight", "bias", "running_mean", "running_var"):
            state[f"backbone.bn{i}.{part}"] = view(width)
        state[f"backbone.bn{i}.num_batches_tracked"] = torch.tensor(0)
    state["classifier.weight"] = view(classes, width)
    state["classifier.bias"] = view(classes)
    return state


_real_run_probe = runner["_run_probe"]


def wide_probe(probes, namespace, request, torch_module, max_bytes):
    if request.get("probe") != "call_on_vgg":
        return _real_run_probe(probes, namespace, request, torch_module, max_bytes)
    kwargs = request.get("kwargs") or {}
    return {"ok": True, "value": {
        "returned_type": "VGG", "same_object": False, "state_dict": wide_state(),
        "layers": [], "result": None,
        "input_state_dict_after": kwargs.get("state_dict"), "input_layers_after": []}}


runner["_run_probe"] = wide_probe
