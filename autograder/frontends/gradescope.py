"""Gradescope: the autograder zip, and its entry point that runs this hardened grader.

``python -m autograder gradescope-zip [--out FILE] [--profile NAME]`` builds a zip to upload as a
Gradescope programming assignment's autograder. Gradescope unpacks it into
``/autograder/source``, runs ``setup.sh`` once to build the image, and for every submission
copies ``run_autograder`` to ``/autograder/run_autograder`` and runs it, with the student's
upload in ``/autograder/submission`` (a notebook, or the zip ``grader.export`` makes; Gradescope
unpacks uploaded zips) and ``/autograder/results/results.json`` expected back.

The zip holds:

=========================  =====================================================================
``setup.sh``                installs Python :data:`GRADER_PYTHON` (with uv; Ubuntu 22.04's own
                            3.10 is older than what later torch pins support) and only
                            ``requirements-grader.txt`` (torch from the CPU wheel index) into
                            ``/autograder/venv``, then ``gradescope-prepare`` (the hidden
                            split and the base model, built once into the image; a
                            real-data profile downloads CIFAR-10 there first)
``run_autograder``          ``python -m autograder gradescope-run --root /autograder``
``run_prairielearn``        ``python -m autograder prairielearn-run`` (the same zip as a
                            PrairieLearn image's grader: docs/gradescope-prairielearn.md)
``requirements-grader.txt`` what the grader needs (no Jupyter, Otter or pytest)
``gradescope_config.json``  the profile to grade with
``prunekit/``               the support package
``autograder/``             this grader, its checks and the profile's calibration
``solutions/``              the reference implementation (the checks compare with it)
``checkpoints/``            the profile's dense base checkpoint
=========================  =====================================================================

Student code never sees any of it: the grader runs it in a sandbox whose filesystem holds only
the interpreter and the sandbox's own folder (bubblewrap) or, where the container allows no
namespaces (the restricted backend), as a dedicated uid under seccomp and Landlock with the
kit's secrets made root-only (``sandbox.harden_permissions``, done here before grading).

``python -m autograder gradescope-run [--root ROOT]`` is the entry point: it finds the submission
in ``ROOT/submission``, grades it like ``grade`` does (one worker, the same hard deadline) and
writes ``ROOT/results/results.json``, whatever happens (a grader failure gives a zero score and an
output that says to contact the course staff). The root is configurable so that tests run it on a
temporary folder with Gradescope's layout (``ROOT/source``, ``ROOT/submission``, ``ROOT/results``).
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Callable

from autograder import manifest, questions
from autograder.core.single import grade_folder, platform_folder
from autograder.frontends import report
from autograder.manifest import (KIT_ROOT, PACKAGED_SETTINGS, base_checkpoint_path,
                                 packaged_setting)
from autograder.results import SubmissionResult
from prunekit.files import write_reproducible_zip

DEFAULT_ZIP = KIT_ROOT / "runs" / "gradescope" / "prunekit-autograder.zip"
PACKAGES = manifest.GRADER
SKIPPED = ("__pycache__", "*.pyc", ".DS_Store", "*.partial")
METADATA_FILE = "submission_metadata.json"  # Gradescope's, beside submission/

GRADER_PYTHON = "3.11"  # the image's Python: the kit's, and one the pinned torch has wheels for
GRADER_REQUIREMENTS = manifest.GRADER_FILES[0]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope image set-up (runs once, as root, from /autograder/source): Python {GRADER_PYTHON}
# in /autograder/venv with only the grader's requirements ({GRADER_REQUIREMENTS}), torch and
# torchvision as the CPU-only builds (Gradescope has no GPU), then the grader's caches.
# PRUNEKIT_SETUP_PYTHON: an interpreter that already has those requirements (a test, an image
# built elsewhere): used as it is, nothing is installed or downloaded.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(dirname "$(pwd)")"
VENV="$ROOT/venv"
if [ -n "${{PRUNEKIT_SETUP_PYTHON:-}}" ]; then
    mkdir -p "$VENV/bin"
    printf '#!/bin/sh\\nexec "%s" "$@"\\n' "$PRUNEKIT_SETUP_PYTHON" > "$VENV/bin/python"
    chmod 755 "$VENV/bin/python"
else
    export DEBIAN_FRONTEND=noninteractive
    # The sandbox user must read the interpreter: not under /root (uv's default), and files
    # copied, not linked to root's cache.
    export UV_PYTHON_INSTALL_DIR=/opt/prunekit-python UV_LINK_MODE=copy
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3-pip ca-certificates
    # pip refuses system-wide installs from Ubuntu 23.04 on (PEP 668); 22.04's pip has no flag
    python3 -m pip install -q "uv>=0.5,<1" \\
        || python3 -m pip install -q --break-system-packages "uv>=0.5,<1"
    python3 -m uv python install {GRADER_PYTHON}
    python3 -m uv venv --python {GRADER_PYTHON} "$VENV"
    # torch and torchvision first, from the CPU index, at the pins of {GRADER_REQUIREMENTS}
    grep -E '^(torch|torchvision)==' {GRADER_REQUIREMENTS} > /tmp/torch-pins.txt
    python3 -m uv pip install -q --python "$VENV/bin/python" --index-url {TORCH_CPU_INDEX} \\
        -r /tmp/torch-pins.txt
    python3 -m uv pip install -q --python "$VENV/bin/python" -r {GRADER_REQUIREMENTS}
fi
"$VENV/bin/python" -m autograder gradescope-prepare
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this once per submission as /autograder/run_autograder (a copy of
# source/run_autograder). It grades /autograder/submission with the kit's hardened grader and
# writes /autograder/results/results.json. PRUNEKIT_PYTHON overrides the interpreter (tests).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -d "$HERE/source" ]; then ROOT="$HERE"; else ROOT="$(dirname "$HERE")"; fi
PYTHON="${PRUNEKIT_PYTHON:-$ROOT/venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
cd "$ROOT/source"
exec "$PYTHON" -m autograder gradescope-run --root "$ROOT"
"""

