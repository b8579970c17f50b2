"""Building blocks of the hidden checks: a question's plan (probe calls and the checks that judge
them), the ``Fail`` verdict, and validators that turn untrusted plain data into clear messages.

A question module builds a :class:`Plan` from a :class:`Context` (the per-submission seed, the
grading settings and resources): it draws inputs, declares the probe calls the sandbox must make
(inputs only, never expected answers) and registers checks. A check's judge runs in the grader's
process after the sandbox is gone; it reads the outcomes through :class:`Outputs`, compares them
with the reference and raises :class:`Fail` with a message for the student, or returns to pass.

Every judge is a named module-level function, ``judge_...(outputs, case)``, given the data its
builder drew as ``case`` (the probe calls it reads and the reference's answers: :class:`Probed`
records, or a question's dataclass of them), so a traceback names it and a test can call it. A
judge written for one check declares that check above it with :func:`grades` and is registered
by :meth:`Plan.add_checks`; a judge several checks share is registered once per check by
:meth:`Plan.add_check`. The comparisons several questions make are the helpers at the end.

Messages say which property failed on which small input ("fine_grained_prune(tensor of shape
(4, 5), sparsity=0.35) kept an entry tied with the threshold"); they never quote check source or
the reference's code.
"""
from __future__ import annotations

import functools
import hashlib
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch


class Fail(Exception):
    """A check failed; ``str(fail)`` is the feedback message."""


