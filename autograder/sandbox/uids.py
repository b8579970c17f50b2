"""Sandbox uids that no other grader on the machine uses at the same time.

A root grader runs each worker's student code as a dedicated uid, and the restricted backend
cleans up after a run by uid: it kills every process of that uid (``kill(-1)`` as the uid) and
removes its files from the shared temporary folders. Two graders on one machine (two shards in
one container, a test beside a real batch) that picked the same uid would kill each other's
student processes, so each grader process leases its uids: an exclusive ``flock`` on a file per
uid in a root-only folder, held until the process ends (the kernel drops it even on a crash).
"""
from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from pathlib import Path

LEASE_FOLDER = "prunekit-sandbox-uids"  # in the system's temporary folder, root-only
FIRST_UID = 65533                       # just below nobody (65534), counting down
UID_COUNT = 512                          # how far down the leases may go
_LEASES: dict[int, tuple[int, int]] = {}  # worker index -> (uid, the locked file's descriptor)


def lease_uid(worker_index: int) -> int:
    """This process's uid for ``worker_index``: leased on first use, the same afterwards.

    Side effect: creates the lease folder and keeps one file descriptor open per lease.

    Raises:
        RuntimeError: all :data:`UID_COUNT` uids are leased by other graders or in use.
    """
    if worker_index not in _LEASES:
        _LEASES[worker_index] = _lease_free_uid()
    return _LEASES[worker_index][0]


def _lease_folder() -> Path:
    """The root-only folder of the lease files (made on first use).

    Raises:
        RuntimeError: it exists but is a link, another user's or writable by others (someone
            could then hold or swap the leases).
    """
    folder = Path(tempfile.gettempdir()) / LEASE_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise RuntimeError(f"{folder} is not a folder that only this user may write to; remove "
                           "it (the sandbox uid leases are kept there)")
    return folder


def _lease_free_uid() -> tuple[int, int]:
    """The first uid from :data:`FIRST_UID` down that no grader has leased (this process's
    other leases included) and no process runs as, with its locked lease file."""
    folder, taken = _lease_folder(), {uid for uid, _ in _LEASES.values()}
    running = _uids_of_processes()
    for uid in range(FIRST_UID, FIRST_UID - UID_COUNT, -1):
        if uid in taken or uid in running:
            continue
        descriptor = os.open(folder / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        return uid, descriptor
    raise RuntimeError(f"no free sandbox uid: all {UID_COUNT} below {FIRST_UID + 1} are leased "
                       f"by other graders or in use (leases in {folder})")


def _uids_of_processes() -> set[int]:
    """The real uids of the processes running now (a uid in use outside any lease, e.g. by a
    grader of an older kit, is not taken)."""
    uids = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            uids.add(os.stat(f"/proc/{entry}").st_uid)
        except OSError:
            continue
    return uids
