# about: channel_prune and apply_channel_sorting ignore their input and return a fresh,
#   untrained one-channel VGG (no pruning, no sorting at all); earns the "loads", "modules
#   consistent" and "input untouched" checks, which no check on the values gates
# base: blank
# defence: properties a do-nothing function satisfies trivially count only once the function
#   works (requires= on the value checks)
# --- cell
from prunekit.model import VGG


def channel_prune(model, prune_ratio):
    return VGG(conv_channels=[1] * 8)


def apply_channel_sorting(model):
    return VGG(conv_channels=[1] * 8)
