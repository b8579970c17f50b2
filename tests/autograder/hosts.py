"""Simulated grading machines, for the isolation tests: run a command as the grader would run on
a laptop account, in a Docker container, or in a container without capabilities.

All of them are built with bubblewrap from the test machine (which must be root), so they are
real kernel boundaries, not mocks:

- ``ordinary_user``: the command runs as an unprivileged uid (as an instructor's account or a
  JupyterHub would), in a mount namespace where only the folders it needs are made traversable
  (``/root`` is 0700 on the kit's machines, and the interpreter lives below it);
- ``docker_like``: the command runs as root without CAP_SYS_ADMIN under a seccomp filter that
  refuses new namespaces and mounts, as Docker's default profile does (so bubblewrap cannot
  work there); ``landlock=False`` also refuses Landlock, as older kernels or profiles would;
  its process table is its own, and with ``image`` its disk too, not this machine's;
- ``unprivileged_container``: ``bwrap --unshare-user --disable-userns --cap-drop ALL``: "root"
  without any capability, where neither namespaces nor a uid switch work.
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from autograder.sandbox import find_bwrap
from autograder.sandbox.plan import interpreter_paths
from autograder.sandbox.supervise import bwrap_args_bytes
from autograder.sandbox.permissions import permits

HERE = Path(__file__).resolve().parent
TEST_USER = 4242  # the ordinary user's uid and gid (no account needed)
# Docker's default seccomp profile refuses these for a process without CAP_SYS_ADMIN.
NAMESPACE_CALLS_X86_64 = {"unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
                          "pivot_root": 155}
CLONE, CLONE3 = 56, 435
LANDLOCK_CALLS = (444, 445, 446)
CLONE_NEW_FLAGS = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
ENOSYS, EPERM = 38, 1


def _filter(landlock: bool) -> bytes:
    """BPF (x86-64) refusing namespace creation and mounts like Docker's default profile, and
    Landlock too unless ``landlock``."""
    allow, deny, nosys = 0x7FFF0000, 0x00050000 | EPERM, 0x00050000 | ENOSYS
    program = [(0x20, 0, 0, 0)]  # load the call number
    for number in NAMESPACE_CALLS_X86_64.values():
        program += [(0x15, 0, 1, number), (0x06, 0, 0, deny)]
    program += [(0x15, 0, 1, CLONE3), (0x06, 0, 0, nosys)]  # glibc then falls back to clone
    if not landlock:
        for number in LANDLOCK_CALLS:
            program += [(0x15, 0, 1, number), (0x06, 0, 0, nosys)]
    program += [(0x15, 0, 3, CLONE), (0x20, 0, 0, 16),  # clone: load the flags (args[0])
                (0x45, 0, 1, CLONE_NEW_FLAGS), (0x06, 0, 0, deny)]
    program.append((0x06, 0, 0, allow))
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program)


SECCOMP_EXEC = """
import ctypes, os, sys
code = bytes.fromhex(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
buffer = ctypes.create_string_buffer(code, len(code))
prog = Prog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0
assert libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) == 0, ctypes.get_errno()
os.execv(sys.argv[2], sys.argv[2:])
"""


def _reachable_args(paths: Sequence[str], uid: int) -> list[str]:
    """bubblewrap options that make each of ``paths`` reachable for ``uid``: every folder on
    the way that ``uid`` may not enter is covered by a 0755 tmpfs that holds only the paths
    (not the rest of the folder they lie in: a checkout in a 0700 folder would come back
    whole)."""
    blocked: dict[str, set[str]] = {}
    for path in map(os.path.realpath, paths):
        for ancestor in reversed(Path(path).parents):
            if not permits(ancestor, uid, uid, "x"):
                blocked.setdefault(str(ancestor), set()).add(path)
                break
    args = []
    for folder in sorted(blocked, key=lambda f: f.count("/")):
        args += ["--perms", "0755", "--tmpfs", folder]
        made: set[str] = set()
        for path in sorted(blocked[folder]):
            for parent in reversed(Path(path).relative_to(folder).parents[:-1]):
                inner = f"{folder}/{parent}"
                if inner not in made:  # the way down, enterable (bwrap would make it 0700)
                    args += ["--perms", "0755", "--dir", inner]
                    made.add(inner)
            args += ["--bind", path, path]
    return args


def _needed(extra: Sequence[str]) -> list[str]:
    from autograder.sandbox.api import REPO_ROOT

    return [*interpreter_paths(), sys.executable, str(REPO_ROOT), *map(str, extra)]


def ordinary_user(argv: Sequence[str], reachable: Sequence[str] = (), uid: int = TEST_USER,
                  **run_args) -> subprocess.CompletedProcess:
    """Run ``argv`` as the unprivileged ``uid`` (see the module docstring)."""
    drop = ("import os, sys; os.setgroups([]); os.setgid(%d); os.setuid(%d); "
            "os.execv(sys.argv[1], sys.argv[1:])" % (uid, uid))
    options = ["--dev-bind", "/", "/", *_reachable_args(_needed(reachable), uid)]
    return _run_bwrap(options, [sys.executable, "-I", "-S", "-c", drop, *argv], run_args)


def docker_like(argv: Sequence[str], reachable: Sequence[str] = (), landlock: bool = True,
                sandbox_uid: int = 65533, image: Sequence[Path] | None = None,
                **run_args) -> subprocess.CompletedProcess:
    """Run ``argv`` as root in a simulated default Docker container (see the module docstring);
    the paths in ``reachable`` (and the interpreter and the kit) are made reachable for
    ``sandbox_uid`` too, as in an image where Python lies in /usr/local. Like every container
    it has its own process table: a restricted grader's clean-up (``kill(-1)`` as its sandbox
    uid) reaches no process of another container or of this machine, which the tests' graders
    running side by side rely on. With ``image`` the container's disk holds only what an image
    would: the system folders, the interpreter and the paths in ``image``, with empty ``/run``
    and ``/var``; everything else of this machine (other checkouts of the kit among it) is
    empty in there."""
    if image is None:
        hidden, needed = [*CONTAINER_RUNTIME_ARGS], _needed(reachable)
    else:  # the image holds no checkout of the kit: the interpreter comes without it
        needed = [*interpreter_paths(), sys.prefix, sys.executable, *map(str, image),
                  *map(str, reachable)]
        hidden = [*_image_args(needed), *CONTAINER_RUNTIME_ARGS]
    options = ["--dev-bind", "/", "/", *hidden, *_reachable_args(needed, sandbox_uid),
               "--cap-drop", "CAP_SYS_ADMIN"]
    return _run_bwrap(options, [sys.executable, "-I", "-S", "-c", SECCOMP_EXEC,
                                _filter(landlock).hex(), *argv], run_args)


def _run_bwrap(options: Sequence[str], command: Sequence[str],
               run_args: dict) -> subprocess.CompletedProcess:
    """Run ``command`` under bubblewrap with ``options`` read from a file descriptor
    (``--args``): on the command line they would show every path of this machine they name to
    any process that reads ``/proc/*/cmdline``, the attacks that search it among them."""
    args_fd = os.memfd_create("bwrap-args")
    try:
        with open(args_fd, "wb", closefd=False) as args_file:
            args_file.write(bwrap_args_bytes(list(options)))
        os.lseek(args_fd, 0, os.SEEK_SET)
        return subprocess.run([find_bwrap(), "--args", str(args_fd), "--", *command],
                              pass_fds=(args_fd,), **run_args)
    finally:
        os.close(args_fd)


# What every image has; anything else at the top (/run and /var among it: what this machine
# keeps there is not in an image) is emptied.
SYSTEM_FOLDERS = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc",
                  "sys"}
# What a container runtime gives every container: its own process table (no process of this
# machine, a CI harness's among them, is visible).
CONTAINER_RUNTIME_ARGS = ["--unshare-pid", "--proc", "/proc"]


def _image_args(kept: Sequence[str]) -> list[str]:
    """bubblewrap options that empty every folder and file of this machine except the system
    folders, the paths in ``kept`` and the folders on the way to them: each sibling of the
    way is covered (a folder by an empty tmpfs, a file by /dev/null)."""
    kept_real = {os.path.realpath(path) for path in kept}
    on_the_way = {str(parent) for path in kept_real for parent in Path(path).parents}
    args = []
    for folder in sorted(on_the_way - kept_real, key=lambda f: (f.count("/"), f)):
        if any(folder.startswith(k.rstrip("/") + "/") for k in kept_real):
            continue  # inside a kept path: kept whole
        for child in sorted(Path(folder).iterdir()):
            path = str(child)
            if path in on_the_way or path in kept_real or child.is_symlink() or (
                    folder == "/" and child.name in SYSTEM_FOLDERS):
                continue
            if child.is_dir():
                args += ["--tmpfs", path]
            elif child.is_file():
                args += ["--ro-bind", "/dev/null", path]
    return args


def unprivileged_container(argv: Sequence[str], **run_args) -> subprocess.CompletedProcess:
    """Run ``argv`` as "root" with no capability and no way to make namespaces."""
    bwrap = find_bwrap()
    command = [bwrap, "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
               "--dev-bind", "/", "/", "--", *argv]
    return subprocess.run(command, **run_args)