# ---------------------------------------------------------------------------------------------
# Plans: probe calls + checks of one question
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One probe call: ``probes.<probe>(ns, **kwargs)`` in the sandbox.

    ``describe`` names the call in feedback ("get_sparsity(tensor of shape (4, 5))");
    ``function`` is the student name it exercises (to explain a missing definition).
    """
    key: str
    probe: str
    kwargs: Mapping[str, Any]
    describe: str
    function: str


@dataclass(frozen=True)
class CheckSpec:
    """One hidden check: ``weight`` is relative within its question; ``judge(outputs)`` raises
    :class:`Fail` or returns (pass), optionally with one line saying what it measured (a model
    file's accuracy, size, MACs or speedup: shown to the student beside the pass).
    ``requires``: names of earlier checks of the question that must pass for this one to earn
    its points (a property that a constant or do-nothing function satisfies trivially, e.g.
    "returns a Python float", counts only with right values)."""
    question: str
    name: str
    weight: float
    summary: str
    judge: Callable[["Outputs"], str | None]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grades:
    """The check a judge written for that one check grades (see :func:`grades`)."""
    name: str
    weight: float
    summary: str
    requires: tuple[str, ...] = ()


def grades(name: str, weight: float, summary: str, requires: tuple[str, ...] = ()):
    """Decorator declaring, where a judge written for one check is defined, the check it grades:
    its name, relative weight, summary for the student and ``requires`` (see
    :class:`CheckSpec`); :meth:`Plan.add_checks` registers it. A judge that several checks
    share (a generic comparison) is registered with each check's name, weight and summary by
    :meth:`Plan.add_check` instead."""
    def declare(judge: Callable[..., str | None]) -> Callable[..., str | None]:
        judge.grades = Grades(name, weight, summary, tuple(requires))  # type: ignore[attr-defined]
        return judge
    return declare


class Plan:
    """The probe calls and the checks of one question for one submission."""

    def __init__(self, question: str, functions: tuple[str, ...]):
        self.question = question
        self.functions = functions  # the student names the question grades
        self.calls: dict[str, Call] = {}
        self.checks: list[CheckSpec] = []

    def call(self, key: str, probe: str, describe: str, function: str, **kwargs: Any) -> str:
        """Declare a probe call (``kwargs`` are its plain-data arguments); returns ``key``."""
        if key in self.calls:
            raise ValueError(f"{self.question}: duplicate call key {key!r}")
        self.calls[key] = Call(key, probe, kwargs, describe, function)
        return key

    def add_check(self, name: str, weight: float, summary: str,
                  judge: Callable[..., str | None], case: Any = None,
                  requires: tuple[str, ...] = ()) -> None:
        """Register the check ``name``, judged by ``judge(outputs, case=case)``: a module-level
        function that gets the data the builder drew for it (the probe calls it reads, the
        reference's answers) as ``case``; ``judge(outputs)`` when there is none. ``requires``:
        see :class:`CheckSpec`; the required checks must be registered before it."""
        if any(c.name == name for c in self.checks):
            raise ValueError(f"{self.question}: duplicate check {name!r}")
        known = {c.name for c in self.checks}
        if not set(requires) <= known:
            raise ValueError(f"{self.question}/{name}: requires unknown or later checks "
                             f"{sorted(set(requires) - known)}")
        bound = judge if case is None else functools.partial(judge, case=case)
        self.checks.append(CheckSpec(self.question, name, float(weight), summary, bound,
                                     tuple(requires)))

    def add_checks(self, case: Any, *judges: Callable[..., str | None]) -> None:
        """Register, in order, the check each of ``judges`` grades (declared with
        :func:`grades`), each judging ``case`` (see :meth:`add_check`)."""
        for judge in judges:
            check = judge.grades  # type: ignore[attr-defined]
            self.add_check(check.name, check.weight, check.summary, judge, case, check.requires)

    def request_id(self, key: str) -> str:
        """Globally unique id of a call's probe request."""
        return f"{self.question}.{key}"


class Outputs:
    """What the probe calls of one question gave, as judges read it.

    ``outcomes`` maps request ids to objects with ``value`` and ``failure`` (the sandbox's
    ``Outcome``); ``explain_missing(name)`` adds why a name is undefined (e.g. its cell failed);
    ``locate(text)`` rewrites the grader's cell numbers in a message ("cell 7, line 3") into
    words students recognise.
    """

    def __init__(self, plan: Plan, outcomes: Mapping[str, Any],
                 explain_missing: Callable[[str], str] | None = None,
                 locate: Callable[[str], str] | None = None):
        self.plan = plan
        self._outcomes = outcomes
        self._explain = explain_missing or (lambda name: "")
        self._locate = locate or (lambda where: where)

    def value(self, key: str) -> Any:
        """The plain value the call returned; :class:`Fail` saying what went wrong otherwise."""
        call = self.plan.calls[key]
        outcome = self._outcomes.get(self.plan.request_id(key))
        if outcome is None:
            raise Fail(f"{call.describe}: no result came back")
        if outcome.failure is not None:
            raise Fail(self._failure_message(call, outcome.failure))
        return outcome.value

    def field(self, key: str, name: str = "result") -> Any:
        """``value(key)[name]`` for probes that return a dict of fields (``call_function``:
        "result", "args_after"; ``call_on_vgg``: "state_dict", "layers", ...); :class:`Fail` if the
        call failed or its record is malformed (student code can tamper with its own process)."""
        value = self.value(key)
        if not isinstance(value, dict) or name not in value:
            raise Fail(f"{self.plan.calls[key].describe}: the probe's record came back malformed")
        return value[name]

    def argument_after(self, key: str) -> torch.Tensor:
        """The tensor a ``call_function`` call got as its first argument, as the call left it
        (a function that prunes in place changed it); :class:`Fail` when it cannot be read."""
        after = self.field(key, "args_after")
        if not isinstance(after, list) or not after or not isinstance(after[0], torch.Tensor):
            raise Fail(f"{self.plan.calls[key].describe}: the tensor argument could not be read "
                       f"back")
        return after[0]

    def raised(self, key: str) -> str | None:
        """The student exception a call raised ("ValueError: ..."), or None if it returned;
        :class:`Fail` when the call could not run at all (undefined name, no result)."""
        outcome = self._outcomes.get(self.plan.request_id(key))
        if outcome is None or outcome.failure is None:
            return None
        if outcome.failure.kind in ("ProbeError", "NoResult", "BadResult"):
            raise Fail(self._failure_message(self.plan.calls[key], outcome.failure))
        return f"{outcome.failure.kind}: {outcome.failure.message}"

    def failed(self, key: str) -> str | None:
        """The failure message of a call, or None when it returned."""
        try:
            self.value(key)
        except Fail as failure:
            return str(failure)
        return None

    def _failure_message(self, call: Call, failure: Any) -> str:
        kind, message, where = failure.kind, failure.message, failure.where
        if kind == "ProbeError":
            return message + self._explain(call.function)
        if kind == "NoResult":
            return self._locate(f"{call.describe}: {message}")
        if kind == "BadResult":
            return f"{call.describe}: the result could not be read back ({message})"
        location = f" ({where})" if where else ""
        text = f": {message}" if message else ""
        return self._locate(f"{call.describe} raised {kind}{text}{location}")


# ---------------------------------------------------------------------------------------------
# Context: what plan builders and judges need besides the probes' outcomes
# ---------------------------------------------------------------------------------------------

@dataclass
class Context:
    """Per-submission grading context.

    ``seed``: the submission's seed (inputs are drawn from it); ``settings``: the profile's
    grading settings (thresholds, split, latency protocol; see ``settings.py``); ``files``:
    submitted model files by name (missing ones absent); ``problems``: what went wrong reading
    them; ``resources``: lazily loaded grader-side data (base model, hidden split, ...);
    ``timings``: seconds per stage, added to by judges that time themselves; ``metrics``:
    figures judges measured (accuracies in percent, MACs, speedups) for reports.
    """
    seed: int
    settings: Any
    resources: Any
    files: dict[str, Path] = field(default_factory=dict)
    file_problems: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # measured figures (accuracy, ...)

    def generator(self, label: str) -> torch.Generator:
        """A torch generator seeded from the submission seed and ``label`` (e.g. "q3"), so
        each question draws independently of the others."""
        return torch.Generator().manual_seed(derive_seed(self.seed, label))

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the block's wall time to ``timings[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


def derive_seed(seed: int | str, label: str) -> int:
    """A 63-bit seed from ``seed`` and ``label`` (SHA-256, stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}/{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# ---------------------------------------------------------------------------------------------
# Validators of untrusted plain data (raise Fail with a message for the student)
# ---------------------------------------------------------------------------------------------

def describe_value(value: Any) -> str:
    """A short description of a returned value for feedback ("a float32 tensor of shape (4,)")."""
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, dict) and value.get("__kind__") == "unsupported":
        if value.get("type") == "ellipsis":
            return "... (not filled in yet)"
        return f"a {value.get('type', 'value')} (not plain data)"
    if isinstance(value, dict) and value.get("__kind__") == "module":
        return f"a {value.get('type', 'module')} module"
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"the bool {value}"
    if isinstance(value, (int, float)):
        return f"the {type(value).__name__} {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:40] + "..."
        return f"the str {text!r}"
    return f"a {type(value).__name__}"


def shape_text(shape) -> str:
    """``(4, 5)`` / ``(7,)`` for a shape."""
    return str(tuple(int(s) for s in shape))


def as_number(value: Any, what: str, verb: str = "returned") -> float:
    """``value`` as a finite float: a Python number or a one-element tensor. Fail otherwise
    (``what`` / ``verb`` start the message: "get_sparsity(...) returned", "target_sparsity is")."""
    if isinstance(value, bool):
        raise Fail(f"{what} {verb} {describe_value(value)}, not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        number = float(value.reshape(-1)[0].item())
    else:
        raise Fail(f"{what} {verb} {describe_value(value)}, not a number")
    if math.isnan(number) or math.isinf(number):
        raise Fail(f"{what} {verb} {number}")
    return number


def require_type(value: Any, kind: type, what: str) -> None:
    """Fail unless ``value`` is exactly a Python ``kind`` (bool is not an int)."""
    if isinstance(value, bool) or not isinstance(value, kind):
        raise Fail(f"{what} returned {describe_value(value)}; the contract asks for a Python "
                   f"{kind.__name__}")


def as_tensor(value: Any, what: str, shape=None) -> torch.Tensor:
    """``value`` as a tensor (optionally of ``shape``); Fail otherwise."""
    if not isinstance(value, torch.Tensor):
        raise Fail(f"{what} returned {describe_value(value)}, not a tensor")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Fail(f"{what} returned a tensor of shape {shape_text(value.shape)}, expected "
                   f"shape {shape_text(shape)}")
    return value


def as_mask(value: Any, what: str, shape) -> torch.Tensor:
    """A keep-mask of ``shape`` as bool (a 0/1 tensor of another dtype is accepted here; the
    dtype has its own check). Fail for anything else."""
    mask = as_tensor(value, what, shape)
    if mask.dtype == torch.bool:
        return mask
    if mask.is_complex():
        raise Fail(f"{what} returned a complex tensor, not a mask")
    if mask.is_floating_point() and not bool(torch.isfinite(mask).all()):
        raise Fail(f"{what} returned a mask with non-finite entries")
    if not ((mask == 0) | (mask == 1)).all():
        raise Fail(f"{what} returned a {str(mask.dtype).replace('torch.', '')} mask with "
                   f"values other than 0 and 1")
    return mask != 0


def require_bool_mask(value: Any, what: str, shape) -> None:
    """Fail unless ``value`` is a ``torch.bool`` tensor of ``shape`` (a keep-mask's contract)."""
    if not isinstance(value, torch.Tensor) or value.dtype != torch.bool:
        raise Fail(f"{what} returned {describe_value(value)}; the keep-mask must be a torch.bool "
                   f"tensor")
    if tuple(value.shape) != tuple(shape):
        raise Fail(f"{what} returned a mask of shape {shape_text(value.shape)}, not the tensor's "
                   f"shape")


def require_pruned_in_place(after: torch.Tensor, original: torch.Tensor, mask: torch.Tensor,
                            what: str) -> None:
    """Fail unless the tensor passed to the call ``what`` is, ``after`` it, ``original`` with
    exactly the entries ``mask`` drops set to zero (an unchanged tensor where the mask drops
    something was not pruned in place)."""
    if not bool(mask.all()) and torch.equal(after, original):
        raise Fail(f"{what} left the tensor passed in unchanged; it must be pruned in place "
                   f"(e.g. tensor.mul_(mask))")
    if not close(after, original * mask, rtol=0, atol=0):
        raise Fail(f"{what}: afterwards the tensor passed in is not the original with exactly "
                   f"the pruned entries set to zero")


def as_state_dict(value: Any, what: str) -> dict[str, torch.Tensor]:
    """A plain ``{name: tensor}`` dict; Fail otherwise."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in value.items()):
        raise Fail(f"{what} is not a state dict of tensors")
    return value


def check_within_shapes(state: Mapping[str, torch.Tensor], what: str,
                        limit_shapes: Mapping[str, tuple[int, ...]], hint: str = "") -> None:
    """Fail unless every tensor of ``state`` is named in ``limit_shapes``, with as many
    dimensions, no dimension larger and the same kernel size (conv weights). Pruning never makes
    a layer larger, so this bounds what the grader builds from student data before it builds it
    (a tiny stride-0 view may claim a layer thousands of channels wide). ``hint`` ends the
    message of an unknown name."""
    for name, tensor in state.items():
        limit = limit_shapes.get(name)
        if limit is None:
            raise Fail(f"{what} holds {name!r}, which the kit's VGG does not have{hint}")
        shape = tuple(tensor.shape)
        if len(shape) != len(limit) or any(size > most for size, most in zip(shape, limit)):
            raise Fail(f"{what}: {name} has shape {list(shape)}, not within {list(limit)} "
                       "(pruning never makes a layer larger)")
        if name.endswith(".weight") and len(shape) == 4 and shape[2:] != limit[2:]:
            raise Fail(f"{what}: {name} has kernel size {list(shape[2:])}, not "
                       f"{list(limit[2:])}")


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Same shape and ``allclose`` (NaN never close), in float64."""
    if tuple(a.shape) != tuple(b.shape):
        return False
    if a.is_complex() or b.is_complex():
        return False
    return bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol))


def fmt(number: float, digits: int = 4) -> str:
    """A number for feedback: ints as ints, floats with ``digits`` significant digits."""
    if float(number).is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.{digits}g}"


