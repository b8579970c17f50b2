# about: a sparsity_dict that leaves the model above 25% of its dense size
# replaces: sparsity_dict
# loses: q6
# feedback: at most 25%
sparsity_dict = {
    "backbone.conv0.weight": 0.0,
    "backbone.conv1.weight": 0.3,
    "backbone.conv2.weight": 0.4,
    "backbone.conv3.weight": 0.5,
    "backbone.conv4.weight": 0.6,
    "backbone.conv5.weight": 0.7,
    "backbone.conv6.weight": 0.7,
    "backbone.conv7.weight": 0.8,
    "classifier.weight": 0.0,
}
