# about: the blank notebook with the dense base model submitted as both pruned models
# base: blank
# defence: the size, MACs and speedup checks (accuracy is judged on its own)
# earns: q6/finegrained_file_loads, q6/finegrained_accuracy, q9/channel_pruned_loads,
#   q9/channel_pruned_accuracy
# why: by the grading policy the accuracy of a submitted model is judged on its own (the size,
#   MACs and speedup checks fail it); an unpruned model is not checked for "was it pruned" there
# --- file: finegrained.pt <- dense_model
# --- file: channel_pruned.pt <- dense_model