# ---------------------------------------------------------------------------------------------
# Cases: a probe call as its judges read it, and the judges and helpers several questions share
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Probed:
    """One probe call as its judges read it: ``key`` (as declared with :meth:`Plan.call`),
    ``describe`` (how feedback names the call) and ``expected``, the reference's answer to the
    same inputs (None where there is none to compare with, e.g. a call that must raise)."""
    key: str
    describe: str
    expected: Any = None


@dataclass(frozen=True, kw_only=True)
class MaskProbed(Probed):
    """A call that prunes ``input`` in place and returns its keep-mask (``expected``: the
    reference's keep-mask)."""
    input: torch.Tensor


def returned_number(out: Outputs, call: Probed) -> float:
    """What ``call`` returned, as a finite float (:func:`as_number`); Fail otherwise."""
    return as_number(out.field(call.key), call.describe)


def wrong_number(call: Probed, got: float, hint: str = "", unit: str = "") -> Fail:
    """The verdict on a call that returned the number ``got``, not ``call.expected``."""
    return Fail(f"{call.describe} returned {fmt(got)}, expected {fmt(call.expected)}{unit}{hint}")


def judge_returns_float(out: Outputs, case: Iterable[Probed]) -> None:
    """Every call of ``case`` returned a Python float (not a tensor, not a bool)."""
    for call in case:
        require_type(out.field(call.key), float, call.describe)


