"""Loading what the sandbox wrote: untrusted files, validated as plain data.

Everything under a sandbox's ``out/`` folder was written by (or can be rewritten by) student
code. Nothing here runs code while loading, every file is
size-checked before it is read, archives are parsed, never unpickled (``archive.py``), and the
loaded value is copied through :func:`plain`, which accepts only plain types within a budget of
bytes and values, so a result costs the grader at most what ``Limits.result_bytes`` allows.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, Mapping, Sequence

from autograder.sandbox.api import Failure, Outcome, ProbeRequest
from autograder.sandbox.archive import ArchiveRefused, parse_torch_archive

MiB = 2**20
STAGES = ("startup", "cells", "probes")  # what the runner times in the student process
MAX_TEXT_CHARS = 1000  # error messages and reasons coming back from the sandbox
MAX_PLAIN_NODES = 1_000_000  # values in one result (stops "billion laughs" pickles)
MAX_PLAIN_DEPTH = 40


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """``text`` safe to print, write to a CSV, JSON or HTML report and compare: lone surrogates
    (which UTF-8 cannot encode) and control characters (terminal escapes, NUL) become U+FFFD;
    newlines and tabs stay. Every student-derived string passes through here once, where it is
    loaded from the sandbox or from the submission."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("\ufffd", text)


class BadResult(ValueError):
    """A result file written in the sandbox was refused (the message says why)."""


class Budget:
    """Bytes and values that the results of one run may still hold."""

    def __init__(self, max_bytes: int):
        self.bytes_left = max_bytes
        self.nodes_left = MAX_PLAIN_NODES

    def spend(self, nbytes: int = 0) -> None:
        self.bytes_left -= nbytes
        self.nodes_left -= 1
        if self.bytes_left < 0:
            raise BadResult("results exceed the size limit")
        if self.nodes_left < 0:
            raise BadResult("results hold too many values")


