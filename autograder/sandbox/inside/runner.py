"""Runs a student's notebook code and the grader's probes inside a sandbox; writes plain data back.

The grader (``autograder/sandbox/``) copies this file into a fresh sandbox directory, and the
launcher (``launcher.py``, beside it) execs it as ``python -I -B runner.py`` in the isolated,
limited student process, as an unprivileged user.
It is self-contained on purpose: it imports only the standard library, torch, and the public files
copied beside it, never the grader, so nothing secret has to be readable from the sandbox.

Layout of the sandbox directory (this file's directory):

    job.pt       what to run, written by the grader: {"cells": [source, ...], "requests": [{"probe",
                 "kwargs", "seed"}, ...], "settings": {"threads", "max_result_bytes"}}
    probes.py    the public probe scenarios
    lib/         the public support package (prunekit)
    home/        working directory and $HOME of the student code
    out/         what this runner writes: progress.txt, cells.pt, req-<index>.pt, timing.pt,
                 done.pt

Everything in ``out/`` is untrusted by the grader: student code runs in this very process and can
rewrite any of it. The grader validates what it loads and compares with its own reference.
"""
from __future__ import annotations

import copy
import importlib.util
import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
MAX_MESSAGE_CHARS = 1000  # error messages are feedback, not logs
MAX_STRING_CHARS = 100_000  # longer strings in results are cut (the grader caps them too)
MAX_DEPTH = 32  # deeper results are described, not converted (also stops cycles)
_clock = time.perf_counter  # bound now: student code may patch the time module
# The runner's own output streams, bound before student code runs: at the end only these are
# flushed, never an object the student put in sys.stdout (its flush() would run student code
# after the last result was written).
_STREAMS = (sys.stdout, sys.stderr)
MEMORY_HINTS = ("can't allocate memory", "cannot allocate memory", "out of memory", "bad_alloc")


def main() -> None:
    """Run every cell, then every probe request; save each outcome as soon as it exists, so that a
    crash in one probe keeps the earlier results. Also records how long the start-up (importing
    torch), the cells and the probes took (timing.pt, seconds; for benchmarks only)."""
    started = _clock()
    sys.path.insert(0, str(HERE / "lib"))  # -I ignores PYTHONPATH; the sandbox's prunekit copy
    # As in a Jupyter kernel, the working folder (the sandbox's home) comes first: a module the
    # notebook wrote there (%%writefile helpers.py) imports.
    sys.path.insert(0, os.getcwd())
    import torch

    job = torch.load(HERE / "job.pt", weights_only=True)
    settings = job["settings"]
    torch.set_num_threads(int(settings["threads"]))
    probes = _load_module("probes", HERE / "probes.py")
    provenance = _load_module("provenance", HERE / "provenance.py")
    saver = _Saver(torch)
    shell = _shell()
    namespace = shell.user_ns
    # The notebook's own code, compiled before any student code runs: neither a patched
    # IPython nor memory the cells hoard can change it.
    as_run = [_transformed(shell, cell) for cell in job["cells"]]
    own_code = provenance.Provenance(as_run, provenance.library_roots(str(HERE)))
    ready = _clock()
    _run_cells(job["cells"], shell, saver, _CellClock(settings, ready))
    cells_done = _clock()
    probes.PROVENANCE = own_code
    for index, request in enumerate(job["requests"]):
        _progress(f"probe {index} ({request['probe']})")
        record = _run_probe(probes, namespace, request, torch, int(settings["max_result_bytes"]))
        saver.save(OUT / f"req-{index}.pt", record)
    saver.save(OUT / "timing.pt", {"startup": ready - started, "cells": cells_done - ready,
                                   "probes": _clock() - cells_done})
    saver.save(OUT / "done.pt", {"finished": True})
    _progress("finished")


