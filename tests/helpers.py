"""Small models and readiness checks shared by the kit's tests."""
from __future__ import annotations

import torch
from torch import nn

from prunekit.model import VGG


def small_vgg(seed: int = 0, conv_bias: bool = False, width: float = 0.25) -> VGG:
    """A narrow VGG in eval mode with random BatchNorm affine parameters and running stats (and
    conv biases when asked), so that permuting, slicing or folding any of them wrongly changes
    the output."""
    torch.manual_seed(seed)
    model = VGG(width=width, conv_bias=conv_bias)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 2.0)
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                module.bias.normal_(0, 0.1)
    return model.eval()


def offline_grading_unready() -> str:
    """Why the real grader cannot grade on the offline profile here ("" when it can): the
    calibration (thresholds, salt) is written by ``python -m autograder calibrate``."""
    from autograder.checks.settings import calibration_path

    if not calibration_path("offline").is_file():
        return "the offline profile is not calibrated (python -m autograder calibrate)"
    return ""


def code_questions() -> tuple[str, ...]:
    """The autograded questions graded without the submitted model files: those whose prompt
    names no model file (the question table's order)."""
    from autograder import questions
    from prunekit.submission import MODEL_FILES

    table = questions.load()
    return tuple(q for q in table.graded if not any(name in table[q].prompt for name in MODEL_FILES))
