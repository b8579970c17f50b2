"""The reference *choices* of the lab (instructor only): what a good student picks.

These are not functions but decisions the notebook asks for: the per-layer sparsities of the
fine-grained model and the channel prune ratio. The calibration (``autograder/frontends/calibrate.py``) runs
the reference pipeline with them to set the grading thresholds, so changing a value here means
re-running ``python -m autograder calibrate --profile <name>``.
"""
from __future__ import annotations

# Per-layer sparsity (fraction of zeros) for FineGrainedPruner, keyed by parameter name: the
# master notebook's answer to q6 (a test keeps the two equal). Chosen from the offline profile's
# sensitivity scan: conv0 and the classifier are small and sensitive (left dense), the wide late
# convs hold about three quarters of the parameters and tolerate heavy pruning. Pruned, the
# offline model (width 0.125, 145,554 parameters) keeps 23.4 % of its dense size, under the 25 %
# the lab asks for.
SPARSITY_DICT: dict[str, float] = {
    "backbone.conv0.weight": 0.0,
    "backbone.conv1.weight": 0.4,
    "backbone.conv2.weight": 0.5,
    "backbone.conv3.weight": 0.6,
    "backbone.conv4.weight": 0.7,
    "backbone.conv5.weight": 0.8,
    "backbone.conv6.weight": 0.8,
    "backbone.conv7.weight": 0.85,
    "classifier.weight": 0.0,
}

# Fraction of channels removed at every conv-to-conv boundary by channel_prune (the lab's 0.3).
CHANNEL_PRUNE_RATIO: float = 0.3

# The "target sparsity" exercise (q4): fine_grained_prune must keep exactly 10 of the 25 entries
# of the notebook's 5 x 5 example; any sparsity in the open interval (0.58, 0.62) does
# (round(25 * s) == 15 zeros), and 0.6 is the reference answer.
TARGET_SPARSITY: float = 0.6
