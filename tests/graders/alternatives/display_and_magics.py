# about: the solved notebook with what runs in every Jupyter kernel: display() calls, a
#   %time line magic, a %%time cell magic, get_ipython(), and a multi-line string whose lines
#   start with % (text, not magics); every function must still get full marks
# --- cell
from IPython.display import display

display("pruning report")
%time total = sum(range(10))
REPORT = """
%d weights pruned
%s left
"""
shell = get_ipython()
display(REPORT % (1, "some"))
# --- cell
%%time
def helper_defined_under_a_cell_magic():
    return 1
