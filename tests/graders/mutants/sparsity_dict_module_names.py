# about: sparsity_dict keyed by module names ("backbone.conv1") instead of parameter names
# replaces: sparsity_dict
# loses: q6
# feedback: not conv or classifier weights
sparsity_dict = {
    "backbone.conv1": 0.4,
    "backbone.conv2": 0.5,
    "backbone.conv3": 0.6,
    "backbone.conv4": 0.7,
    "backbone.conv5": 0.8,
    "backbone.conv6": 0.8,
    "backbone.conv7": 0.85,
}
