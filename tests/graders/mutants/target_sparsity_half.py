# about: target_sparsity is a round guess (0.5) instead of the one that keeps 10 of 25 entries
# replaces: target_sparsity
# loses: q4
# feedback: keeps 13 of the 25 entries
target_sparsity = 0.5
