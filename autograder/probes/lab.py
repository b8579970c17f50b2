"""Public probe scenarios: small functions that call a student's code on inputs the grader drew.

The sandbox copies this file into every sandbox folder as ``probes.py``
(``manifest.SANDBOX_PROBES``), and its runner (``autograder/sandbox/inside/runner.py``) calls one
probe per ``ProbeRequest``. A probe only calls the student's functions and reports what came back
(and what its inputs look like afterwards, so the grader can see in-place changes); it holds no
reference answers, thresholds or hidden checks, because it runs inside the student's process,
which can read it. The grader compares what comes back with its own reference, in its own process.

Every probe takes the student's namespace ``ns`` (the globals that the notebook's cells defined)
first, then the keyword arguments of the request. It may return anything: the runner converts the
result to plain data (tensors, dicts, lists, numbers, strings; an ``nn.Module`` becomes a tagged
state dict) before saving it. A probe must stay self-contained: the standard library, torch and the
public ``prunekit`` package only, never the grader.

The grader also imports this module in its own process: the Otter bridge runs the same probes on
the notebook's globals, and the grader replays ``sgd_steps`` to check ``FineGrainedPruner``.

Probes in this file:

- ``defined_names``, ``read_variable``: what the notebook defines (``target_sparsity``, ...);
- ``call_function``: a function on tensors or numbers, with its arguments after the call;
- ``call_on_vgg``: a function taking a VGG (sparsity, size, sorting, channel pruning), with the
  result's state dict and structure and the input model after the call;
- ``fine_grained_pruner_scenario``: ``FineGrainedPruner`` at construction and during a few SGD steps.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

MAX_ERROR_CHARS = 300  # error texts reported inside a probe's result


class ProbeError(Exception):
    """The notebook lacks what a probe needs (the message says what, in student terms)."""


# The notebook's own code (``provenance.Provenance``), set by the runner once the cells have run;
# None where these probes run outside a grading (a notebook's public checks).
PROVENANCE = None


def student_function(ns: Mapping[str, Any], name: str) -> Callable:
    """The student's function (or class) ``name``; ProbeError if it is missing, not callable,
    or not code the notebook contains (see ``provenance.py``)."""
    if name not in ns or ns.get(name) is None:
        raise ProbeError(f"{name} is not defined")
    value = ns[name]
    if not callable(value):
        raise ProbeError(f"{name} is a {type(value).__name__}, not a function")
    foreign = PROVENANCE.foreign(value) if PROVENANCE is not None else ""
    if foreign:
        raise ProbeError(f"{name} runs code that is not in the notebook ({foreign[:80]} was "
                         "made at run time, e.g. by exec of a received or decoded string): "
                         "only the notebook's own code earns points")
    return value


def defined_names(ns: Mapping[str, Any], names: Sequence[str]) -> dict[str, str | None]:
    """Which of ``names`` the notebook defines: name -> type name of the value, or None."""
    return {name: (type(ns[name]).__name__ if name in ns else None) for name in names}


def read_variable(ns: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The value of the notebook variable ``name`` (e.g. ``target_sparsity``, ``sparsity_dict``).

    Returns:
        ``{"type": type name, "value": a deep copy of the value}``; ProbeError if it is undefined.
    """
    if name not in ns:
        raise ProbeError(f"{name} is not defined")
    value = ns[name]
    try:
        value = copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - report the object itself if it cannot be copied
        pass
    return {"type": type(value).__name__, "value": value}


