"""The pruning lab's Otter Assign master notebook and the command that builds it.

``assignment/pruning_lab.ipynb`` is the source of truth (prompts, reference solutions, public
tests, and the place for hidden tests); ``python -m assignment.build`` generates the student
notebook (``student_template/``) and the Otter autograder (``assignment/dist/autograder/``) from it.
See ``assignment/README.md``.
"""
