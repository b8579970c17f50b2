"""The grading core: one submission (``grade.py``: its sandbox run, then every hidden check in
this process), reading submissions safely (``submission.py``) and batches of them (``batch.py``:
parallel, resumable, recorded). Below it: the sandbox and the checks; above it: the front ends."""
