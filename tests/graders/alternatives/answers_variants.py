# about: other valid answers: target_sparsity 0.59, a sparsity_dict that spares conv1 a little
#   more (still under 25% of the size; the submitted model has at least its zeros), and
#   channel_prune_ratio as a list of 7 ratios
# --- replace: target_sparsity
target_sparsity = 0.59
# --- replace: sparsity_dict
sparsity_dict = {
    "backbone.conv0.weight": 0.0,
    "backbone.conv1.weight": 0.3,
    "backbone.conv2.weight": 0.5,
    "backbone.conv3.weight": 0.6,
    "backbone.conv4.weight": 0.7,
    "backbone.conv5.weight": 0.8,
    "backbone.conv6.weight": 0.8,
    "backbone.conv7.weight": 0.85,
    "classifier.weight": 0.0,
}
# --- replace: channel_prune_ratio
channel_prune_ratio = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
