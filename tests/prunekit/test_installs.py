"""``prunekit.installs`` (the Colab set-up cell's installer) in a fresh virtual environment with a
local package index of hand-made wheels: it installs a missing package and the dependencies
that are missing altogether, never upgrades one that is installed at another version (Colab's
ipywidgets 7 under Otter's ipywidgets>=8), keeps pip's messages out of the notebook, and says
what it installed."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import packaging
import pytest

import prunekit

pytestmark = pytest.mark.slow  # a virtual environment with pip: about 5 s

# name -> (version, Requires-Dist lines): labtool stands for otter-grader, oldpkg for ipywidgets
WHEELS = {
    "labtool": ("1.0", ["labdep", "oldpkg>=2", 'extradep; extra == "x"',
                        'otherplatform; sys_platform == "nonexistent"']),
    "labdep": ("1.0", ["labsub>=1"]),
    "labsub": ("1.0", []),
    "oldpkg": ("2.0", []),
    "extradep": ("1.0", []),
    "otherplatform": ("1.0", []),
}


def write_wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A minimal pure-Python wheel: one module ``name`` and its dist-info."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\n"
                            f"Name: {name}\nVersion: {version}\n"
                            + "".join(f"Requires-Dist: {line}\n" for line in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
    }
    record = "".join(f"{path},sha256={_digest(text)},{len(text.encode())}\n"
                     for path, text in files.items()) + f"{info}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in {**files, f"{info}/RECORD": record}.items():
            archive.writestr(member, text)
    return path


def _digest(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """(python of a fresh venv with oldpkg 1.0 installed, environment pointing pip at the
    local wheels only, the lab folder holding prunekit/installs.py)."""
    root = tmp_path_factory.mktemp("runtime")
    wheels = root / "wheels"
    wheels.mkdir()
    for name, (version, requires) in WHEELS.items():
        write_wheel(wheels, name, version, requires)
    old = root / "old"
    old.mkdir()
    write_wheel(old, "oldpkg", "1.0", [])
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    lab = root / "lab"
    shutil.copytree(Path(prunekit.__file__).parent, lab / "prunekit")
    shutil.copytree(Path(packaging.__file__).parent, root / "site" / "packaging")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
           "PYTHONPATH": str(root / "site")}
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--find-links", old,
                    "oldpkg==1.0"], check=True, env=env)
    return python, env, lab


def installed(python: Path, env: dict) -> dict[str, str]:
    listing = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], env=env,
                             capture_output=True, text=True, check=True).stdout
    return dict(line.split("==") for line in listing.split())


def test_installs_what_is_missing_and_keeps_what_is_there(runtime):
    python, env, lab = runtime
    code = ("from prunekit.installs import install_missing\n"
            "install_missing([('labtool', 'labtool==1.0'), ('json', 'json-is-there')])\n"
            "import labtool, labdep, labsub\n")
    run = subprocess.run([python, "-c", code], cwd=lab, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("installed labtool 1.0, labdep 1.0, labsub 1.0; every "
                                  "package the runtime had is kept as it was (pip's messages: "
                                  "pip-install.log)")
    assert run.stderr == ""  # nothing in red under the cell
    versions = installed(python, env)
    assert versions["oldpkg"] == "1.0"  # installed at another version than labtool asks: kept
    assert "extradep" not in versions and "otherplatform" not in versions
    assert "labtool" in (lab / "pip-install.log").read_text()
    again = subprocess.run([python, "-c", code], cwd=lab, env=env, capture_output=True,
                           text=True)
    assert again.returncode == 0 and again.stdout == ""  # all there: silent


def test_a_failed_install_says_what_and_where_the_log_is(runtime):
    python, env, lab = runtime
    code = ("from prunekit.installs import install_missing\n"
            "install_missing([('nosuchmodule', 'nosuchpackage==9')])\n")
    run = subprocess.run([python, "-c", code], cwd=lab, env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "RuntimeError: pip could not install nosuchpackage==9 (full output in " \
           "pip-install.log)" in run.stderr
