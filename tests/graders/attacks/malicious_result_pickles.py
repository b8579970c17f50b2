# about: the solved notebook, then a cell that finds the runner's live result saver (gc) and
#   makes every later result file (req-N.pt, done.pt) a pickle that runs code when loaded;
#   torch.save is patched the same way
# base: solved
# defence: result files are parsed, never unpickled (calls refused); a refused completion record ends the
#   run as crashed
# status: graded, crashed, exit
# --- cell
import gc

import torch

MARKER = "{{MARKER_DIR}}/pwned-{{NAME}}"


class RunsCode:
    def __reduce__(self):
        return (exec, (f"import pathlib; pathlib.Path({MARKER!r}).write_text('pwned')",))


_real_save = torch.save


def evil_save(record, path, *args, **kwargs):
    _real_save({"ok": True, "value": RunsCode(), "finished": RunsCode()}, path)


for obj in gc.get_objects():
    if type(obj).__name__ == "_Saver":
        obj._save = evil_save
torch.save = evil_save
