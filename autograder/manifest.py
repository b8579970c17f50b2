"""The kit's manifest: what ships to students, what ships to a grader, what stays secret.

Paths are relative to the kit's folder. The build (``assignment/build.py``) writes the student
folder from ``STUDENT``, checks that the master's Otter configuration ships exactly that, and
puts ``GRADER`` into the Otter autograder zip; the Gradescope / PrairieLearn zip
(``autograder/frontends/gradescope.py``) ships ``GRADER`` and ``GRADER_FILES``; the sandbox
(``autograder/sandbox``) hides ``SECRET`` wherever it lies inside a folder it must show, and
the restricted backend makes it root-only before grading.

=================  ===========================================================================
``STUDENT``        the support package, the base checkpoints of the three profiles, the figures
                   the notebook shows, and what the build generates beside the notebook
                   (README, requirements)
``GRADER``         the grader (this package, with the question table and the calibration), the
                   reference solutions, the support package (the checks grade through it)
``SECRET``         never readable by student code: the reference solutions, the hidden checks
                   and their calibration (salt, hidden split seed), the master notebook (with
                   solutions and hidden tests), the cached reference models, and the default
                   output folder ``runs/`` (example submissions with the reference model files,
                   the Gradescope zip, gradebooks)
=================  ===========================================================================
"""
from __future__ import annotations

import json
import os
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]

# beside the student notebook: the support package, the base checkpoints of the three profiles
# (the full-width one, 37 MB, trained on a CPU in bfloat16: benchmarks/cifar10_gpu.py) and the
# kit's measured figures the notebook shows (assignment/figures/; the benchmarks write them
# there through links in benchmarks/results/)
STUDENT = ("prunekit", "checkpoints/vgg-offline.pt", "checkpoints/vgg-cifar10-cpu.pt",
           "checkpoints/vgg-cifar10.pt", "figures")
STUDENT_GENERATED = ("README.md", "requirements.txt")  # written by the build
GRADER = ("autograder", "solutions", "prunekit")  # packages a grading machine needs
GRADER_FILES = ("requirements-grader.txt",)  # files beside them (the image's requirements)
# What the sandbox copies into every sandbox folder besides its own code: the lab's probe module
# (as probes.py) and the public packages student code may import (into lib/).
SANDBOX_PROBES = "autograder/probes/lab.py"
SANDBOX_PACKAGES = ("prunekit",)
SECRET = ("solutions", "autograder/checks", "assignment", ".cache", "runs")
SECRET_PACKAGES = ("autograder", "solutions", "assignment")  # hidden even when installed


def secret_paths(root: Path = KIT_ROOT) -> tuple[Path, ...]:
    """The secret paths of the kit at ``root`` (absolute)."""
    return tuple(root / path for path in SECRET)


def base_checkpoint_path(profile_name: str) -> Path:
    """The dense base checkpoint of a profile: ``assignment/checkpoints/vgg-<profile>.pt`` (the
    one shipped with the assignment) when present, else ``$PRUNEKIT_CHECKPOINTS`` or the kit's
    ``checkpoints/`` folder."""
    name = f"vgg-{profile_name}.pt"
    shipped = KIT_ROOT / "assignment" / "checkpoints" / name
    if shipped.is_file():
        return shipped
    env = os.environ.get("PRUNEKIT_CHECKPOINTS")
    if env and (Path(env) / name).is_file():
        return Path(env) / name
    return KIT_ROOT / "checkpoints" / name


def grader_data_root() -> Path:
    """Where the grader, calibration and benchmarks read data sets: ``$PRUNEKIT_DATA`` when set
    (as everywhere in the kit), else the kit's ``data/`` folder, whatever the working folder."""
    env = os.environ.get("PRUNEKIT_DATA")
    return Path(env) if env else KIT_ROOT / "data"


PACKAGED_SETTINGS = "gradescope_config.json"  # beside the kit in a platform zip: its profile, ...


def packaged_setting(key: str, default: str) -> str:
    """A setting of the platform zip this kit was unpacked from (``PACKAGED_SETTINGS`` beside
    the kit: "profile", "visibility"), else ``default`` (a checkout has none)."""
    try:
        return str(json.loads((KIT_ROOT / PACKAGED_SETTINGS).read_text())[key])
    except (OSError, ValueError, KeyError):
        return default
