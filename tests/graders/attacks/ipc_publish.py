# about: offers its code to other submissions graded in the same batch: a correct get_sparsity
#   left in every kind of shared kernel object (a System V shared-memory segment, message queue
#   and semaphore set, mode 0666; a POSIX shared-memory file and message queue), kept after
#   the run, with the process staying alive a few seconds so a parallel worker can look
# base: blank
# defence: the IPC namespace and private /dev/shm of each sandbox (restricted backend: the
#   seccomp filter refuses System V and POSIX message-queue calls)
# keeps: all
# --- cell
import ctypes
import os
import time

SHARED_CODE = (
    "def get_sparsity(tensor):\n"
    "    return 1 - tensor.count_nonzero().item() / tensor.numel()\n")
KEYS = {"shm": 0x5052554E, "msg": 0x5052554F, "sem": 0x50525550}
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
published = []
segment = libc.shmget(KEYS["shm"], 4096, 0o1666)  # IPC_CREAT | 0666
if segment >= 0:
    address = libc.shmat(segment, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        ctypes.memmove(address, SHARED_CODE.encode() + b"\0", len(SHARED_CODE) + 1)
        published.append("sysv shm")
queue = libc.msgget(KEYS["msg"], 0o1666)
if queue >= 0:
    message = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 512)
    ctypes.memmove(ctypes.addressof(message), ctypes.byref(ctypes.c_long(1)),
                   ctypes.sizeof(ctypes.c_long))
    ctypes.memmove(ctypes.addressof(message) + ctypes.sizeof(ctypes.c_long), SHARED_CODE.encode(),
                   len(SHARED_CODE))
    if libc.msgsnd(queue, message, 512, 0o4000) == 0:  # IPC_NOWAIT
        published.append("sysv msg")
if libc.semget(KEYS["sem"], 1, 0o1666) >= 0:
    published.append("sysv sem")
try:
    with open("/dev/shm/prunekit-shared-code", "w") as shared:
        shared.write(SHARED_CODE)
    os.chmod("/dev/shm/prunekit-shared-code", 0o666)
    published.append("posix shm")
except OSError:
    pass
mq = libc.mq_open(b"/prunekit-shared-code", 0o102, 0o666, None)  # O_CREAT | O_RDWR
if mq >= 0 and libc.mq_send(mq, SHARED_CODE.encode(), len(SHARED_CODE), 0) == 0:
    published.append("posix mq")
time.sleep(6)  # stay alive while a parallel worker grades the reader
