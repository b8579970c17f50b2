# about: the solved notebook, then a cell that writes gigabytes to stdout, stderr and files in
#   every writable place (home, /tmp, /dev/shm), ignoring every error
# base: solved
# defence: output goes to files with RLIMIT_FSIZE, only the tails are kept; private tmpfs with
#   a size limit
# keeps: all
# --- cell
import os
import sys

chunk = "x" * (1 << 20) + "\n"
for stream in (sys.stdout, sys.stderr):
    for _ in range(4096):  # 4 GiB each
        try:
            stream.write(chunk)
        except Exception:
            break
for folder in (os.path.expanduser("~"), "/tmp", "/dev/shm", os.getcwd()):
    for index in range(8):
        try:
            with open(os.path.join(folder, f"flood-{index}.bin"), "wb") as handle:
                for _ in range(1024):  # 1 GiB per file
                    handle.write(chunk.encode())
        except OSError:
            break
