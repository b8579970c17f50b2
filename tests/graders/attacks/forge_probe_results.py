# about: patches the sandbox runner in its own process (its globals, found through gc: under
#   IPython sys.modules["__main__"] is the user's namespace, not the runner): every probe
#   "returns" a forged record (plain values of the right types, the input model handed back
#   as the "pruned" one) and the error path is silenced
# base: blank
# defence: forged records are plain values judged against the reference; trivial properties
#   need working functions
# --- cell
import gc
import types

import torch

runner = next(f.__globals__ for f in gc.get_objects() if isinstance(f, types.FunctionType)
              and f.__name__ == "_run_probe" and "_Saver" in f.__globals__)


def forged(probes, namespace, request, torch_module, max_bytes):
    kwargs = request.get("kwargs") or {}
    args = kwargs.get("args") or []
    value = {"result": 0.5, "args_after": list(args), "kwargs_after": {}, "type": "float",
             "value": "forged", "returned_type": "VGG", "same_object": False,
             "state_dict": kwargs.get("state_dict"), "layers": [],
             "input_state_dict_after": kwargs.get("state_dict"), "input_layers_after": [],
             "masks": {}, "own_masks": {}, "own_in_place": {}, "apply_error": None,
             "pruned_state": kwargs.get("state_dict"), "final_state": kwargs.get("state_dict")}
    if args and isinstance(args[0], torch.Tensor):
        value["result"] = torch.ones_like(args[0], dtype=torch.bool)
    return {"ok": True, "value": value}


runner["_run_probe"] = forged
runner["describe_error"] = lambda error, prefix="": {"type": "X", "message": "", "where": "",
                                                       "memory": False}
