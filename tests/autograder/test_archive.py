"""The torch-archive parser that reads what untrusted code wrote: it gives what torch.load gives
for every honest record and refuses every call, oversized claim and malformed structure before
building anything."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from autograder.sandbox.archive import (MAX_DICT_ENTRIES, ArchiveRefused, parse_torch_archive)

REPO = Path(__file__).resolve().parents[2]


def saved(value, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer, **kwargs)
    return buffer.getvalue()


def with_pickle(pickle_bytes: bytes) -> bytes:
    """A torch archive (stored, torch's layout) whose data.pkl is ``pickle_bytes``."""
    return with_record(saved({"x": 1}), pickle_bytes)


def long1(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def same(expected, got) -> bool:
    """Equal values of the same plain types (tensors: dtype, shape and values)."""
    if isinstance(expected, torch.Tensor):
        return (type(got) is torch.Tensor and got.dtype == expected.dtype
                and got.shape == expected.shape and torch.equal(got, expected.detach()))
    if isinstance(expected, dict):
        return (type(got) is dict and list(got) == list(expected)
                and all(same(expected[k], got[k]) for k in expected))
    if isinstance(expected, (list, tuple)):
        return (type(got) is type(expected) and len(got) == len(expected)
                and all(same(e, g) for e, g in zip(expected, got)))
    return type(got) is type(expected) and got == expected


def honest_record() -> dict:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.Linear(2, 2))
    shared = torch.arange(10.0)
    return {"ok": True, "value": {
        "state_dict": model.state_dict(), "numbers": (1, -2.5, None, "text", True), 7: [1, 2],
        "masks": [torch.rand(3, 3) > 0.5, torch.ones(2, dtype=torch.bfloat16)],
        "view": shared[2:8:2], "same_storage": shared, "expanded": torch.ones(1).expand(5),
        "empty": torch.zeros(0, 3), "scalar": torch.tensor(3), "half": torch.ones(2).half(),
        "parameter": torch.nn.Parameter(torch.ones(2)), "nan": float("nan"),
        "complex": torch.ones(2, dtype=torch.complex64), "int8": torch.arange(4).to(torch.int8)}}


@pytest.mark.parametrize("protocol", [2, 4])
def test_honest_records_parse_as_torch_loads_them(protocol):
    """State dicts, views, expanded and empty tensors, parameters, every plain dtype, int keys,
    tuples and NaN come back as torch.load(weights_only=True) gives them (pickle protocol 2,
    torch.save's default, and 4)."""
    record = honest_record()
    expected = torch.load(io.BytesIO(saved(record)), weights_only=True)  # reads protocol 2 only
    got = parse_torch_archive(saved(record, pickle_protocol=protocol), 2**20)
    assert got["ok"] is True and list(got) == ["ok", "value"]
    nan_free = {k: v for k, v in expected["value"].items() if k != "nan"}
    assert same(nan_free, {k: v for k, v in got["value"].items() if k != "nan"})
    assert got["value"]["nan"] != got["value"]["nan"]


# Pickles that build something a plain result never holds, each refused before it is built:
# the three bombs found in review (2 GiB zero-filled, quadratic dict, quadratic codec), and the
# code-running classics.
BOMBS = {
    "bytearray_2GiB": b"\x80\x02cbuiltins\nbytearray\n" + long1(2**31) + b"\x85R.",
    "counter": b"\x80\x02ccollections\nCounter\n)R.",
    "punycode": b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x08\x00\x00\x00punycode\x86R.",
    "os_system": b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.",
    "storage_for_numpy": b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n)R.",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_calls_of_other_globals_are_refused_before_building(name):
    with pytest.raises(ArchiveRefused, match="refused before anything was built"):
        parse_torch_archive(with_pickle(BOMBS[name]), 2**20)


def test_the_memory_bomb_costs_the_grader_no_memory(tmp_path):
    """Peak memory of a process that loads the 2 GiB bytearray pickle stays within 10% of one
    that loads an honest record (both measured here, same interpreter and imports)."""
    (tmp_path / "honest.pt").write_bytes(saved(honest_record()))
    (tmp_path / "bomb.pt").write_bytes(with_pickle(BOMBS["bytearray_2GiB"]))
    peaks = {name: _peak_rss_loading(tmp_path / f"{name}.pt") for name in ("honest", "bomb")}
    assert peaks["bomb"]["refused"] and not peaks["honest"]["refused"]
    assert peaks["bomb"]["peak_kib"] <= 1.10 * peaks["honest"]["peak_kib"], peaks


def _peak_rss_loading(path: Path) -> dict:
    """Refused or not, and the peak resident memory (KiB, VmHWM of this process image: getrusage
    would report the forking parent's peak too) of a fresh process that imports torch, as a
    grading worker has, then loads ``path``."""
    code = ("import json, sys, pathlib, torch\n"
            "from autograder.sandbox import BadResult, load_untrusted\n"
            "try:\n    load_untrusted(pathlib.Path(sys.argv[1]), 2**20)\n"
            "    refused = False\n"
            "except BadResult:\n    refused = True\n"
            "status = pathlib.Path('/proc/self/status').read_text().splitlines()\n"
            "peak = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))\n"
            "print(json.dumps({'refused': refused, 'peak_kib': peak}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, check=True,
                          capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_colliding_int_keys_cannot_be_built():
    """The review's quadratic dict (int keys that all hash alike, multiples of 2**61 - 1) needs
    ints beyond 64 bits, which are refused: within 64 bits at most 16 ints share a hash."""
    keys = b"".join(long1(k * (2**61 - 1)) + b"N" for k in range(1, 1000))
    with pytest.raises(ArchiveRefused, match="beyond 64 bits"):
        parse_torch_archive(with_pickle(b"\x80\x02}(" + keys + b"u."), 2**21)


def test_dict_entries_are_capped_while_parsing():
    keys = b"".join(b"J" + k.to_bytes(4, "little") + b"N" for k in range(2 * MAX_DICT_ENTRIES))
    with pytest.raises(ArchiveRefused, match="dict entries"):
        parse_torch_archive(with_pickle(b"\x80\x02}(" + keys + b"u."), 2**21)


def test_tensors_claiming_more_than_their_record_are_refused():
    """A storage whose record is smaller than its element count, and a view reaching beyond its
    storage, are refused (torch would read past the data)."""
    data = saved({"t": torch.ones(4)})
    pickle_bytes = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    numel_lie = pickle_bytes.replace(b"K\x04tq", b"K\x40tq")  # the persistent id's numel 4 -> 64
    size_lie = pickle_bytes.replace(b"K\x04\x85q", b"K\x08\x85q")  # the view's size (4,) -> (8,)
    assert numel_lie != pickle_bytes and size_lie != pickle_bytes
    with pytest.raises(ArchiveRefused, match="not the size its storage claims"):
        parse_torch_archive(with_record(data, numel_lie), 2**20)
    with pytest.raises(ArchiveRefused, match="beyond its storage"):
        parse_torch_archive(with_record(data, size_lie), 2**20)


def with_record(archive_bytes: bytes, pickle_bytes: bytes) -> bytes:
    """``archive_bytes`` (a torch archive, with its tensor records) with another data.pkl."""
    source = zipfile.ZipFile(io.BytesIO(archive_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            data = pickle_bytes if info.filename.endswith("data.pkl") else source.read(info)
            archive.writestr(info, data)
    return out.getvalue()


def test_a_stride_zero_view_is_charged_at_its_logical_size():
    """A one-element storage viewed as a billion elements is refused before it is built."""
    data = saved({"t": torch.ones(1).expand(10)})
    pickle_bytes = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    huge = pickle_bytes.replace(b"K\n\x85", b"J\x00\xca\x9a;\x85", 1)  # size (10,) -> (10**9,)
    assert huge != pickle_bytes
    with pytest.raises(ArchiveRefused, match="exceed the size limit"):
        parse_torch_archive(with_record(data, huge), 2**20)


@pytest.mark.parametrize("pickle_bytes", [b"\x80\x02", b"\x80\x02.", b"\x80\x02(.",
                                          b"\x80\x02]q\x00h\x05.", b"\x80\x02(u."])
def test_malformed_pickles_are_refused(pickle_bytes):
    with pytest.raises(ArchiveRefused, match="malformed|SETITEMS"):
        parse_torch_archive(with_pickle(pickle_bytes), 2**20)


def test_other_byte_orders_and_compressed_members_are_refused():
    data = saved({"t": torch.ones(2)})
    source = zipfile.ZipFile(io.BytesIO(data))
    swapped, compressed = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(swapped, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            body = b"big" if info.filename.endswith("byteorder") else source.read(info)
            archive.writestr(info.filename, body)
    with zipfile.ZipFile(compressed, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info))
    with pytest.raises(ArchiveRefused, match="byte order"):
        parse_torch_archive(swapped.getvalue(), 2**20)
    with pytest.raises(ArchiveRefused, match="compressed"):
        parse_torch_archive(compressed.getvalue(), 2**20)
