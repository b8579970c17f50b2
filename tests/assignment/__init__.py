"""Tests of the pruning lab: the master notebook, its build, the student template and the lab end to end."""
