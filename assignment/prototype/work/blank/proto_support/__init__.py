"""Tiny support package shipped beside the prototype notebook (Otter Assign ``files:``).

It stands in for the real kit's support package: the notebook imports it, Otter Assign copies it
into dist/student/ and dist/autograder/, and the autograder zip carries it under files/ so that
``otter run`` can import it while grading.
"""

import os

import torch


def make_weight(seed: int = 0, shape=(4, 8)) -> torch.Tensor:
    """Return a deterministic float32 tensor of ``shape`` drawn from ``torch.Generator(seed)``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen)


def running_under_otter() -> bool:
    """True while the notebook is being executed by Otter's grader (otter run, Gradescope,
    otter assign's own test run, export(run_tests=True)).

    Otter's GradingPreprocessor prepends a cell calling ``otter.Notebook.init_grading_mode``,
    which sets the class attribute ``otter.Notebook._grading_mode`` (private, but stable
    since Otter 2). The cwd check is a fallback: grading always happens in
    ``<tmp or />autograder/submission``.
    """
    try:
        import otter

        if getattr(otter.Notebook, "_grading_mode", False):
            return True
    except ImportError:
        pass
    cwd = os.getcwd().replace(os.sep, "/")
    return cwd.endswith("/autograder/submission")