def _load_module(name: str, path: Path):
    """Import the file at ``path`` as a module called ``name`` (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Saver:
    """Writes result files atomically (write to a temporary name, then rename), with a small error
    record in place of a result that cannot be saved (file-size limit, unpicklable data)."""

    def __init__(self, torch):
        self._save = torch.save  # bound now: student code may patch torch.save later

    def save(self, path: Path, record: dict) -> None:
        temporary = path.with_name(path.name + ".tmp")
        try:
            self._save(record, temporary)
        except BaseException as error:  # noqa: BLE001 - whatever went wrong, say so in the record
            failure = {"ok": False, "error": describe_error(error, "could not save the result: ")}
            try:
                self._save(failure, temporary)
            except BaseException:  # noqa: BLE001 - nothing more to do; the grader reports a gap
                return
        try:
            os.replace(temporary, path)
        except OSError:
            pass


def _transformed(shell, cell: str) -> str:
    """The cell as IPython runs it (magics become calls; a %%writefile body becomes a string
    constant), or "" when IPython cannot transform it (the cell then fails when it runs)."""
    try:
        return shell.transform_cell(cell)
    except Exception:  # noqa: BLE001 - a malformed cell is the cell's error, reported when run
        return ""


def _progress(text: str) -> None:
    """Record what runs now, so the grader can say where a process died (e.g. "cell 3")."""
    try:
        (OUT / "progress.txt").write_text(text[:200])
    except OSError:
        pass


# Magics that would reach outside the notebook's own Python (package installs, shells, other
# interpreters, other files' code): under grading they only print that they were skipped.
BLOCKED_LINE_MAGICS = ("pip", "conda", "mamba", "micromamba", "uv", "system", "sx", "sc", "run",
                       "load", "loadpy", "edit", "store", "notebook", "save", "logstart",
                       "bookmark", "matplotlib", "gui", "killbgscripts")
# %%writefile stays: it writes into the sandbox's own folder, as open() in a cell could.
BLOCKED_CELL_MAGICS = ("bash", "sh", "script", "perl", "ruby", "python", "python2", "python3",
                       "pypy", "system", "sx")


def _shell():
    """An IPython shell (no kernel, no ZMQ, no history) that runs cells the way Jupyter does:
    ``display``, ``get_ipython()``, line and cell magics; shell escapes (``!cmd``) and the
    magics above are neutralised, not rewritten, and ``exit()`` ends its cell like sys.exit."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=config)
    shell.system = shell.system_raw = shell.system_piped = _skipped_shell_command
    shell.getoutput = lambda command, split=True, depth=0: _skipped_shell_command(command) or []
    for name in BLOCKED_LINE_MAGICS:
        shell.register_magic_function(_skipped_magic(name, "%"), "line", name)
    for name in BLOCKED_CELL_MAGICS:
        shell.register_magic_function(_skipped_magic(name, "%%"), "cell", name)
    shell.user_ns.update({"__name__": "__main__", "exit": sys.exit, "quit": sys.exit})
    return shell


def _skipped_shell_command(command, *args, **kwargs):
    print(f"(not run while grading: !{str(command)[:80]})")


def _skipped_magic(name: str, prefix: str):
    def skipped(line="", cell=None):
        print(f"(not run while grading: {prefix}{name})")
    return skipped


class CellTimeout(BaseException):
    """Raised in a cell that ran past its share of the time limit (a BaseException, so that a
    student's ``except Exception`` around a loop does not swallow it)."""


class _CellClock:
    """Stops a cell at its share of the wall limit (SIGALRM in the main thread, where the cells
    run): at most ``cell_seconds``, and no later than the cells' budget, but never less than
    ``min_cell_seconds``. Settings in wall seconds, from the grader (``Limits``)."""

    def __init__(self, settings: dict, started: float):
        self.cell_seconds = float(settings.get("cell_seconds", 0) or 0)
        self.cells_deadline = started + float(settings.get("cells_seconds", 0) or 0)
        self.min_cell_seconds = float(settings.get("min_cell_seconds", 0) or 0)
        self.armed_for = 0.0

    def arm(self) -> None:
        if self.cell_seconds <= 0:
            return
        signal.signal(signal.SIGALRM, self._expired)  # again: a cell may have replaced it
        left = max(self.cells_deadline - _clock(), self.min_cell_seconds)
        self.armed_for = min(self.cell_seconds, left)
        signal.setitimer(signal.ITIMER_REAL, self.armed_for)

    def disarm(self) -> None:
        self.armed_for = 0.0
        signal.setitimer(signal.ITIMER_REAL, 0)

    def _expired(self, signum, frame) -> None:
        if self.armed_for:
            raise CellTimeout(f"stopped after {self.armed_for:.0f} s, its share of the time "
                              "limit; the later cells still ran")


