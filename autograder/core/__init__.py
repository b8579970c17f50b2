"""The grading core: one submission (``grade.py``: its sandbox run, then every hidden check in
this process), reading submissions safely (``submission.py``), batches of them (``batch.py``:
parallel, resumable, recorded), a platform's one submission (``single.py``) and the reference
models (``references.py``: made for the calibration, the build and the examples; grading never
uses them). Below it: the sandbox and the checks; above it: the front ends."""
