# about: the solved notebook with model files no honest run makes: a 0-d conv weight and a
#   classifier of shape (10**12, 0); the padded one claims 5,000 extra all-zero classes, so
#   its non-zeros look like 1% of its parameters
# base: solved
# defence: every model file is checked against the base model's shapes before anything is
#   built; sizes are judged against the base model's counts
# status: graded
# --- file: finegrained.pt <- padded_classifier_model
# --- file: channel_pruned.pt <- degenerate_model