def _run_cells(cells: list[str], shell, saver: _Saver, clock: _CellClock) -> None:
    """Run each cell in the IPython shell, as a notebook run with "continue on error" does: a
    failing cell (syntax error, exception, sys.exit, a CellTimeout from ``clock``) is recorded
    and the next cell still runs. Code objects are named "<cell N>", so errors can say where
    they happened."""
    errors: dict[int, dict] = {}
    saver.save(OUT / "cells.pt", {"count": len(cells), "done": 0, "errors": errors})
    for index, source in enumerate(cells):
        _progress(f"cell {index}")
        shell.compile.get_code_name = lambda raw, code, number, name=f"<cell {index}>": name
        try:
            clock.arm()
            try:
                result = shell.run_cell(source, store_history=False)
            finally:
                clock.disarm()
            error = result.error_before_exec or result.error_in_exec
        except BaseException as raised:  # noqa: BLE001 - SystemExit etc. must not stop the rest
            error = raised
        if error is not None:
            errors[index] = describe_error(error)
        saver.save(OUT / "cells.pt", {"count": len(cells), "done": index + 1, "errors": errors})


def _run_probe(probes, namespace: dict, request: dict, torch, max_bytes: int) -> dict:
    """Call one probe and return ``{"ok": True, "value": plain data}`` or ``{"ok": False, "error":
    {...}}``; never raises."""
    try:
        name = str(request["probe"])
        probe = getattr(probes, name, None)
        if name.startswith("_") or not callable(probe):
            error = {"type": "ProbeError", "message": f"unknown probe {name!r}", "where": "",
                     "memory": False}
            return {"ok": False, "error": error}
        # A private copy: requests may share tensors (torch.save keeps sharing), and one probe's
        # in-place change must not leak into the next.
        kwargs = copy.deepcopy(dict(request.get("kwargs") or {}))
        _seed(request.get("seed"), torch)
        value = probe(namespace, **kwargs)
        return {"ok": True, "value": to_plain(value, torch, Budget(max_bytes))}
    except BaseException as error:  # noqa: BLE001 - a probe failure is a result, not a crash
        return {"ok": False, "error": describe_error(error)}


def _seed(seed, torch) -> None:
    """Seed Python, torch and (if loaded) NumPy, so a probe with randomness is repeatable."""
    if seed is None:
        return
    random.seed(int(seed))
    torch.manual_seed(int(seed))
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(int(seed) % 2**32)


def describe_error(error: BaseException, prefix: str = "") -> dict:
    """Type, message (truncated), location in the student's cells and memory flag of an exception;
    never a traceback (paths of the sandbox are no one's business)."""
    kind = _safe(lambda: type(error).__name__, "Exception")
    if isinstance(error, SystemExit):
        message = f"the code called sys.exit({_safe(lambda: repr(error.code), '')})"
    else:
        message = _safe(lambda: str(error), "<unprintable exception>")
    if isinstance(error, MemoryError) and not message:
        message = f"out of memory ({_address_space_limit()})"
    message = prefix + message
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " ..."
    return {"type": kind[:100], "message": message, "where": _safe(lambda: _where(error), ""),
            "memory": _is_memory_error(error, message)}