RUN_PRAIRIELEARN = """#!/usr/bin/env bash
# A PrairieLearn external grader's entry point, in an image where this zip was unpacked into
# KIT/source and KIT/source/setup.sh was run (KIT: any folder; the interpreter is KIT/venv).
# It grades /grade/student into /grade/results/results.json; arguments are passed on
# (--root ROOT for another layout, --timeout S).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
[ -d "$ROOT/source" ] || ROOT="$(dirname "$ROOT")"
PYTHON="${PRUNEKIT_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
exec "$PYTHON" -m autograder prairielearn-run "$@"
"""


class GradescopeError(RuntimeError):
    """The zip cannot be built, or the Gradescope folder is not there (one line)."""


# ---------------------------------------------------------------------------------------------
# Building the zip
# ---------------------------------------------------------------------------------------------

def build_zip(out: Path | None = None, profile: str = "offline",
              checkpoint: Path | None = None, calibration: Path | None = None,
              visibility: str = report.GRADESCOPE_RUN_VISIBILITY) -> Path:
    """Write the Gradescope autograder zip (contents: see the module docstring) to ``out``.

    Args:
        checkpoint: the dense base checkpoint to ship (default: the one the grader uses for
            ``profile``).
        calibration: the profile's calibration file (default: the core's; it must exist, since
            grading without thresholds is impossible).
        visibility: of the question rows students see (one of
            ``report.GRADESCOPE_VISIBILITIES``), kept in the zip's ``manifest.PACKAGED_SETTINGS``.

    Returns:
        The zip's path. Entries are sorted and dated 1980-01-01, so the same kit gives the same
        bytes.

    Raises:
        GradescopeError: the checkpoint or the calibration is missing.
    """
    out = Path(out or DEFAULT_ZIP)
    if visibility not in report.GRADESCOPE_VISIBILITIES:
        raise GradescopeError(f"visibility must be one of "
                              f"{', '.join(report.GRADESCOPE_VISIBILITIES)}, not {visibility!r}")
    from autograder.checks.settings import calibration_path  # the checks' home of the file

    checkpoint = Path(checkpoint) if checkpoint else base_checkpoint_path(profile)
    if not checkpoint.is_file():
        raise GradescopeError(f"no base checkpoint for profile {profile!r} at {checkpoint}; "
                              f"train it with `python -m prunekit train-base --profile {profile}`")
    calibration = Path(calibration) if calibration else calibration_path(profile)
    if not calibration.is_file():
        raise GradescopeError(f"profile {profile!r} is not calibrated (no {calibration}); run "
                              f"`python -m autograder calibrate --profile {profile}`")
    entries: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.encode(), 0o755),
        "run_prairielearn": (RUN_PRAIRIELEARN.encode(), 0o755),
        GRADER_REQUIREMENTS: ((KIT_ROOT / GRADER_REQUIREMENTS).read_bytes(), 0o644),
        PACKAGED_SETTINGS: (json.dumps({"profile": profile, "visibility": visibility},
                                 indent=2).encode() + b"\n", 0o644),
        f"checkpoints/{checkpoint.name}": (checkpoint.read_bytes(), 0o644),
    }
    for package in PACKAGES:
        for path in _package_files(KIT_ROOT / package):
            entries[path.relative_to(KIT_ROOT).as_posix()] = (path.read_bytes(), 0o644)
    shipped_calibration = _relative_to_kit(calibration)
    if shipped_calibration is None:  # a calibration from elsewhere goes where the core reads it
        shipped_calibration = _relative_to_kit(calibration_path(profile))
        entries[shipped_calibration] = (calibration.read_bytes(), 0o644)
    return write_reproducible_zip(out, {name: data for name, (data, _) in entries.items()},
                                  mode_of=lambda name: entries[name][1])


def _package_files(folder: Path) -> list[Path]:
    import fnmatch

    return sorted(path for path in folder.rglob("*") if path.is_file() and not any(
        fnmatch.fnmatch(part, pattern) for part in path.relative_to(folder).parts
        for pattern in SKIPPED))


