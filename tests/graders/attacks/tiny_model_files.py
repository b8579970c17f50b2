# about: the blank notebook with a useless 1-channel VGG submitted as the channel-pruned model
#   (tiny and fast, accuracy at chance)
# base: blank
# defence: the accuracy check (MACs and speedup are judged on their own)
# earns: q9/channel_pruned_loads, q9/channel_pruned_macs, q9/channel_pruned_speedup
# why: by the grading policy MACs and speedup are judged on their own (the accuracy check fails
#   it)
# --- file: channel_pruned.pt <- tiny_model
