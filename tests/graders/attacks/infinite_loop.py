# about: the solved notebook, then a cell that ignores SIGTERM, SIGXCPU, SIGINT and SIGALRM and
#   loops forever (time.sleep and busy work alternately)
# base: solved
# defence: the wall-time limit, enforced with SIGKILL on the whole sandbox
# status: timeout
# --- cell
import signal
import time

for sig in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGALRM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)
while True:
    try:
        sum(range(10**6))
        time.sleep(0.01)
    except BaseException:
        pass
