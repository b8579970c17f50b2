"""Two sandboxes started by two grader processes at once share the interpreter's files read-only
(the same inodes). The calls that would carry data through those inodes (record locks, BSD
locks, leases, inotify and dnotify watches) and memory no limit counts (memfd) are refused by
the seccomp filter in every backend, so a submission cannot hand its code to a classmate's
sandbox running beside it.

The same probing code runs unconfined in this test's own process first: it shows that every
channel works on this machine, so the refusals inside are the filter's doing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.sandbox import readable_by

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0
pytestmark = pytest.mark.timeout(180)

# Each channel's first step, on a file both sandboxes can read: torch's __init__.py.
CHANNELS = textwrap.dedent('''
    import ctypes, errno, fcntl, os, signal, struct, time

    signal.signal(signal.SIGIO, signal.SIG_IGN)  # a dnotify watch that works signals SIGIO

    SHARED = __import__("torch").__file__
    OFFSET = 4242  # a byte range the writer locks and the reader asks about

    def _attempt(action):
        try:
            action()
            return "works"
        except OSError as error:
            return errno.errorcode.get(error.errno, str(error.errno))

    def _lock(command, kind):
        fd = os.open(SHARED, os.O_RDONLY)
        KEEP.append(fd)  # keep the lock while the other side looks
        fcntl.fcntl(fd, command, struct.pack("hhqqi", kind, 0, OFFSET, 1, 0))

    def _seen_lock():
        fd = os.open(SHARED, os.O_RDONLY)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, OFFSET,
                                                             1, 0))
        os.close(fd)
        if struct.unpack("hhqqi", answer)[0] == fcntl.F_UNLCK:
            raise OSError(errno.ENOENT, "no lock of the other side is visible")

    def _inotify():
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_CLOEXEC)
        if fd < 0 or libc.inotify_add_watch(fd, SHARED.encode(), 0x20) < 0:  # IN_OPEN
            raise OSError(ctypes.get_errno(), "inotify")

    def _dnotify():
        fd = os.open(os.path.dirname(SHARED), os.O_RDONLY)
        KEEP.append(fd)
        fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)

    def _memfd():
        fd = os.memfd_create("pages-no-limit-counts")
        os.write(fd, b"x" * 4096)

    KEEP = []

    def channels(role):
        """Each channel's outcome ("works" or the errno name); the writer holds its locks for a
        few seconds so that the reader, started beside it, would see them."""
        found = {
            "posix_lock": _attempt(lambda: _lock(fcntl.F_SETLK, fcntl.F_RDLCK)),
            "ofd_lock": _attempt(lambda: _lock(fcntl.F_OFD_SETLK, fcntl.F_RDLCK)),
            "flock": _attempt(lambda: fcntl.flock(os.open(SHARED, os.O_RDONLY),
                                                  fcntl.LOCK_SH | fcntl.LOCK_NB)),
            "inotify": _attempt(_inotify),
            "dnotify": _attempt(_dnotify),
            "memfd": _attempt(_memfd),
        }
        if role == "writer":
            time.sleep(6)
        else:
            time.sleep(3)  # the writer has locked by now
            found["lock_seen"] = _attempt(_seen_lock)
        return found
''')

# One grader process: one sandbox running the channels as ``role``; prints the outcome as JSON.
GRADER = textwrap.dedent('''
    import json, sys, tempfile
    from pathlib import Path
    from autograder.sandbox import Isolation, Limits, ProbeRequest, run_in_sandbox
    role, backend, uid, cells = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    isolation = Isolation(backend=backend, uid=uid, gid=uid)
    request = ProbeRequest("c", "call_function", {"name": "channels", "args": [role],
                                                 "kwargs": {}})
    result = run_in_sandbox([cells], [request], Limits(wall_seconds=90, cpu_seconds=90),
                            Path(tempfile.mkdtemp()), isolation=isolation)
    outcome = result.outcomes["c"]
    print(json.dumps({"status": result.status, "reason": result.reason,
                      "found": outcome.value["result"] if outcome.ok else repr(outcome.failure)}))
''')


def test_every_channel_works_outside_a_sandbox():
    """Unconfined (two plain processes), each call works and the reader sees the writer's lock:
    the channels are real on this machine."""
    script = CHANNELS + "\nimport json, sys\nprint(json.dumps(channels(sys.argv[1])))\n"
    processes = {role: subprocess.Popen([sys.executable, "-c", script, role], text=True,
                                        stdout=subprocess.PIPE) for role in ("writer", "reader")}
    found = {role: json.loads(process.communicate(timeout=60)[0])
             for role, process in processes.items()}
    works = dict.fromkeys(("posix_lock", "ofd_lock", "flock", "inotify", "dnotify", "memfd"),
                          "works")
    assert found == {"writer": works, "reader": {**works, "lock_seen": "works"}}, found


def _backends() -> list[str]:
    return ["bwrap", "restricted"] if IS_ROOT else ["bwrap"]


@pytest.mark.parametrize("backend", _backends())
def test_two_graders_sandboxes_share_no_channel(backend):
    """Two grader processes, each with its own sandbox (writer and reader) running at the same
    time: every channel is refused (EACCES) in both, asking about locks included."""
    if backend == "restricted" and not readable_by(Path(os.path.realpath(sys.executable)),
                                                   64011, 64011):
        pytest.skip("the interpreter is unreachable for a sandbox uid here (the restricted "
                    "backend's canary refuses it; see test_sandbox.py)")
    processes = {}
    for role, uid in (("writer", 64011), ("reader", 64012)):
        processes[role] = subprocess.Popen(
            [sys.executable, "-c", GRADER, role, backend, str(uid), CHANNELS], cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outcomes = {}
    for role, process in processes.items():
        out, err = process.communicate(timeout=150)
        assert process.returncode == 0, err[-2000:]
        outcomes[role] = json.loads(out.strip().splitlines()[-1])
    refused = {"posix_lock": "EACCES", "ofd_lock": "EACCES", "flock": "EACCES",
               "inotify": "EACCES", "dnotify": "EACCES", "memfd": "EACCES"}
    assert outcomes["writer"]["found"] == refused, outcomes
    assert outcomes["reader"]["found"] == {**refused, "lock_seen": "EACCES"}, outcomes
