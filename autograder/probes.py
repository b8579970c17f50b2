"""Public probe scenarios: small functions that call a student's code on inputs the grader drew.

The sandbox runner (``autograder/runner.py``) copies this file into every sandbox and calls one
probe per ``ProbeRequest``. A probe only calls the student's functions and reports what came back
(and what its inputs look like afterwards, so the grader can see in-place changes); it holds no
reference answers, thresholds or hidden checks, because it runs inside the student's process,
which can read it. The grader compares what comes back with its own reference, in its own process.

Every probe takes the student's namespace ``ns`` (the globals that the notebook's cells defined)
first, then the keyword arguments of the request. It may return anything: the runner converts the
result to plain data (tensors, dicts, lists, numbers, strings; an ``nn.Module`` becomes a tagged
state dict) before saving it. A probe must stay self-contained: the standard library, torch and the
public ``prunekit`` package only, never the grader.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from torch import nn


class ProbeError(Exception):
    """The notebook lacks what a probe needs (the message says what, in student terms)."""


def student_function(ns: Mapping[str, Any], name: str) -> Callable:
    """The student's function ``name``; ProbeError if it is missing or not callable."""
    value = ns.get(name)
    if value is None:
        raise ProbeError(f"the notebook does not define {name}()")
    if not callable(value):
        raise ProbeError(f"{name} is a {type(value).__name__}, not a function")
    return value


def defined_names(ns: Mapping[str, Any], names: Sequence[str]) -> dict[str, str | None]:
    """Which of ``names`` the notebook defines: name -> type name of the value, or None."""
    return {name: (type(ns[name]).__name__ if name in ns else None) for name in names}


def call_function(ns: Mapping[str, Any], name: str, args: Sequence[Any] = (),
                  kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Call ``ns[name](*args, **kwargs)``.

    Returns:
        ``{"result": what it returned, "args_after": the positional arguments after the call,
        "kwargs_after": the keyword arguments after the call}``. The arguments are the very objects
        passed in, so a function that works in place (``fine_grained_prune`` prunes its tensor)
        shows it in ``args_after``.
    """
    function = student_function(ns, name)
    args = list(args)
    kwargs = dict(kwargs or {})
    result = function(*args, **kwargs)
    return {"result": result, "args_after": args, "kwargs_after": kwargs}


def call_on_vgg(ns: Mapping[str, Any], name: str, state_dict: Mapping[str, Any],
                args: Sequence[Any] = (),
                kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a VGG from ``state_dict`` (``prunekit.model.vgg_from_state_dict``), call
    ``ns[name](model, *args, **kwargs)`` and describe what came back.

    Returns:
        ``{"returned_type": type name of the result, "same_object": whether the function returned
        its input model, "state_dict": the result's state dict if it is an nn.Module else None,
        "layers": the result's conv / BatchNorm / Linear attributes if it is an nn.Module else None,
        "result": the result itself if it is not an nn.Module else None,
        "input_state_dict_after": the input model's state dict after the call}``. The grader
        rebuilds models from the state dicts itself; ``input_state_dict_after`` shows whether a
        function that must return a copy changed its input; ``layers`` shows whether the module's
        ``in_channels`` / ``out_channels`` / ``num_features`` agree with its weights.
    """
    from prunekit.model import vgg_from_state_dict  # public; copied into the sandbox

    function = student_function(ns, name)
    model = vgg_from_state_dict(state_dict)
    result = function(model, *list(args), **dict(kwargs or {}))
    is_module = isinstance(result, nn.Module)
    return {
        "returned_type": type(result).__name__,
        "same_object": result is model,
        "state_dict": dict(result.state_dict()) if is_module else None,
        "layers": layer_attributes(result) if is_module else None,
        "result": None if is_module else result,
        "input_state_dict_after": dict(model.state_dict()),
    }


def layer_attributes(model: nn.Module) -> list[dict[str, Any]]:
    """Name, kind and size attributes of every Conv2d, BatchNorm2d and Linear of ``model``."""
    described = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            described.append({"name": name, "kind": "Conv2d", "in_channels": module.in_channels,
                              "out_channels": module.out_channels})
        elif isinstance(module, nn.BatchNorm2d):
            described.append({"name": name, "kind": "BatchNorm2d",
                              "num_features": module.num_features})
        elif isinstance(module, nn.Linear):
            described.append({"name": name, "kind": "Linear", "in_features": module.in_features,
                              "out_features": module.out_features})
    return described
