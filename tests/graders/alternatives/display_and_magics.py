# about: the solved notebook with what runs in every Jupyter kernel: a display() call and a %time
#   line magic in the cell that defines get_sparsity (before the definition), a multi-line
#   string whose lines start with % (text, not magics), get_ipython(), and a %%time cell; every
#   function must still get full marks
# --- replace: get_sparsity
from IPython.display import display

display("pruning report")
%time warm_up = sum(range(10))
REPORT = """
%d weights pruned
%s left
"""
shell = get_ipython()


def get_sparsity(tensor: torch.Tensor) -> float:
    return 1 - tensor.count_nonzero().item() / tensor.numel()
# --- cell
%%time
def helper_defined_under_a_cell_magic():
    return REPORT % (1, "some")
