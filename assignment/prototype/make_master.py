"""Write the Otter Assign prototype master notebook ``master.ipynb`` (v1 format, Otter 6.1).

The prototype is the smallest notebook that exercises every Otter Assign feature the real
pruning master will need: an assignment config cell, autograded questions with a stub that
raises ``NotImplementedError`` in the student version, public and hidden exception-based
tests with custom messages, a manually graded written question, a cell skipped while grading,
extra files in the submission zip, and a support package shipped beside the notebook.

Cell ids are fixed (``cell-NN``) so that this script always writes byte-identical output;
``nbformat.v4.new_*_cell`` would otherwise draw a random id for every cell.

Usage:  python make_master.py [output.ipynb]      (default: master.ipynb beside this file)
See ../OTTER_NOTES.md for what each construct does and what Otter prints.
"""

import pathlib
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

HERE = pathlib.Path(__file__).resolve().parent

ASSIGNMENT_CONFIG = '''\
# ASSIGNMENT CONFIG
name: prunekit-proto
requirements: requirements.txt
files:
    - proto_support
init_cell: true
check_all_cell: true
export_cell:
    pdf: false
    run_tests: false
    instructions: "Run the cells that save finegrained.pt and channel_pruned.pt before exporting."
    files:
        - finegrained.pt
        - channel_pruned.pt
generate:
    pdf: false
    show_stdout: true
    show_hidden: false
    seed: 42
runs_on: default
python_version: "3.11"
tests:
    files: false
    ok_format: false
'''

SETUP = '''\
import torch
from proto_support import make_weight, running_under_otter'''

Q1_PROMPT = '''\
**Question 1.** Implement `get_sparsity(tensor)`: the fraction of zero entries,
`1 - nonzeros / numel`, as a Python `float`.'''

Q1_SOLUTION = '''\
def get_sparsity(tensor: torch.Tensor) -> float:
    """Fraction of zero entries of ``tensor`` (0.0 = dense, 1.0 = all zeros)."""
    # BEGIN SOLUTION NO PROMPT
    return 1.0 - float(tensor.count_nonzero()) / tensor.numel()
    # END SOLUTION
    """ # BEGIN PROMPT
    raise NotImplementedError("get_sparsity: count the non-zeros with tensor.count_nonzero()")
    """ # END PROMPT'''

Q1_TEST_PUBLIC = '''\
""" # BEGIN TEST CONFIG
points: 1
failure_message: Hint - sparsity is 1 - nonzeros/numel, returned as a Python float.
""" # END TEST CONFIG
def test_q1_public(get_sparsity):
    import torch
    t = torch.tensor([0.0, 1.0, 0.0, 2.0])
    got = get_sparsity(t)
    assert isinstance(got, float), f"get_sparsity must return a float, got {type(got).__name__}"
    assert abs(got - 0.5) < 1e-9, f"get_sparsity({t.tolist()}) should be 0.5, got {got}"

test_q1_public(get_sparsity)'''

Q1_TEST_HIDDEN = '''\
# HIDDEN
def test_q1_hidden(get_sparsity):
    import torch
    assert get_sparsity(torch.zeros(3, 3)) == 1.0, "all-zero tensor"
    assert get_sparsity(torch.ones(7)) == 0.0, "dense tensor"

test_q1_hidden(get_sparsity)'''

Q2_PROMPT = '''\
**Question 2.** Implement `fine_grained_prune(tensor, sparsity)`: zero the smallest-magnitude
entries in place and return the boolean keep-mask.'''

Q2_SOLUTION = '''\
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Prune ``tensor`` in place to ``sparsity`` (fraction of zeros); return the keep-mask."""
    sparsity = min(max(0.0, sparsity), 1.0)
    num_zeros = round(tensor.numel() * sparsity)  # SOLUTION
    # BEGIN SOLUTION
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    threshold = tensor.abs().flatten().kthvalue(num_zeros).values
    mask = tensor.abs() > threshold
    tensor.mul_(mask)
    return mask
    # END SOLUTION'''

