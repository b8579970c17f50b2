"""The kit's manifest: what ships to students, what ships to a grader, what stays secret.

Paths are relative to the kit's folder. The build (``assignment/build.py``) writes the student
folder from ``STUDENT``, checks that the master's Otter configuration ships exactly that, and
puts ``GRADER`` into the Otter autograder zip; the Gradescope / PrairieLearn zip
(``autograder/frontends/gradescope.py``) ships ``GRADER`` and ``GRADER_FILES``; the sandbox
(``autograder/sandbox``) hides ``SECRET`` wherever it lies inside a folder it must show, and
the restricted backend makes it root-only before grading.

=================  ===========================================================================
``STUDENT``        the support package, the base checkpoint of the offline profile, and what the
                   build generates beside the notebook (README, requirements)
``GRADER``         the grader (this package, with the question table and the calibration), the
                   reference solutions, the support package (the checks grade through it)
``SECRET``         never readable by student code: the reference solutions, the hidden checks
                   and their calibration (salt, hidden split seed), the master notebook (with
                   solutions and hidden tests), the cached reference models
=================  ===========================================================================
"""
from __future__ import annotations

from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]

STUDENT = ("prunekit", "checkpoints/vgg-offline.pt")  # beside the student notebook
STUDENT_GENERATED = ("README.md", "requirements.txt")  # written by the build
GRADER = ("autograder", "solutions", "prunekit")  # packages a grading machine needs
GRADER_FILES = ("requirements-grader.txt",)  # files beside them (the image's requirements)
SECRET = ("solutions", "autograder/checks", "assignment", ".cache")
SECRET_PACKAGES = ("autograder", "solutions", "assignment")  # hidden even when installed


def secret_paths(root: Path = KIT_ROOT) -> tuple[Path, ...]:
    """The secret paths of the kit at ``root`` (absolute)."""
    return tuple(root / path for path in SECRET)
