"""A torch archive (``torch.save``'s zip format) parsed into plain data, never unpickled.

Result files that come back from a sandbox and the model files a student submits are torch
archives that untrusted code wrote. ``torch.load(weights_only=True)`` runs no arbitrary code, but
its allow-list still lets a 1 KB pickle call constructors that allocate gigabytes
(``bytearray(2**31)``) or do quadratic work (a ``Counter`` of colliding keys) before the loaded
type is refused. So the pickle part is read here by a small interpreter of its opcodes that can
build only what a result holds: None, bools, ints (at most 64 bits), floats, strings, lists,
tuples, dicts with str or int keys, and dense tensors of the plain dtypes. Any other opcode or
global is refused before it builds anything; a tensor is charged at its logical size against
the caller's byte budget before it is made; opcodes are counted against a CPU-time limit.

Standard library and torch only (the grader's side; nothing here runs in the sandbox).
"""
from __future__ import annotations

import io
import pickletools
import sys
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

MiB = 2**20
# The pickle part of one archive (tensor data lies beside it): the largest honest one (a VGG
# state dict with its structure) is ~20 KB; parsing is linear, about a second per MiB.
MAX_PICKLE_BYTES = 2 * MiB
# Dict entries one pickle may create. Int keys that share a hash make insertion quadratic; an
# honest result (a VGG state dict, a few masks) holds well under a hundred.
MAX_DICT_ENTRIES = 4096
MAX_INT_BITS = 64  # counts, indices, seeds: nothing a result holds needs more
CPU_SECONDS = 10.0  # per archive; an honest one parses in milliseconds
CLOCK_EVERY = 4096  # opcodes between looks at the CPU clock

# torch.save names a storage by its typed class ("torch FloatStorage"); the dtypes checks read.
STORAGE_DTYPES = {
    "HalfStorage": "float16", "BFloat16Storage": "bfloat16", "FloatStorage": "float32",
    "DoubleStorage": "float64", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "BoolStorage": "bool", "ByteStorage": "uint8",
    "CharStorage": "int8", "ShortStorage": "int16", "IntStorage": "int32", "LongStorage": "int64",
}


class ArchiveRefused(ValueError):
    """The archive holds something a plain result cannot (the message says what)."""


@dataclass(frozen=True)
class _Global:
    """A global the pickle named; only calls of the allowed ones are carried out."""
    name: str  # "module qualname", as GLOBAL spells it


@dataclass(frozen=True)
class _Storage:
    """A storage the pickle refers to: its dtype name, its record key and element count."""
    dtype: str
    key: str
    numel: int


class _Mark:
    """The stack marker MARK pushes."""


MARK = _Mark()


