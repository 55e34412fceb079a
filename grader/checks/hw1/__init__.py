"""Checks for hw1 ("PyTorch Modeling"): one module per lecture step, plus end to end."""