Q2_TEST_PUBLIC = '''\
""" # BEGIN TEST CONFIG
points: 1
success_message: fine_grained_prune keeps the right entries on the public example.
failure_message: Check the threshold - entries tied with the k-th smallest magnitude are pruned.
""" # END TEST CONFIG
def test_q2_public(fine_grained_prune):
    import torch
    w = torch.tensor([[-3.0, 0.5], [1.0, -0.1]])
    mask = fine_grained_prune(w, 0.5)
    assert mask is not None, "fine_grained_prune must return the mask (got None)"
    assert mask.dtype == torch.bool, f"mask must be a bool tensor, got {mask.dtype}"
    expected = torch.tensor([[True, False], [True, False]])
    assert torch.equal(mask, expected), f"mask for sparsity 0.5 should be {expected.tolist()}, got {mask.tolist()}"
    assert torch.equal(w, torch.tensor([[-3.0, 0.0], [1.0, 0.0]])), "the tensor must be pruned in place"

test_q2_public(fine_grained_prune)'''

Q2_TEST_HIDDEN = '''\
""" # BEGIN TEST CONFIG
hidden: true
points: 2
""" # END TEST CONFIG
def test_q2_hidden(fine_grained_prune):
    import torch
    from proto_support import make_weight
    w = make_weight(seed=1)
    mask = fine_grained_prune(w, 0.75)
    assert int(mask.sum()) == 8, "75% of 32 entries pruned leaves 8"
    assert fine_grained_prune(torch.ones(5), 0.0).all(), "sparsity 0 prunes nothing"
    assert not fine_grained_prune(torch.ones(5), 1.0).any(), "sparsity 1 prunes everything"

test_q2_hidden(fine_grained_prune)'''

Q3_PROMPT = '''\
**Question 3 (written).** Why does fine-grained pruning rarely speed up inference on a GPU?'''

Q3_SOLUTION = '''\
**SOLUTION:** The zeros are scattered, so dense kernels still do every multiply-add; only
structured (channel) pruning shrinks the tensors the hardware computes on.'''

SKIP_WHILE_GRADING = '''\
# Expensive exploration (sensitivity scan, training): tagged otter_ignore, so Otter's grader
# drops this cell before it executes the submission.
print("running the expensive sensitivity scan ...")'''

GRADING_PROBE = '''\
print("running under otter:", running_under_otter())'''

SAVE_CHECKPOINTS = '''\
w = make_weight(seed=0)
fg_mask = fine_grained_prune(w, 0.5)
torch.save({"w": w}, "finegrained.pt")
torch.save({"w": w[:, :4].clone()}, "channel_pruned.pt")'''

INSTRUCTOR_ONLY = '''\
## Ignore ##
print("instructor scratch cell: removed from both outputs by Otter Assign")'''


def question(name, points, prompt, solution, tests, manual=False):
    """Cells of one v1-format question block: config, prompt, solution block, tests block."""
    config = f"# BEGIN QUESTION\nname: {name}\npoints: {points}"
    if manual:
        config += "\nmanual: true"
    cells = [("raw", config), ("markdown", prompt), ("raw", "# BEGIN SOLUTION")]
    cells += [solution, ("raw", "# END SOLUTION")]
    if tests:
        cells += [("raw", "# BEGIN TESTS"), *[("code", t) for t in tests], ("raw", "# END TESTS")]
    cells.append(("raw", "# END QUESTION"))
    return cells


def build_notebook() -> nbformat.NotebookNode:
    """Assemble the master notebook with deterministic cell ids."""
    specs = [
        ("raw", ASSIGNMENT_CONFIG),
        ("markdown", "# Otter Assign prototype (prunekit)"),
        ("code", SETUP),
        ("code", INSTRUCTOR_ONLY),
        *question("q1", 2, Q1_PROMPT, ("code", Q1_SOLUTION), [Q1_TEST_PUBLIC, Q1_TEST_HIDDEN]),
        *question("q2", 3, Q2_PROMPT, ("code", Q2_SOLUTION), [Q2_TEST_PUBLIC, Q2_TEST_HIDDEN]),
        ("code:otter_ignore", SKIP_WHILE_GRADING),
        ("code", GRADING_PROBE),
        ("code", SAVE_CHECKPOINTS),
        *question("q3", 2, Q3_PROMPT, ("markdown", Q3_SOLUTION), [], manual=True),
    ]
    makers = {"raw": new_raw_cell, "markdown": new_markdown_cell, "code": new_code_cell}
    cells = []
    for i, (kind, source) in enumerate(specs):
        kind, _, tag = kind.partition(":")
        cell = makers[kind](source)
        cell["id"] = f"cell-{i:02d}"
        if tag:
            cell["metadata"]["tags"] = [tag]
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb["metadata"] = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    return nb


def main(argv):
    out = pathlib.Path(argv[1]) if len(argv) > 1 else HERE / "master.ipynb"
    nbformat.write(build_notebook(), str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
