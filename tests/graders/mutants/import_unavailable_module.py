# about: the q1 answer cell starts with `import seaborn`, which Colab has and the
#   grader does not: in the grader the cell stops there and q1's functions are never defined.
#   Expected: q1 lost (and only q1) with a reason naming the import error
# replaces: get_sparsity
# loses: q1
# feedback: seaborn
import seaborn as sns

def get_sparsity(tensor: torch.Tensor) -> float:
    return 1.0 - float(tensor.count_nonzero()) / tensor.numel()
