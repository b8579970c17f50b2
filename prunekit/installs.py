"""Installing what a notebook's runtime lacks without changing what it has (the Colab set-up).

Colab comes with torch, numpy, matplotlib and hundreds of other packages, some at versions its
own tools need (``google-colab`` wants its ``ipywidgets`` 7). A plain ``pip install
otter-grader`` upgrades those to what Otter asks for (``ipywidgets`` 8) and pip prints a
dependency conflict in red on every fresh runtime, although the lab's use of Otter (checks and
export) runs with what Colab has. :func:`install_missing` installs each missing package without
its dependencies, then the dependencies that are missing altogether (and theirs, in turn),
and leaves every installed distribution at the version it has. pip's own messages go to a log.
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from packaging.requirements import Requirement

PIP_LOG = Path("pip-install.log")  # pip's output, beside the notebook


def install_missing(packages: Sequence[tuple[str, str]], log: Path = PIP_LOG) -> list[str]:
    """Install each ``(module, requirement)`` whose module cannot be imported, then what those
    lack, never upgrading or replacing an installed distribution.

    Returns:
        ``"name version"`` of every distribution installed, in order (empty: nothing was
        missing).

    Side effects: runs pip (its output appended to ``log``); prints one line saying what was
    installed, nothing when nothing was missing.

    Raises:
        RuntimeError: pip failed; the message ends with pip's last lines.
    """
    wanted = {Requirement(text).name: text for module, text in packages
              if importlib.util.find_spec(module) is None}
    installed: list[str] = []
    while wanted:
        _pip_install(list(wanted.values()), log)
        installed += wanted
        wanted = _missing_dependencies([Requirement(text) for text in wanted.values()])
    importlib.invalidate_caches()  # the new packages are importable in this process
    versions = [f"{name} {metadata.version(name)}" for name in installed]
    if versions:
        print(f"installed {', '.join(versions)}; every package the runtime had is kept as it "
              f"was (pip's messages: {log})")
    return versions


def _missing_dependencies(requirements: Sequence[Requirement]) -> dict[str, str]:
    """The dependencies of the just-installed ``requirements`` (with their extras) that no
    installed distribution provides: name -> requirement text (without its marker)."""
    missing: dict[str, str] = {}
    for requirement in requirements:
        extras = {""} | set(requirement.extras)
        for text in metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is not None and not any(marker.evaluate({"extra": e}) for e in extras):
                continue
            if not _is_installed(dependency.name):
                dependency.marker = None
                missing[dependency.name] = str(dependency)
    return missing


def _is_installed(name: str) -> bool:
    """Whether any version of the distribution ``name`` is installed."""
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _pip_install(requirements: list[str], log: Path) -> None:
    """``pip install --no-deps`` of ``requirements``, quietly; pip's output appended to
    ``log``."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
               "--disable-pip-version-check", *requirements]
    run = subprocess.run(command, capture_output=True, text=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n{run.stdout}{run.stderr}")
    if run.returncode != 0:
        raise RuntimeError(f"pip could not install {' '.join(requirements)} (full output in "
                           f"{log}):\n{run.stderr[-1500:]}")
