"""Checks for hw2 ("PyTorch Modeling" on text): one module per lecture step, plus end to end."""
