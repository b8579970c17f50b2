"""prunekit: the support package of the VGG / CIFAR-10 pruning lab.

What the notebook and the graders import: the model, the data and profiles, training and
evaluation, measurement and plots. It holds no graded answers: the functions students write
live in their notebooks (a test checks that no function here answers a question).
"""
__version__ = "0.1.0"
