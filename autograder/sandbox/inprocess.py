"""Probe requests run in this process, without a sandbox: the stock Otter path (no isolation, by
design: see DESIGN.md's threat model) calls the same probes on a notebook's globals. The runner's
own steps are used, so a value or an error reads back exactly as from a sandbox."""
from __future__ import annotations

from dataclasses import replace
from types import ModuleType
from typing import Any, Mapping

from autograder.sandbox.api import Outcome, ProbeRequest
from autograder.sandbox.inside import runner
from autograder.sandbox.untrusted import check_request_record


def call_probe_here(probes: ModuleType, namespace: Mapping[str, Any], request: ProbeRequest,
                    max_bytes: int) -> Outcome:
    """Run ``request`` on ``namespace`` with ``probes`` here as the runner would: its kwargs
    copied, Python, torch and (if loaded) NumPy seeded with ``request.seed``, the value turned
    into plain data within ``max_bytes``. A failure carries no "cell N" location: these are not
    the runner's cells. Side effect: the global generators are left seeded (callers that must
    not disturb them save and restore them). Never raises for what the student's code does."""
    import torch

    # the runner's own step (attack cases in tests/graders find it under this name)
    record = runner._run_probe(probes, dict(namespace), {"probe": request.probe,
                                                         "kwargs": dict(request.kwargs),
                                                         "seed": request.seed},
                               torch, max_bytes)
    outcome = check_request_record(record)
    if outcome.failure is None:
        return outcome
    return Outcome(failure=replace(outcome.failure, where=""))
