"""File permissions as the last line for secrets: where no allow-list hides them (the
restricted and none backends), the sandbox uid must not be able to read them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable


def harden_permissions(paths: Iterable[Path]) -> list[str]:
    """Make each secret directory (or file) root-owned with mode 0700 (files: 0600), so that the
    sandbox user can neither list nor read anything under it.

    Only the given paths change, not their contents: a directory without permission bits for
    "others" already hides everything below it. Needs root for the chown; as another user only
    the modes of one's own paths change. Missing paths are skipped.

    Side effects: chown / chmod of ``paths``. Returns: one line per change or skip, for the log.
    """
    actions = []
    for path in map(Path, paths):
        if not path.exists():
            actions.append(f"skipped {path}: missing")
            continue
        mode = 0o700 if path.is_dir() else 0o600
        if os.geteuid() == 0:
            os.chown(path, 0, 0, follow_symlinks=False)
        os.chmod(path, mode)
        owner = "root" if os.geteuid() == 0 else "unchanged owner"
        actions.append(f"{path}: mode {mode:o}, {owner}")
    return actions


def readable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid`` (with primary group ``gid`` and no supplementary groups, as in the sandbox)
    could open ``path`` for reading, judged from the permission bits of the path and of every
    directory above it (ACLs and capabilities are not considered; uid 0 reads everything)."""
    real = Path(os.path.realpath(path))
    if uid == 0:
        return real.exists()
    try:
        if not all(permits(parent, uid, gid, "x") for parent in reversed(real.parents)):
            return False
        return permits(real, uid, gid, "r")
    except OSError:
        return False


def exposed_secrets(paths: Iterable[Path], uid: int, gid: int, limit: int = 20) -> list[Path]:
    """Files and directories under ``paths`` that ``uid``/``gid`` could read (see readable_by);
    at most ``limit`` of them. Directories the uid cannot enter are not walked into."""
    exposed: list[Path] = []
    for top in map(Path, paths):
        if not top.exists():
            continue
        for directory, subdirs, files in os.walk(top):
            here = Path(directory)
            if not readable_by(here, uid, gid) or not permits(here, uid, gid, "x"):
                subdirs.clear()  # nothing below an unreadable or closed directory is reachable
                continue
            exposed.append(here)
            exposed.extend(here / name for name in files if readable_by(here / name, uid, gid))
            if len(exposed) >= limit:
                return exposed[:limit]
    return exposed


def permits(path: Path | str, uid: int, gid: int, what: str) -> bool:
    """Whether the owner/group/other permission bits of ``path`` that apply to ``uid``/``gid``
    include ``what`` ("r" or "x")."""
    info = os.stat(path)
    if uid == 0:
        return True
    shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
    bit = {"r": 4, "x": 1}[what]
    return bool((info.st_mode >> shift) & bit)


