"""grader: contract checks for the course's PyTorch assignments, run against untrusted submissions."""

__version__ = "0.1.0"
