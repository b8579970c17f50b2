# about: the solved notebook, then a cell that allocates and touches memory until it fails,
#   keeps what it got, and asks torch for a 400 GB tensor
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
    pass
try:
    huge = torch.empty(10**11)
except (MemoryError, RuntimeError):
    pass
