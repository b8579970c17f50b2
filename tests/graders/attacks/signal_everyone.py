# about: the solved notebook, then a cell that sends SIGKILL / SIGSTOP to every process it can
#   see or guess (kill -1, its parent, its process group, pids 1..4096) before grading starts
# base: solved
# defence: the pid namespace: the student sees and signals only its own processes
# keeps: all
# --- cell
import os
import signal

me = os.getpid()
for target in [os.getppid(), 1] + list(range(2, 4097)):
    if target == me:
        continue
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(target, sig)
        except OSError:
            pass
try:
    os.killpg(os.getpgid(0), signal.SIGCONT)
except OSError:
    pass
