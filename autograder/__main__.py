"""``python -m autograder <command>``: see :mod:`autograder.frontends.cli`."""
import sys

from autograder.frontends.cli import main

if __name__ == "__main__":
    sys.exit(main())