def load_untrusted(path: Path, max_bytes: int) -> Any:
    """The plain data of a torch archive that untrusted code wrote (``torch.save``'s format),
    parsed by :func:`archive.parse_torch_archive`: nothing is unpickled, no code runs and
    nothing but plain values is built.

    Refuses (BadResult) anything but a regular, singly linked file (no symlink, FIFO or hard link
    to someone else's file) of at most ``max_bytes``, and whatever the parser refuses (compressed
    members, oversized pickles, globals a plain result never needs, tensors beyond
    ``max_bytes``). Does not validate the structure; see :func:`plain`.
    """
    data = read_regular_file(path, max_bytes)
    try:
        return parse_torch_archive(data, max_bytes)
    except ArchiveRefused as error:
        raise BadResult(str(error)) from None


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file with one link and at most ``max_bytes``."""
    try:  # O_NONBLOCK: opening a FIFO planted by the student must not hang the grader
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise BadResult(f"cannot open ({error.strerror}; symlinks are refused)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise BadResult("not a regular file with a single link")
        if info.st_size > max_bytes:
            raise BadResult(f"file of {info.st_size} bytes exceeds the limit of {max_bytes}")
        chunks, left = [], info.st_size + 1
        while left > 0 and (chunk := os.read(fd, min(left, 16 * MiB))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise BadResult("file grew beyond the size limit while being read")
        return data
    finally:
        os.close(fd)


def plain(value: Any, budget: Budget, depth: int = 0) -> Any:
    """A validated copy of untrusted loaded data: None, bool, int, float, str (at most 1 MB),
    dense CPU tensors, dicts with str/int keys, lists and tuples, at most MAX_PLAIN_DEPTH deep.
    Raises BadResult for anything else (including cycles, which exceed the depth)."""
    import torch

    if depth > MAX_PLAIN_DEPTH:
        raise BadResult("nested too deeply")
    if isinstance(value, torch.Tensor):
        return _plain_tensor(value, budget)
    budget.spend()
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        budget.spend(len(value))
        if len(value) > MiB:
            raise BadResult("string too long")
        return clean_text(value)
    if isinstance(value, torch.Size):
        return tuple(int(v) for v in value)
    if isinstance(value, dict):  # OrderedDict too
        if not all(type(k) in (str, int) for k in value):
            raise BadResult("dict keys must be str or int")
        return {(clean_text(k) if type(k) is str else k): plain(v, budget, depth + 1)
                for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(plain(v, budget, depth + 1) for v in value)
    raise BadResult(f"unexpected type {type(value).__name__}")


def _plain_tensor(tensor, budget: Budget):
    """A plain, detached, dense CPU tensor of a dtype the checks read (charged at its storage
    or its logical size, whichever is larger), or BadResult."""
    import torch

    if tensor.layout != torch.strided or tensor.device.type != "cpu" or tensor.is_quantized:
        raise BadResult("only dense CPU tensors may come back")
    if tensor.dtype not in _readable_dtypes():
        raise BadResult(f"a tensor of dtype {str(tensor.dtype).replace('torch.', '')}, which "
                        f"the checks do not read (use float32, an integer type or bool)")
    # Charged at its logical size too: a stride-0 view of a few bytes claims a tensor of any
    # size, which the checks would materialise.
    budget.spend(max(tensor.untyped_storage().nbytes(), tensor.numel() * tensor.element_size()))
    plain = tensor.detach()
    return plain if type(plain) is torch.Tensor else plain.as_subclass(torch.Tensor)


def _readable_dtypes() -> set:
    """Dtypes a result tensor may have: what honest code returns (float8, bits, uint16-64 ...
    are refused where they are loaded, so no check meets them)."""
    import torch

    return {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
            torch.complex128, torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32,
            torch.int64}


def load_record(path: Path, budget: Budget, check) -> Any:
    """``check(plain data of the file)``; None if the file is missing; BadResult if refused."""
    if not os.path.lexists(path):
        return None
    data = plain(load_untrusted(path, budget.bytes_left), budget)
    return check(data)


def load_outcome(path: Path, budget: Budget) -> Outcome | None:
    """The Outcome stored in one request file; None if missing; a BadResult failure if refused."""
    try:
        return load_record(path, budget, check_request_record)
    except BadResult as error:
        return Outcome(failure=Failure("BadResult", f"the result file was refused: {error}"))


def check_request_record(data: Any) -> Outcome:
    if not isinstance(data, dict) or type(data.get("ok")) is not bool:
        raise BadResult("not a result record")
    if data["ok"]:
        if "value" not in data:
            raise BadResult("result record without a value")
        return Outcome(value=data["value"])
    return Outcome(failure=_failure_from(data.get("error")))


def load_stage_seconds(out: Path, budget: Budget, wall_seconds: float) -> dict[str, float]:
    """The runner's timing record ({"startup", "cells", "probes"} -> seconds); {} when missing
    or implausible (not numbers, negative, or more than the run's wall time)."""
    def check(data: Any) -> dict[str, float]:
        if (not isinstance(data, dict) or set(data) != set(STAGES)
                or not all(type(v) is float and 0 <= v <= wall_seconds for v in data.values())):
            raise BadResult("not a timing record")
        return {stage: data[stage] for stage in STAGES}

    try:
        return load_record(out / "timing.pt", budget, check) or {}
    except BadResult:
        return {}


def check_done(data: Any) -> bool:
    return data == {"finished": True}


def _failure_from(data: Any) -> Failure:
    """A Failure from an error record written in the sandbox (fields checked and truncated)."""
    if not isinstance(data, dict):
        raise BadResult("error record is not a dict")
    text = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in ("type", "message",
                                                                            "where")}
    return Failure(kind=text["type"][:100] or "Exception", message=text["message"][:MAX_TEXT_CHARS],
                   where=text["where"][:100], memory=data.get("memory") is True)


def load_cells(out: Path, budget: Budget) -> tuple[int, dict[int, Failure]]:
    """How many cells ran, and the error of each failing cell (by cell index)."""
    try:
        data = load_record(out / "cells.pt", budget, lambda d: d)
    except BadResult:
        return 0, {}
    if not isinstance(data, dict) or not isinstance(data.get("errors"), dict):
        return 0, {}
    done = data.get("done") if type(data.get("done")) is int else 0
    errors = {}
    for index, error in data["errors"].items():
        try:
            errors[int(index)] = _failure_from(error)
        except (BadResult, ValueError):
            continue
    return done, errors


def read_progress(out: Path) -> str:
    """What the runner said it was doing last ("cell 3", "probe 2 (call_function)"), or "" when
    it said nothing readable (printable ASCII, at most 200 bytes)."""
    try:
        text = read_regular_file(out / "progress.txt", 200).decode("ascii")
    except (BadResult, UnicodeDecodeError):
        return ""
    return text if text.isprintable() else ""


def memory_where(cell_errors: Mapping[int, Failure], loaded: Sequence[Outcome | None],
                  requests: Sequence[ProbeRequest]) -> str:
    """Where student code reported running out of memory first ("cell 2", "probe 'x'"), or ""."""
    for index, failure in sorted(cell_errors.items()):
        if failure.memory:
            return f"cell {index}"
    for request, outcome in zip(requests, loaded):
        if outcome is not None and outcome.failure is not None and outcome.failure.memory:
            return f"probe {request.id!r}"
    return ""