def parse_torch_archive(data: bytes, max_bytes: int) -> Any:
    """The plain data of a ``torch.save`` archive held in ``data``.

    ``max_bytes`` bounds the tensor data built (logical sizes: a stride-0 view claiming a huge
    tensor is charged at that size before it is made).

    Raises:
        ArchiveRefused: not a torch zip archive, compressed or oversized members, another byte
            order, a pickle larger than MAX_PICKLE_BYTES, an opcode or global a plain result
            never needs, inconsistent tensor records, or the CPU-time limit reached.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _parse_open_archive(archive, max_bytes)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ArchiveRefused(f"not a torch archive ({error})") from None


def _parse_open_archive(archive: zipfile.ZipFile, max_bytes: int) -> Any:
    members = archive.infolist()
    if any(m.compress_type != zipfile.ZIP_STORED for m in members):
        raise ArchiveRefused("compressed archive members (torch.save never writes them)")
    if sum(m.file_size for m in members) > max_bytes:
        raise ArchiveRefused("archive larger than the size limit")
    pickles = [m for m in members if m.filename.endswith("data.pkl")]
    if len(pickles) != 1:
        raise ArchiveRefused("not a torch archive (it needs exactly one data.pkl)")
    prefix = pickles[0].filename[:-len("data.pkl")]
    if pickles[0].file_size > MAX_PICKLE_BYTES:
        raise ArchiveRefused(f"pickle larger than {MAX_PICKLE_BYTES // MiB} MiB (plain results "
                             "are small; tensors are stored beside the pickle)")
    _check_byte_order(archive, prefix)
    records = {m.filename[len(prefix) + len("data/"):]: m for m in members
               if m.filename.startswith(prefix + "data/")}
    return _Interpreter(archive, records, max_bytes).run(archive.read(pickles[0]))


def _check_byte_order(archive: zipfile.ZipFile, prefix: str) -> None:
    try:
        order = archive.read(prefix + "byteorder").decode("ascii", "replace")
    except KeyError:
        return  # torch before 1.12 wrote none: its own byte order
    if order != sys.byteorder:
        raise ArchiveRefused(f"tensor data in {order[:10]!r} byte order")


class _Interpreter:
    """Runs the opcodes of one pickle over plain values only (see the module docstring)."""

    def __init__(self, archive: zipfile.ZipFile, records: dict, max_bytes: int):
        self.archive = archive
        self.records = records
        self.bytes_left = max_bytes
        self.dict_entries = 0
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}
        self.storages: dict[str, Any] = {}  # record key -> 1-D tensor of its bytes
        self.handlers = self._handlers()

    def run(self, pickle_bytes: bytes) -> Any:
        started = time.process_time()
        try:
            for count, (opcode, arg, _) in enumerate(pickletools.genops(pickle_bytes), 1):
                if count % CLOCK_EVERY == 0 and time.process_time() - started > CPU_SECONDS:
                    raise ArchiveRefused(f"parsing took more than {CPU_SECONDS:.0f} s of CPU")
                if opcode.name == "STOP":
                    return self._pop()
                handler = self.handlers.get(opcode.name)
                if handler is None:
                    raise ArchiveRefused(f"pickle opcode {opcode.name}, which plain results "
                                         "never use")
                handler(arg)
        except ValueError as error:  # genops on malformed bytes; int() of a huge number
            if isinstance(error, ArchiveRefused):
                raise
            raise ArchiveRefused(f"malformed pickle ({str(error)[:200]})") from None
        raise ArchiveRefused("malformed pickle (no STOP)")

    # --- the stack ------------------------------------------------------------------------------

    def _pop(self) -> Any:
        if not self.stack or self.stack[-1] is MARK:
            raise ArchiveRefused("malformed pickle (stack underflow)")
        return self.stack.pop()

    def _pop_to_mark(self) -> list[Any]:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] is MARK:
                items = self.stack[index + 1:]
                del self.stack[index:]
                return items
        raise ArchiveRefused("malformed pickle (no mark)")

    def _top(self) -> Any:
        if not self.stack or self.stack[-1] is MARK:
            raise ArchiveRefused("malformed pickle (stack underflow)")
        return self.stack[-1]

    def _handlers(self) -> dict[str, Callable[[Any], None]]:
        push = self.stack.append
        handlers: dict[str, Callable[[Any], None]] = {
            "PROTO": lambda arg: None, "FRAME": lambda arg: None,
            "MARK": lambda arg: push(MARK), "POP": lambda arg: self._pop(),
            "POP_MARK": lambda arg: self._pop_to_mark(),
            "NONE": lambda arg: push(None), "NEWTRUE": lambda arg: push(True),
            "NEWFALSE": lambda arg: push(False), "BINFLOAT": push,
            "BINUNICODE": push, "SHORT_BINUNICODE": push, "BINUNICODE8": push,
            "EMPTY_DICT": lambda arg: push({}), "EMPTY_LIST": lambda arg: push([]),
            "EMPTY_TUPLE": lambda arg: push(()),
            "TUPLE": lambda arg: push(tuple(self._pop_to_mark())),
            "LIST": lambda arg: push(self._pop_to_mark()),
            "DICT": lambda arg: push(self._set_items({}, self._pop_to_mark())),
            "APPEND": lambda arg: self._append(self._pop()),
            "APPENDS": lambda arg: [self._append(item) for item in self._pop_to_mark()],
            "SETITEM": lambda arg: self._set_item_on_top(),
            "SETITEMS": lambda arg: self._set_items(self._top_below_mark(), self._pop_to_mark()),
            "BINPUT": self._put, "LONG_BINPUT": self._put,
            "MEMOIZE": lambda arg: self._put(len(self.memo)),
            "BINGET": self._get, "LONG_BINGET": self._get,
            "GLOBAL": lambda arg: push(_Global(arg)),
            "STACK_GLOBAL": lambda arg: self._stack_global(),
            "REDUCE": lambda arg: self._reduce(),
            "BINPERSID": lambda arg: push(self._storage(self._pop())),
            "BUILD": lambda arg: self._build(),
        }
        for name in ("BININT", "BININT1", "BININT2", "LONG1"):
            handlers[name] = lambda arg: push(self._checked_int(arg))
        for name, size in (("TUPLE1", 1), ("TUPLE2", 2), ("TUPLE3", 3)):
            handlers[name] = lambda arg, size=size: push(tuple(self._pop_n(size)))
        return handlers

    def _pop_n(self, count: int) -> list[Any]:
        return list(reversed([self._pop() for _ in range(count)]))

    @staticmethod
    def _checked_int(value: int) -> int:
        if abs(value) >= 2**MAX_INT_BITS:
            raise ArchiveRefused(f"an integer beyond {MAX_INT_BITS} bits")
        return value

    def _put(self, index: int) -> None:
        self.memo[index] = self._top()

    def _get(self, index: int) -> None:
        if index not in self.memo:
            raise ArchiveRefused("malformed pickle (memo)")
        self.stack.append(self.memo[index])

    # --- containers -----------------------------------------------------------------------------

    def _append(self, item: Any) -> None:
        target = self._top()
        if type(target) is not list:
            raise ArchiveRefused("APPEND to something other than a list")
        target.append(item)

    def _top_below_mark(self) -> Any:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] is MARK:
                if index == 0:
                    break
                return self.stack[index - 1]
        raise ArchiveRefused("malformed pickle (no mark)")

    def _set_item_on_top(self) -> None:
        value = self._pop()
        key = self._pop()
        self._set_items(self._top(), [key, value])

    def _set_items(self, target: Any, flat: list[Any]) -> dict:
        if type(target) is not dict or len(flat) % 2:
            raise ArchiveRefused("SETITEMS on something other than a dict")
        self.dict_entries += len(flat) // 2
        if self.dict_entries > MAX_DICT_ENTRIES:
            raise ArchiveRefused(f"a pickle creating more than {MAX_DICT_ENTRIES} dict entries "
                                 "(plain results hold a few)")
        for key, value in zip(flat[::2], flat[1::2]):
            if type(key) not in (str, int):
                raise ArchiveRefused("dict keys must be str or int")
            target[key] = value
        return target

    # --- globals: only the ones a state dict of tensors needs ---------------------------------

    def _stack_global(self) -> None:
        name, module = self._pop(), self._pop()
        if type(name) is not str or type(module) is not str:
            raise ArchiveRefused("malformed pickle (STACK_GLOBAL)")
        self.stack.append(_Global(f"{module} {name}"))

    def _reduce(self) -> None:
        args = self._pop()
        function = self._pop()
        if type(function) is not _Global or type(args) is not tuple:
            raise ArchiveRefused("a call of something other than an allowed global")
        if function.name == "collections OrderedDict" and args == ():
            self.stack.append({})  # order is kept by dict; the subclass is not needed
        elif function.name == "torch._utils _rebuild_tensor_v2":
            self.stack.append(self._rebuild_tensor(*args[:4]))
        elif function.name == "torch._utils _rebuild_parameter" and args:
            self.stack.append(args[0])
        else:
            raise ArchiveRefused(f"the pickle calls {function.name.replace(' ', '.')}, which "
                                 "plain results never need (refused before anything was built)")

    def _build(self) -> None:
        """BUILD sets an object's state; torch.save only sets a state dict's ``_metadata``
        (versions of its modules), which plain data does not keep."""
        state = self._pop()
        if type(self._top()) is not dict or type(state) is not dict:
            raise ArchiveRefused("BUILD of something other than a state dict's metadata")

    # --- tensors --------------------------------------------------------------------------------

    def _storage(self, pid: Any) -> _Storage:
        """('storage', torch.<Type>Storage, key, location, numel), as torch.save writes it."""
        if (type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage"
                or type(pid[1]) is not _Global or type(pid[2]) is not str
                or type(pid[4]) is not int or pid[4] < 0):
            raise ArchiveRefused("a persistent id other than a tensor storage")
        module, _, kind = pid[1].name.partition(" ")
        if module != "torch" or kind not in STORAGE_DTYPES:
            raise ArchiveRefused(f"a storage of type {pid[1].name.replace(' ', '.')}, which the "
                                 "checks do not read (use float32, an integer type or bool)")
        return _Storage(STORAGE_DTYPES[kind], pid[2], pid[4])

    def _storage_bytes(self, storage: _Storage):
        """The storage's elements as a 1-D tensor, read from its record once per key."""
        import torch

        if storage.key not in self.storages:
            member = self.records.get(storage.key)
            dtype = getattr(torch, storage.dtype)
            itemsize = torch.empty((), dtype=dtype).element_size()
            if member is None or member.file_size != storage.numel * itemsize:
                raise ArchiveRefused(f"tensor record {storage.key[:40]!r} is missing or not "
                                     "the size its storage claims")
            raw = bytearray(self.archive.read(member))
            self.storages[storage.key] = (torch.frombuffer(raw, dtype=dtype) if raw
                                          else torch.empty(0, dtype=dtype))
        flat = self.storages[storage.key]
        if str(flat.dtype) != f"torch.{storage.dtype}":
            raise ArchiveRefused("one tensor record read as two dtypes")
        return flat

    def _rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any):
        """A dense copy of the view (offset, size, stride) of ``storage``, charged first."""
        import torch

        if (type(storage) is not _Storage or type(offset) is not int or offset < 0
                or not _int_tuple(size) or not _int_tuple(stride) or len(size) != len(stride)):
            raise ArchiveRefused("malformed tensor (storage, offset, size, stride)")
        flat = self._storage_bytes(storage)
        numel = 1
        for length in size:
            numel *= length
        if numel and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= flat.numel():
            raise ArchiveRefused("a tensor reaching beyond its storage")
        self.bytes_left -= numel * flat.element_size()
        if self.bytes_left < 0:
            raise ArchiveRefused("tensors exceed the size limit")
        if not numel:
            return torch.empty(size, dtype=flat.dtype)
        return torch.as_strided(flat, size, stride, offset).clone()


def _int_tuple(value: Any) -> bool:
    return (type(value) is tuple and len(value) <= 16
            and all(type(v) is int and 0 <= v < 2**MAX_INT_BITS for v in value))
