"""Grader-owned helpers that run inside the worker, next to student code.

They build the objects a check needs to live in the worker (reference models,
loaders, recorders) and read facts back as plain data. They are not secret and
not trusted: every fact they report is re-checked by the trusted process where
it can be (by recomputation), and only plain data comes back.
"""