def call_function(ns: Mapping[str, Any], name: str, args: Sequence[Any] = (),
                  kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Call ``ns[name](*args, **kwargs)``.

    Returns:
        ``{"result": what it returned, "args_after": the positional arguments after the call,
        "kwargs_after": the keyword arguments after the call}``. The arguments are copied the
        moment the function returns (before anything touches its result), so a function that
        works in place (``fine_grained_prune`` prunes its tensor) shows it in ``args_after``,
        and a result that would change them only when used later does not.
    """
    function = student_function(ns, name)
    args = list(args)
    kwargs = dict(kwargs or {})
    result = function(*args, **kwargs)
    args_after, kwargs_after = _snapshot(args), _snapshot(kwargs)
    return {"result": result, "args_after": args_after, "kwargs_after": kwargs_after}


def _snapshot(value: Any) -> Any:
    """A copy of the grader's own arguments (tensors cloned, containers rebuilt)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(item) for item in value)
    return copy.deepcopy(value)


def call_on_vgg(ns: Mapping[str, Any], name: str, state_dict: Mapping[str, Any],
                args: Sequence[Any] = (),
                kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a VGG from ``state_dict`` (``prunekit.model.vgg_from_state_dict``, eval mode), call
    ``ns[name](model, *args, **kwargs)`` and describe what came back.

    Returns:
        ``{"returned_type": type name of the result, "same_object": whether the function returned
        its input model, "state_dict": the result's state dict if it is an nn.Module else None,
        "layers": the result's conv / BatchNorm / Linear attributes if it is an nn.Module else None
        (see ``layer_attributes``), "result": the result itself if it is not an nn.Module else
        None, "input_state_dict_after": the input model's state dict after the call,
        "input_layers_after": the input model's layer attributes after the call}``. The grader
        rebuilds models from the state dicts itself; ``input_state_dict_after`` shows whether a
        function that must return a copy changed its input; ``layers`` shows whether the module's
        ``in_channels`` / ``out_channels`` / ``num_features`` agree with its weights.
    """
    from prunekit.model import vgg_from_state_dict  # public; copied into the sandbox

    function = student_function(ns, name)
    model = vgg_from_state_dict(state_dict).eval()
    result = function(model, *list(args), **dict(kwargs or {}))
    # The input as the call left it, before anything touches the result.
    input_after = {k: v.detach().clone() for k, v in model.state_dict().items()}
    input_layers = layer_attributes(model)
    is_module = isinstance(result, nn.Module)
    return {
        "returned_type": type(result).__name__,
        "same_object": result is model,
        "state_dict": dict(result.state_dict()) if is_module else None,
        "layers": layer_attributes(result) if is_module else None,
        "result": None if is_module else result,
        "input_state_dict_after": input_after,
        "input_layers_after": input_layers,
    }


def layer_attributes(model: nn.Module) -> list[dict[str, Any]]:
    """Name, kind, size attributes and tensor shapes of every Conv2d, BatchNorm2d and Linear.

    Conv2d: ``in_channels``, ``out_channels``, ``weight_shape``, ``has_bias``; BatchNorm2d:
    ``num_features`` and the shapes of ``weight``, ``bias``, ``running_mean``, ``running_var``
    (None where absent); Linear: ``in_features``, ``out_features``, ``weight_shape``. Shapes are
    lists of ints; attributes a module lacks are None.
    """
    described = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            described.append({"name": name, "kind": "Conv2d",
                              "in_channels": _attribute(module, "in_channels"),
                              "out_channels": _attribute(module, "out_channels"),
                              "weight_shape": _shape(module, "weight"),
                              "has_bias": getattr(module, "bias", None) is not None})
        elif isinstance(module, nn.BatchNorm2d):
            described.append({"name": name, "kind": "BatchNorm2d",
                              "num_features": _attribute(module, "num_features"),
                              **{f"{t}_shape": _shape(module, t) for t in
                                 ("weight", "bias", "running_mean", "running_var")}})
        elif isinstance(module, nn.Linear):
            described.append({"name": name, "kind": "Linear",
                              "in_features": _attribute(module, "in_features"),
                              "out_features": _attribute(module, "out_features"),
                              "weight_shape": _shape(module, "weight")})
    return described


def _attribute(module: nn.Module, name: str) -> Any:
    """``module.<name>`` if it is a plain int, else None."""
    value = getattr(module, name, None)
    return value if type(value) is int else None


def _shape(module: nn.Module, name: str) -> list[int] | None:
    """Shape of the tensor ``module.<name>`` as a list, or None if it is not a tensor."""
    value = getattr(module, name, None)
    return list(value.shape) if isinstance(value, torch.Tensor) else None


def fine_grained_pruner_scenario(ns: Mapping[str, Any], state_dict: Mapping[str, Any],
                                 sparsity_dict: Mapping[str, float], inputs: torch.Tensor,
                                 labels: torch.Tensor, steps: int = 3,
                                 lr: float = 0.05) -> dict[str, Any]:
    """``FineGrainedPruner`` as a fine-tuning loop uses it.

    Builds a VGG from ``state_dict``, constructs ``FineGrainedPruner(model, sparsity_dict)``, then
    takes ``steps`` SGD steps on (``inputs``, ``labels``) with ``sgd_steps``, calling
    ``pruner.apply(model)`` after each step.

    Returns:
        ``{"masks": pruner.masks (None if the pruner has no such attribute), "own_masks": the
        notebook's own ``fine_grained_prune`` applied to a copy of each listed weight (name -> mask,
        None where it failed or is missing), "own_in_place": whether it changed that copy (name ->
        bool), "pruned_state": the model's state dict right after
        construction, "final_state": after the steps, "apply_error": the error text if a step or
        ``apply`` raised, else None}``. Construction errors propagate (the probe fails).
    """
    from prunekit.model import vgg_from_state_dict  # public; copied into the sandbox

    pruner_class = student_function(ns, "FineGrainedPruner")
    model = vgg_from_state_dict(state_dict).train()
    own_masks, own_in_place = _own_masks(ns, model, sparsity_dict)
    pruner = _construct_pruner(ns, pruner_class, model, sparsity_dict)
    masks = getattr(pruner, "masks", None)
    pruned_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    apply_error = None
    try:
        sgd_steps(model, inputs, labels, steps, lr, after_step=lambda: pruner.apply(model))
    except Exception as error:  # noqa: BLE001 - the grader reports it; the rest is still judged
        apply_error = error_text(error)
    return {"masks": masks, "own_masks": own_masks, "own_in_place": own_in_place,
            "pruned_state": pruned_state, "final_state": dict(model.state_dict()),
            "apply_error": apply_error}


def _construct_pruner(ns, pruner_class, model: nn.Module, sparsity_dict: Mapping[str, float]):
    """``pruner_class(model, sparsity_dict)``; an error raised inside the notebook's own
    ``fine_grained_prune`` (which a pruner usually calls) says so, since that function is graded
    on its own (q3) and the pruner cannot be judged without it."""
    function = ns.get("fine_grained_prune")
    raised: list[BaseException] = []
    if callable(function):
        def watched(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except Exception as error:
                raised.append(error)
                raise
        ns["fine_grained_prune"] = watched
    try:
        return pruner_class(model, dict(sparsity_dict))
    except Exception as error:
        if raised and raised[-1] is error:
            raise ProbeError(f"FineGrainedPruner could not be judged: the notebook's "
                             f"fine_grained_prune, which it calls, raised {error_text(error)} "
                             f"(fine_grained_prune is graded in its own question)") from None
        raise
    finally:
        if callable(function):
            ns["fine_grained_prune"] = function


def _own_masks(ns: Mapping[str, Any], model: nn.Module,
               sparsity_dict: Mapping[str, float]) -> tuple[dict[str, Any], dict[str, bool]]:
    """The notebook's ``fine_grained_prune`` mask of a copy of each listed parameter (None where
    the function is missing or fails) and whether it changed that copy (pruned in place), so
    that a pruner built on it can be judged on its own."""
    function = ns.get("fine_grained_prune")
    params = dict(model.named_parameters())
    masks: dict[str, Any] = {}
    in_place: dict[str, bool] = {}
    for name, sparsity in sparsity_dict.items():
        masks[name], in_place[name] = None, True
        if not callable(function) or name not in params:
            continue
        copy_ = params[name].detach().clone()
        try:
            masks[name] = function(copy_, sparsity)
            in_place[name] = not torch.equal(copy_, params[name].detach())
        except Exception:  # noqa: BLE001 - judged in its own question
            pass
    return masks, in_place


def sgd_steps(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, steps: int, lr: float,
              after_step: Callable[[], Any] | None = None) -> None:
    """``steps`` steps of SGD (momentum 0.9, cross-entropy, train mode) on one batch, calling
    ``after_step()`` after every optimizer step (e.g. a pruner's ``apply``). Changes ``model`` in
    place. The grader replays exactly this loop with known masks to judge the student's run."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(int(steps)):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()


def error_text(error: BaseException) -> str:
    """``"ExcType: message"`` of an exception raised by student code, truncated."""
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:  # noqa: BLE001 - a broken __str__
        text = type(error).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " ..."