def _address_space_limit() -> str:
    """The process's address-space limit in words, for out-of-memory messages."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return "no address-space limit" if soft < 0 else f"address-space limit {soft / 2**30:g} GiB"


def _safe(compute, default: str) -> str:
    """``compute()`` as a string, or ``default`` when student objects make it fail."""
    try:
        return str(compute())
    except BaseException:  # noqa: BLE001 - e.g. an exception class with a broken __str__
        return default


def _where(error: BaseException) -> str:
    """"cell N, line L" of the innermost student frame of ``error``, or "" when there is none."""
    if isinstance(error, SyntaxError) and str(error.filename or "").startswith("<cell "):
        return f"{error.filename[1:-1]}, line {error.lineno}"
    where = ""
    for frame, line in traceback.walk_tb(error.__traceback__):
        filename = frame.f_code.co_filename
        if filename.startswith("<cell "):
            where = f"{filename[1:-1]}, line {line}"
    return where


def _is_memory_error(error: BaseException, message: str) -> bool:
    """Whether ``error`` says the process ran out of memory (MemoryError, or torch's allocator
    failing, which raises RuntimeError)."""
    if isinstance(error, MemoryError):
        return True
    return isinstance(error, RuntimeError) and any(h in message.lower() for h in MEMORY_HINTS)


class Budget:
    """Bytes of tensor data a result may still hold."""

    def __init__(self, max_bytes: int):
        self.bytes_left = max_bytes


def to_plain(value, torch, budget: Budget, depth: int = 0):
    """``value`` as plain data that ``torch.load(weights_only=True)`` accepts.

    Tensors are detached and cloned to the CPU; an ``nn.Module`` becomes ``{"__kind__": "module",
    "type": ..., "state_dict": ...}``; NumPy arrays become tensors and NumPy scalars Python numbers;
    dicts, lists and tuples are converted item by item (sets become lists); anything else becomes
    ``{"__kind__": "unsupported", "type": ..., "repr": ...}``.
    """
    if depth > MAX_DEPTH:
        return _unsupported(value, "nested too deeply")
    if value is None or type(value) in (bool, int, float):
        return value
    if isinstance(value, str):
        return str(value)[:MAX_STRING_CHARS]
    for plain_type in (bool, int, float):  # subclasses such as IntEnum
        if isinstance(value, plain_type):
            return plain_type(value)
    if isinstance(value, torch.Tensor):
        return _plain_tensor(value, torch, budget)
    if isinstance(value, torch.nn.Module):
        return {"__kind__": "module", "type": type(value).__name__,
                "state_dict": to_plain(dict(value.state_dict()), torch, budget, depth + 1)}
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    if type(value).__module__ == "numpy":
        return _plain_numpy(value, torch, budget, depth)
    if isinstance(value, dict):
        return {_plain_key(key): to_plain(item, torch, budget, depth + 1)
                for key, item in value.items()}
    if isinstance(value, (list, set, frozenset)):
        return [to_plain(item, torch, budget, depth + 1) for item in value]
    if isinstance(value, tuple):  # torch.Size and named tuples too
        return tuple(to_plain(item, torch, budget, depth + 1) for item in value)
    return _unsupported(value, "type not supported")


def _plain_tensor(tensor, torch, budget: Budget):
    """A detached, dense, CPU, plain ``torch.Tensor`` copy, or an unsupported marker."""
    try:
        copy = tensor.detach()
        if copy.layout != torch.strided:
            copy = copy.to_dense()
        if copy.is_quantized:
            copy = copy.dequantize()
        copy = copy.cpu().resolve_conj().resolve_neg().clone()
        if type(copy) is not torch.Tensor:
            copy = copy.as_subclass(torch.Tensor)
    except BaseException as error:  # noqa: BLE001 - e.g. meta tensors have no data
        return _unsupported(tensor, f"tensor not convertible: {_safe(lambda: error, '')}"[:200])
    budget.bytes_left -= copy.numel() * copy.element_size()
    if budget.bytes_left < 0:
        return _unsupported(tensor, "result too large")
    return copy


def _plain_numpy(value, torch, budget: Budget, depth: int):
    """NumPy array -> tensor, NumPy scalar -> Python number; other NumPy objects unsupported."""
    try:
        if hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "tolist"):
            if getattr(value, "ndim", 0) == 0:
                return to_plain(value.item(), torch, budget, depth + 1)
            import numpy

            return _plain_tensor(torch.from_numpy(numpy.ascontiguousarray(value)), torch, budget)
    except BaseException as error:  # noqa: BLE001 - object arrays, odd dtypes
        return _unsupported(value, f"numpy value not convertible: {_safe(lambda: error, '')}"[:200])
    return _unsupported(value, "type not supported")


def _plain_key(key):
    """Dict keys stay str / int / bool; any other key becomes its repr."""
    if type(key) in (str, int, bool):
        return key
    return _safe(lambda: repr(key), "<key>")[:200]


def _unsupported(value, why: str) -> dict:
    """Marker for a value that cannot cross back as plain data."""
    return {"__kind__": "unsupported", "type": _safe(lambda: type(value).__name__, "?")[:100],
            "repr": _safe(lambda: repr(value), "<unprintable>")[:200], "why": why}


def _finish(code: int) -> None:
    """Flush the runner's own output streams and leave without running student code again
    (no atexit handlers, thread joins or replaced streams' methods)."""
    for stream in _STREAMS:
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a full disk or a closed stream must not matter now
            pass
    os._exit(code)


if __name__ == "__main__":
    try:
        main()
    except BaseException as failure:  # noqa: BLE001 - the runner itself failed
        try:
            sys.stderr.write(f"sandbox runner failed: {type(failure).__name__}: {failure}\n"[:2000])
        except BaseException:  # noqa: BLE001
            pass
        _finish(2)
    _finish(0)
