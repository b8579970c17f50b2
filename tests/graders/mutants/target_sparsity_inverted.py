# about: target_sparsity is the fraction to keep (0.4), not the fraction to prune
# replaces: target_sparsity
# loses: q4
# feedback: keeps 15 of the 25 entries
target_sparsity = 0.4
