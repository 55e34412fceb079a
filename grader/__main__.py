"""Run the grader: ``python -m grader hw1 [SUBMISSION]``."""

import sys

from grader.cli import main

if __name__ == "__main__":
    sys.exit(main())