def judge_returns_int(out: Outputs, case: Iterable[Probed]) -> None:
    """Every call of ``case`` returned a Python int (not a float, not a bool)."""
    for call in case:
        require_type(out.field(call.key), int, call.describe)


def returned_mask(out: Outputs, call: MaskProbed) -> torch.Tensor:
    """The keep-mask ``call`` returned, as bool (:func:`as_mask`); Fail otherwise."""
    return as_mask(out.field(call.key), call.describe, call.input.shape)


def require_bool_masks(out: Outputs, calls: Iterable[MaskProbed]) -> None:
    """Fail unless every call returned a torch.bool mask of its input's shape."""
    for call in calls:
        require_bool_mask(out.field(call.key), call.describe, call.input.shape)


def require_call_pruned_in_place(out: Outputs, call: MaskProbed,
                                 mask_of: Callable[[Outputs, MaskProbed], torch.Tensor]
                                 ) -> torch.Tensor:
    """Fail unless the tensor ``call`` was given is, after it, its input pruned by the mask
    ``mask_of(out, call)`` reads (:func:`require_pruned_in_place`); returns that mask. The
    tensor is read first: a call whose argument cannot be read back fails for that."""
    after = out.argument_after(call.key)
    mask = mask_of(out, call)
    require_pruned_in_place(after, call.input, mask, call.describe)
    return mask
