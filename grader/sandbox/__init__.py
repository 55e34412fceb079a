"""The trust boundary: student code runs in workers forked from a zygote; only plain data comes back.

Public API: :class:`Sandbox` (start once per grading process, before any torch
op), :class:`Session` (a worker for a check module's checks), :class:`RemoteObject` (a handle to
an object living in the worker), :class:`Hangs` (what already ran out of time in one
grading), :class:`Limits`.
"""

from grader.sandbox.client import Hangs, RemoteObject, Sandbox, Session
from grader.sandbox.limits import Limits

__all__ = ["Hangs", "Limits", "RemoteObject", "Sandbox", "Session"]
