"""The hardened grader of the pruning kit.

Student code runs in a sandboxed process (``sandbox/``; what runs inside it, ``sandbox/inside/``
and the lab's probes ``probes/``, is public and copied into the sandbox); the hidden checks, the
reference and the thresholds (``checks/``) run only in the grader's own process, on plain data
that comes back from the sandbox.
"""
