# about: the solved notebook with finegrained.pt and channel_pruned.pt replaced by pickles that
#   run code when loaded (torch's format, and a bare pickle)
# base: solved
# defence: model files are parsed, never unpickled (no code runs)
# --- file: finegrained.pt <- malicious_pickle
# --- file: channel_pruned.pt <- plain_pickle
