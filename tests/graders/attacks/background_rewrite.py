# about: starts a detached background process (double fork, new session, SIGTERM/SIGHUP
#   ignored) and a thread that keep rewriting the sandbox's result files with forged records
#   claiming every probe passed, during the run and after the student process exits
# base: blank
# defence: results are read only after every sandbox process is dead (pid namespace), and
#   forged records are plain values judged against the reference
# status: graded, crashed, exit
# --- cell
import ctypes
import os
import signal
import threading
import time

import torch

out = os.path.join(os.path.dirname(os.getcwd()), "out")


def forge_forever(duration):
    forged = {"ok": True, "value": {"result": 0.5, "args_after": [], "kwargs_after": {},
                                    "value": "forged", "type": "str"}}
    end = time.time() + duration
    while time.time() < end:
        try:
            for index in range(200):
                torch.save(forged, os.path.join(out, f"req-{index}.pt"))
            torch.save({"finished": True}, os.path.join(out, "done.pt"))
        except Exception:
            pass
        time.sleep(0.05)


threading.Thread(target=forge_forever, args=(600,), daemon=True).start()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(15, b"pkattack-bg", 0, 0, 0)  # PR_SET_NAME: findable later
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        forge_forever(120)
    os._exit(0)
