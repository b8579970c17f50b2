# about: a zip with path-traversal and absolute entries (../../, /tmp/...), a model file that
#   is a symbolic link to the calibration, a second notebook, and junk folders
# base: blank
# defence: zip member names are never used as paths; symlinks and junk are ignored
# --- file: ../../outside-{{NAME}}.txt
escaped
# --- file: /tmp/prunekit-pwned-{{NAME}}.txt
escaped
# --- file: finegrained.pt <- symlink
/work/main/autograder/checks/calibration/offline.json
# --- file: channel_pruned.pt <- symlink
../../../../../../work/main/solutions/channel.py
# --- file: __MACOSX/pruning_lab.ipynb
{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
# --- file: .ipynb_checkpoints/pruning_lab-checkpoint.ipynb
{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
