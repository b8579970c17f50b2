"""Tests of the hard-link mirrors that bubblewrap binds the interpreter from
(autograder/sandbox/mirror.py): same files at a neutral path, secrets left empty, built once per
content, stale ones removed, and no mirror where hard links cannot be made."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder.sandbox import mirror


@pytest.fixture
def neutral(tmp_path, monkeypatch) -> Path:
    """A mirror parent on the test's filesystem, and a fresh per-process cache."""
    parent = tmp_path / "neutral"
    parent.mkdir()
    monkeypatch.setattr(mirror, "MIRROR_PARENTS", (str(parent),))
    mirror._mirrors.cache_clear()
    yield parent
    mirror._mirrors.cache_clear()


def make_tree(root: Path) -> Path:
    """A small site-packages: a package, a symlink, a private folder, the kit's secrets."""
    packages = root / "site-packages"
    (packages / "torch" / "__pycache__").mkdir(parents=True)
    (packages / "torch" / "__init__.py").write_text("VERSION = 1\n")
    (packages / "torch" / "link.py").symlink_to("__init__.py")
    (packages / "private").mkdir(mode=0o700)
    (packages / "solutions").mkdir()
    (packages / "solutions" / "answers.py").write_text("ANSWER = 42\n")
    (packages / "finder.py").write_text("/home/ta/kit\n")
    return packages


def mirror_of(packages: Path, hidden=()) -> Path | None:
    """The mirror of one folder, or None; a new process's view (cache cleared)."""
    mirror._mirrors.cache_clear()
    found = mirror.mirrored([str(packages)], hidden=[str(packages / name) for name in hidden])
    return Path(found[str(packages)]) if found else None


def test_a_mirror_shows_the_same_files_at_a_neutral_path(neutral, tmp_path):
    """The mirror lies under the neutral parent, holds the same inodes (a file changed in
    place shows there too), keeps folder modes and relative symlinks, and holds the hidden
    folder and file empty."""
    packages = make_tree(tmp_path / "kit" / ".venv")
    shown = mirror_of(packages, hidden=["solutions", "finder.py"])
    assert shown is not None
    assert shown.parent.parent == neutral / f"prunekit-python-{os.geteuid()}"
    assert (shown / "torch" / "__init__.py").samefile(packages / "torch" / "__init__.py")
    (packages / "torch" / "__init__.py").write_text("VERSION = 2\n")
    assert (shown / "torch" / "link.py").read_text() == "VERSION = 2\n"
    assert os.readlink(shown / "torch" / "link.py") == "__init__.py"
    assert (shown / "private").stat().st_mode & 0o777 == 0o700
    assert list((shown / "solutions").iterdir()) == []
    assert (shown / "finder.py").read_text() == ""
    assert str(tmp_path / "kit") not in str(shown)


def test_a_mirror_is_built_once_per_content(neutral, tmp_path):
    """Another process reuses the mirror; bytecode the grader adds does not count; a package
    installed or removed gives a new mirror (the old one stays while its sources exist)."""
    packages = make_tree(tmp_path / "venv")
    first = mirror_of(packages)
    (packages / "torch" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    assert mirror_of(packages) == first
    (packages / "numpy").mkdir()
    second = mirror_of(packages)
    assert second != first and (second / "numpy").is_dir()
    assert first.is_dir()


def test_stale_mirrors_are_removed(neutral, tmp_path):
    """A mirror whose sources are gone, or unused for longer than KEEP_UNUSED_SECONDS, is
    removed when another is built; one in use is kept."""
    gone = mirror_of(make_tree(tmp_path / "deleted-clone"))
    old = mirror_of(make_tree(tmp_path / "old"))
    long_ago = time.time() - mirror.KEEP_UNUSED_SECONDS - 60
    os.utime(old.parent, (long_ago, long_ago))
    for path in sorted((tmp_path / "deleted-clone").rglob("*"), reverse=True):
        path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()
    kept = mirror_of(make_tree(tmp_path / "current"))
    assert not gone.parent.exists() and not old.parent.exists()
    assert kept.is_dir()


def test_no_mirror_where_hard_links_cannot_be_made(tmp_path, monkeypatch):
    """On another filesystem than the sources (a tmpfs), or where the mirror folder is not the
    grader's own (a symlink planted in a shared parent), there is no mirror: the caller binds
    the real folders."""
    packages = make_tree(tmp_path / "venv")
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem to try")
    monkeypatch.setattr(mirror, "MIRROR_PARENTS", (str(other),))
    assert mirror_of(packages) is None
    planted = tmp_path / "shared"
    planted.mkdir()
    (planted / f"prunekit-python-{os.geteuid()}").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setattr(mirror, "MIRROR_PARENTS", (str(planted),))
    assert mirror_of(packages) is None
    assert not (tmp_path / "elsewhere").exists()
