"""Worker-side helpers for the hw2 checks."""
