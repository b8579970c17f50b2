"""What runs inside the sandbox, copied into every sandbox folder: the launcher, the confinement
(seccomp, Landlock), the runner and the public probes. Standard library, torch and prunekit
only; nothing here may import the grader. The grader imports ``probes`` and ``runner`` too, for
the stock-Otter path and to replay probe scenarios in its own process."""
