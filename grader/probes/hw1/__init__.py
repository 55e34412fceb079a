"""Worker-side helpers for the hw1 checks, one module per step."""