def _relative_to_kit(path: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(KIT_ROOT).as_posix()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------

def gradescope_identity(root: Path) -> str | None:
    """The submission id that seeds a Gradescope submission's inputs: its users' Gradescope ids
    from ``ROOT/submission_metadata.json`` ("gs-1234", a group "gs-1234+5678"), so every student
    (or group) has their own inputs and a resubmission is graded on the same ones; None when
    the file is missing or names no user."""
    try:
        users = json.loads((Path(root) / METADATA_FILE).read_text())["users"]
        ids = sorted({str(int(user["id"])) for user in users})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return "gs-" + "+".join(ids) if ids else None


def run(root: Path = Path("/autograder"), timeout_s: float | None = None,
        grade_fn: Callable | None = None, profile: str | None = None,
        allow_unisolated: bool = False, visibility: str | None = None) -> SubmissionResult:
    """Grade ``root/submission`` under the students' own id (:func:`gradescope_identity`) and
    write ``root/results/results.json`` (question rows titled, with ``visibility``: default
    the zip's setting, else report.GRADESCOPE_RUN_VISIBILITY); returns the result.

    Where student code cannot be isolated (and ``allow_unisolated`` is False) nothing is graded:
    results.json says so to the student, and standard error (which staff see) says what is
    missing and how to get it.

    Args:
        timeout_s: seconds for the student's code (default: the core's limit).
        grade_fn: the grader (default: the hardened grader of the zip's profile); tests pass a
            fake one.
        profile: default: ``gradescope_config.json`` beside the kit, else offline.

    Raises:
        GradescopeError: ``root/submission`` does not exist (nothing is written then).
    """
    root = Path(root)
    submission_dir = platform_folder(root, "submission", "Gradescope", GradescopeError)
    result, question_max = grade_folder(submission_dir, gradescope_identity(root), METADATA_FILE,
                                        grade_fn, timeout_s, profile, allow_unisolated,
                                        before=lambda: _harden_kit(root))
    shown = visibility or packaged_setting("visibility", report.GRADESCOPE_RUN_VISIBILITY)
    report.write_gradescope_results(result, root / "results" / "results.json",
                                    question_max=question_max, visibility=shown,
                                    question_titles=questions.load().titles())
    return result


def _harden_kit(root: Path) -> None:
    """Make the secret parts of the kit unreadable to the sandbox user, when the kit running is
    the one unpacked into ``root/source`` (never the developer's checkout) and we are root."""
    if os.geteuid() != 0:
        return
    try:
        KIT_ROOT.relative_to((root / "source").resolve())
    except ValueError:
        return
    from autograder.sandbox import harden_permissions

    harden_permissions(manifest.secret_paths(KIT_ROOT))


def prepare(profile: str | None = None) -> list[str]:
    """Build what every grading would otherwise build first, into the image: the profile's
    hidden split (``.cache/grading-data``; CIFAR-10's test set for a real-data profile, downloaded
    by :func:`fetch_real_images`) and the checked base model. Returns lines for the
    set-up log. Runs in ``setup.sh`` (``gradescope-prepare``).

    Raises:
        Whatever loading raises: a missing checkpoint or calibration fails the image build,
        which is where it should be seen."""
    from autograder.checks.resources import Resources, hidden_loader
    from autograder.checks.settings import load_settings

    settings = load_settings(profile or packaged_setting("profile", "offline"))
    Resources(settings).base_model()
    fetch_real_images(settings.profile)
    loader = hidden_loader(settings.profile, settings.split_seed, int(settings.split["size"]))
    return [f"profile {settings.profile}: base model checked, hidden split of "
            f"{len(loader.dataset)} images cached"]


def fetch_real_images(profile: str) -> None:
    """A real-data profile (``cifar10``, ``cifar10-cpu``) grades on CIFAR-10's test set, which
    the zip does not ship: download it once into the grader's data folder while the image is
    built (Gradescope's set-up has network; grading need not). Nothing happens where the data is
    already there (``$PRUNEKIT_DATA``, an array file) or for the offline profile.

    Raises:
        DataUnavailableError: the download failed; the message names the offline profile."""
    from prunekit.data import load_datasets
    from prunekit.profiles import cifar10_available, get_profile

    if get_profile(profile).dataset == "offline" or cifar10_available(manifest.grader_data_root()):
        return
    load_datasets(profile, root=manifest.grader_data_root(), download=True)


def unpack(zip_path: Path, root: Path) -> Path:
    """Unpack an autograder zip into ``root/source`` the way Gradescope does (with the file
    modes) and copy ``run_autograder`` to ``root``; returns ``root/source``. For tests and for
    trying a zip locally."""
    source = Path(root) / "source"
    source.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = source / info.filename
            archive.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target, mode)
    shutil.copy2(source / "run_autograder", Path(root) / "run_autograder")
    for folder in ("submission", "results"):
        (Path(root) / folder).mkdir(exist_ok=True)
    return source
