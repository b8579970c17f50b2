"""Hard-link mirrors of the grader's interpreter at a neutral host path, for bubblewrap to bind.

A bind mount's line in ``/proc/self/mountinfo`` names the folder it came from on its filesystem,
whatever path the sandbox shows it at: binding ``/home/ta/kit/.venv/lib/python3.11`` at
``/opt/venv/lib/python3.11`` still tells the student where the kit lies. Bound from a mirror of
hard links (``/var/tmp/prunekit-python-<uid>/<digest>/<n>``) the line says nothing of the host.

A mirror is built once per content of the folders it mirrors (about 4 s for torch's venv; the
digest covers every folder's inode and modification time, which a package install or removal
changes; a file changed in place is the same inode, so the mirror shows it too; bytecode caches
are not counted) and kept for other grader processes, then removed when its sources are gone or
it went unused for ``KEEP_UNUSED_SECONDS`` (its links keep deleted files' space until then).
Hard links need the same filesystem and, where ``fs.protected_hardlinks`` is on, files the
grader may write (its own): where no neutral folder qualifies, the caller binds the real
folders, and mountinfo names them.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Sequence

MIRROR_PARENTS = ("/var/tmp", "/tmp")  # folders that say nothing of the host's layout
KEEP_UNUSED_SECONDS = 24 * 3600
SOURCES_FILE = "sources.json"  # in each mirror: what it mirrors, for removing stale ones


def mirrored(paths: Sequence[str], hidden: Sequence[str]) -> dict[str, str]:
    """{real path: its mirror} for those of ``paths`` (absolute real paths of files and
    folders) that can be mirrored; the others are left out. ``hidden``: folders and files
    below them that the mirror holds empty (the kit's secrets, install records naming the
    checkout), so that it shows no more than the sandbox does. Built at most once per process
    and content; marks the mirrors used (their modification time).

    Side effects: may create, and removes stale, folders under MIRROR_PARENTS.
    """
    found = _mirrors(tuple(sorted(set(paths))), frozenset(hidden))
    for mirror in {os.path.dirname(path) for path in found.values()}:
        _touch(mirror)
    return found


@functools.lru_cache(maxsize=8)
def _mirrors(paths: tuple[str, ...], hidden: frozenset[str]) -> dict[str, str]:
    """:func:`mirrored` without the use mark, one mirror per filesystem."""
    found: dict[str, str] = {}
    for device, group in _by_device(paths).items():
        root = _mirror_root(device)
        if root is not None:
            found.update(_mirror(root, group, hidden))
    return found


def _by_device(paths: Sequence[str]) -> dict[int, list[str]]:
    """The existing ones of ``paths`` grouped by the filesystem they lie on."""
    groups: dict[int, list[str]] = {}
    for path in paths:
        try:
            groups.setdefault(os.lstat(path).st_dev, []).append(path)
        except OSError:
            continue
    return groups


def _mirror_root(device: int) -> Path | None:
    """``<parent>/prunekit-python-<uid>``, owned by the grader, in the first of MIRROR_PARENTS
    on filesystem ``device`` (None where none is, or the folder is not safely the grader's)."""
    for parent in MIRROR_PARENTS:
        try:
            if os.stat(parent).st_dev != device:
                continue
        except OSError:
            continue
        root = Path(parent) / f"prunekit-python-{os.geteuid()}"
        try:
            root.mkdir(mode=0o755, exist_ok=True)
            info = os.lstat(root)
        except OSError:
            continue
        # a world-writable parent: someone else may have made the folder, or a link in its place
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            os.chmod(root, 0o755)
            return root
    return None


def _mirror(root: Path, paths: list[str], hidden: frozenset[str]) -> dict[str, str]:
    """The mirror of ``paths`` under ``root`` (built if missing; {} if hard links fail)."""
    final = root / _digest(paths, hidden)
    if not final.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            for index, path in enumerate(paths):
                _link_tree(path, staging / str(index), hidden)
            (staging / SOURCES_FILE).write_text(json.dumps(paths))
            os.chmod(staging, 0o755)
            os.rename(staging, final)
        except OSError:  # no hard links here, or another grader renamed its build first
            shutil.rmtree(staging, ignore_errors=True)
            if not final.is_dir():
                return {}
    _remove_stale(root, keep=final)
    return {path: str(final / str(index)) for index, path in enumerate(paths)}


def _digest(paths: list[str], hidden: frozenset[str]) -> str:
    """A name for the content of ``paths`` less ``hidden``: every folder's path, inode and
    modification time (a file's path, inode and size for a file). Bytecode caches are left out:
    the grader's own imports add to them, and a mirror without a newer ``.pyc`` only imports
    that module more slowly."""
    digest = hashlib.sha256("\0".join(sorted(hidden)).encode())
    for path in paths:
        for folder, subfolders, _ in os.walk(path) if os.path.isdir(path) else [(path, [], [])]:
            subfolders[:] = [name for name in subfolders if name != "__pycache__"]
            info = os.lstat(folder)
            digest.update(f"{folder}\0{info.st_ino}\0{info.st_mtime_ns}\0{info.st_size}\n"
                          .encode())
    return digest.hexdigest()[:24]


def _link_tree(source: str, target: Path, hidden: frozenset[str]) -> None:
    """``target`` as a copy of ``source`` made of hard links: folders made with their modes,
    files linked, symlinks copied, ``hidden`` folders and files made empty; other kinds
    (sockets, pipes) left out. Raises OSError where a link cannot be made."""
    if not os.path.isdir(source):
        _link_entry(source, target, hidden)
        return
    for folder, subfolders, files in os.walk(source):
        relative = os.path.relpath(folder, source)
        made = target / relative if relative != "." else target
        made.mkdir()
        if folder in hidden:
            subfolders[:] = []
            continue
        for name in files + [s for s in subfolders if os.path.islink(os.path.join(folder, s))]:
            _link_entry(os.path.join(folder, name), made / name, hidden)
        os.chmod(made, stat.S_IMODE(os.lstat(folder).st_mode))


def _link_entry(source: str, target: Path, hidden: frozenset[str]) -> None:
    """One entry of :func:`_link_tree`."""
    mode = os.lstat(source).st_mode
    if source in hidden:
        target.touch(mode=0o644)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISREG(mode):
        os.link(source, target)


def _touch(folder: str) -> None:
    """Mark a mirror used now (stale ones are removed by age)."""
    try:
        os.utime(folder)
    except OSError:
        pass


def _remove_stale(root: Path, keep: Path) -> None:
    """Remove other mirrors under ``root`` whose sources are gone or that went unused for
    KEEP_UNUSED_SECONDS (the hard links keep deleted files' space), and old unfinished builds."""
    now = time.time()
    for entry in root.iterdir():
        if entry == keep:
            continue
        try:
            unused = now - entry.lstat().st_mtime
        except OSError:
            continue
        if unused > KEEP_UNUSED_SECONDS or (
                not entry.name.startswith(".build-") and _sources_gone(entry)):
            shutil.rmtree(entry, ignore_errors=True)


def _sources_gone(mirror: Path) -> bool:
    """Whether a mirror's record is missing or names a path that no longer exists."""
    try:
        sources = json.loads((mirror / SOURCES_FILE).read_text())
    except (OSError, ValueError):
        return True
    return not all(isinstance(path, str) and os.path.lexists(path) for path in sources)
