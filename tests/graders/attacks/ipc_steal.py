# about: looks, for up to 10 s, for code another submission left in shared kernel objects (the
#   System V segment, message queue and semaphore set, the POSIX shared-memory file and message
#   queue that ipc_publish makes) and runs whatever it finds; reports each find in feedback
# base: blank
# defence: the IPC namespace and private /dev/shm of each sandbox (restricted backend: the
#   seccomp filter)
# lacks: STOLEN
# --- cell
import ctypes
import os
import time

KEYS = {"shm": 0x5052554E, "msg": 0x5052554F, "sem": 0x50525550}
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
found = {}


def look():
    segment = libc.shmget(KEYS["shm"], 0, 0)
    if segment >= 0:
        address = libc.shmat(segment, None, 0o10000)  # SHM_RDONLY
        if address not in (None, ctypes.c_void_p(-1).value):
            found["sysv shm"] = ctypes.string_at(address).decode(errors="replace")
    queue = libc.msgget(KEYS["msg"], 0)
    if queue >= 0:
        buffer = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 512)
        size = libc.msgrcv(queue, buffer, 512, 0, 0o4000)  # IPC_NOWAIT
        if size > 0:
            found["sysv msg"] = buffer.raw[ctypes.sizeof(ctypes.c_long):][:size].decode(
                errors="replace")
    if libc.semget(KEYS["sem"], 0, 0) >= 0:
        found["sysv sem"] = ""
    if os.path.exists("/dev/shm/prunekit-shared-code"):
        with open("/dev/shm/prunekit-shared-code") as shared:
            found["posix shm"] = shared.read()
    mq = libc.mq_open(b"/prunekit-shared-code", 0o4000)  # O_RDONLY | O_NONBLOCK
    if mq >= 0:
        buffer = ctypes.create_string_buffer(8192)
        size = libc.mq_receive(mq, buffer, 8192, None)
        found["posix mq"] = buffer.raw[:max(size, 0)].decode(errors="replace")


deadline = time.monotonic() + 10
while not found and time.monotonic() < deadline:
    look()
    time.sleep(0.5)
for code in found.values():
    if "def get_sparsity" in code:
        exec(code)  # the stolen answer: points it did not earn
        break
if "get_sparsity" not in globals():
    def get_sparsity(tensor):
        if found:
            raise RuntimeError(f"STOLEN through {sorted(found)}")
        raise RuntimeError("nothing shared by other submissions")
