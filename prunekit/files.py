"""Writing files so that a crash or an interrupt never leaves half of one, and zips that come
out byte for byte the same on every build: the one home of the kit's atomic writes (model files,
checkpoints, zips, grading records) and of its reproducible zips."""
from __future__ import annotations

import fcntl
import os
import stat
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

PARTIAL_SUFFIX = ".partial"  # a file being written; never read as a finished one


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; when the block ends without an error it
    replaces ``path`` in one step (readers see the old file or the new one, never a half), and
    when the block raises it is removed.

    Side effect: creates ``path``'s parent folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One partial per process: two processes writing the same file at once (two test workers
    # making the same cache entry) must not write into each other's partial.
    partial = path.with_name(f"{path.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def held_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (``flock``; created if missing) for the
    block: processes that make the same cached file one after the other, not side by side (the
    second then finds it made). The kernel drops the lock if the process dies.

    Side effect: creates ``path`` and its parent folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`); return ``path``."""
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def write_reproducible_zip(path: str | Path, entries: Mapping[str, bytes],
                           mode_of: Callable[[str], int] = lambda name: 0o644,
                           compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Write ``entries`` (name in the zip -> bytes) to the zip ``path`` so that the same entries
    give the same bytes on every machine and run: sorted names, the fixed date
    :data:`FIXED_ZIP_DATE`, regular files with permission bits ``mode_of(name)``. Written
    atomically (:func:`atomic_path`); returns ``path``."""
    with atomic_path(path) as partial, \
            zipfile.ZipFile(partial, "w", compression=compression) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.compress_type = compression
            info.external_attr = (stat.S_IFREG | mode_of(name)) << 16
            archive.writestr(info, entries[name])
    return Path(path)
