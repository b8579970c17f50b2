# about: the solved notebook, then a cell that allocates and touches memory until it fails,
#   keeps all but the last 256 MiB of what it got (so that whether a later probe fits does not
#   hang on a few MiB of headroom), and asks torch for a 400 GB tensor
# base: solved
# defence: RLIMIT_AS (address space) of the student process
# status: graded, memory, crashed
# --- cell
import torch

hoard = []
try:
    while True:
        hoard.append(torch.ones(2**25))  # 128 MiB, touched
except (MemoryError, RuntimeError):
    del hoard[-2:]
try:
    huge = torch.empty(10**11)
except (MemoryError, RuntimeError):
    pass
