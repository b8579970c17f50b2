"""One sandbox folder: what the grader writes before the run, and removing it afterwards.

Layout (the runner's view of it is documented in ``inside/runner.py``)::

    launcher.py confine.py runner.py provenance.py   the code that runs inside (from inside/)
    probes.py                                    the probe module (``manifest.SANDBOX_PROBES``)
    lib/<package>/                               the public packages student code may import
                                                 (``manifest.SANDBOX_PACKAGES``)
    job.pt                                       cells, probe requests, settings (plain data)
    launch.json                                  the launcher's configuration (grader-only, 0600)
    etc/passwd, etc/group                        the sandbox user's identity (bwrap only)
    home/                                        the student's working directory (its uid's)
    out/                                         what the runner writes back (its uid's)
    stdout.txt stderr.txt                        the student process's output
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

from autograder.manifest import KIT_ROOT, SANDBOX_PACKAGES, SANDBOX_PROBES
from autograder.sandbox.api import MIN_CELL_SECONDS, Limits, ProbeRequest
from autograder.sandbox.untrusted import BadResult, Budget, plain

INSIDE_DIR = Path(__file__).resolve().parent / "inside"
INSIDE_FILES = ("launcher.py", "confine.py", "runner.py", "provenance.py")


@dataclass
class SandboxFolder:
    """Paths of one sandbox folder (real paths, as the grader sees them)."""
    root: Path
    owner: tuple[int, int] | None  # (uid, gid) owning home/ and out/ when privileges are dropped
    sandbox_id: str

    home = property(lambda self: self.root / "home")
    out = property(lambda self: self.root / "out")
    config = property(lambda self: self.root / "launch.json")
    stdout = property(lambda self: self.root / "stdout.txt")
    stderr = property(lambda self: self.root / "stderr.txt")
    etc = property(lambda self: self.root / "etc")

    @classmethod
    def create(cls, workdir: Path, owner: tuple[int, int] | None) -> "SandboxFolder":
        """A fresh, empty sandbox folder under ``workdir`` (traversable by everyone, writable
        only by the grader)."""
        workdir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="sandbox-", dir=workdir))
        os.chmod(root, 0o755)
        return cls(root=root, owner=owner, sandbox_id=uuid.uuid4().hex)

    def populate(self, cells: list[str], requests: Sequence[ProbeRequest], limits: Limits,
                 extra_files: Mapping[str, Path]) -> None:
        """Copy the inside code, the manifest's probe module and packages in, write the job, make
        home/ and out/ (owned by the sandbox user), copy ``extra_files`` into home/ (read-only
        files there)."""
        for name in INSIDE_FILES:
            shutil.copyfile(INSIDE_DIR / name, self.root / name)
        shutil.copyfile(KIT_ROOT / SANDBOX_PROBES, self.root / "probes.py")
        for package in SANDBOX_PACKAGES:
            shutil.copytree(package_dir(package), self.root / "lib" / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        write_job(self.root / "job.pt", cells, requests, limits)
        (self.home / "tmp").mkdir(parents=True)
        self.out.mkdir()
        for name, source in extra_files.items():
            target = self.home / safe_relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        make_public(self.root)
        for private in (self.home, self.home / "tmp", self.out):
            if self.owner:
                os.chown(private, *self.owner)
            os.chmod(private, 0o700)

    def remove(self) -> None:
        """Delete the folder, whatever modes the student code left in it."""
        def make_writable_and_retry(function, path, _):
            try:
                os.chmod(os.path.dirname(path), 0o700)
                os.chmod(path, 0o700)
                function(path)
            except OSError:
                pass

        shutil.rmtree(self.root, onerror=make_writable_and_retry)


def check_requests(requests: Sequence[ProbeRequest]) -> None:
    """ValueError unless every request has a unique string id and a plain probe name."""
    ids = [request.id for request in requests]
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"probe request ids must be unique strings, got {ids}")
    for request in requests:
        if not request.probe.isidentifier() or request.probe.startswith("_"):
            raise ValueError(f"not a probe name: {request.probe!r}")
        try:  # the runner loads them with weights_only: catch a grader bug here, clearly
            plain(dict(request.kwargs), Budget(2**62))
        except BadResult as error:
            raise ValueError(f"request {request.id!r}: kwargs must be plain data ({error})") \
                from None


def package_dir(package: str) -> Path:
    """Folder of the package ``package`` as the grader itself imports it (the kit's copy where
    it is not importable)."""
    spec = importlib.util.find_spec(package)
    if spec and spec.origin:
        return Path(spec.origin).resolve().parent
    return KIT_ROOT / package


def write_job(path: Path, cells: list[str], requests: Sequence[ProbeRequest],
              limits: Limits) -> None:
    """Save what the runner must do (plain data only; the runner loads it with weights_only)."""
    import torch

    job = {
        "cells": [str(cell) for cell in cells],
        "requests": [{"probe": r.probe, "kwargs": dict(r.kwargs), "seed": r.seed}
                     for r in requests],
        "settings": {"threads": int(limits.threads), "max_result_bytes": int(limits.result_bytes),
                     "cell_seconds": float(limits.cell_seconds),
                     "cells_seconds": float(limits.cells_seconds),
                     "min_cell_seconds": float(MIN_CELL_SECONDS)},
    }
    torch.save(job, path)


def safe_relative(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside the sandbox home; ValueError otherwise."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise ValueError(f"extra file name must be a relative path inside the sandbox: {name!r}")
    return relative


def make_public(root: Path) -> None:
    """Grader-written files readable (0644) and folders traversable (0755) by everyone: the
    sandbox user must read the runner, the job and the support package, but not change them."""
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(Path(directory) / name, 0o644)
