"""Seeds of held-out data that student code cannot know in advance, for the end-to-end checks.

An end-to-end check trains the student's pipeline on data it writes, and measures accuracy in this trusted
process on held-out data the student's code never sees. When the data is made from a seed in public code,
a submission could make the same data itself (and, say, memorise the held-out part). So the seed is derived
from a staff key: ``GRADER_HELDOUT_KEY`` in the grading process's environment (workers never see it: their
environment is scrubbed). The same key gives the same data, so grading stays deterministic; without a key
(a student grading their own work) a public default is used.
"""

from __future__ import annotations

import hashlib
import hmac
import os

#: Where the staff key is read from.
VARIABLE = "GRADER_HELDOUT_KEY"
_PUBLIC = b"public"


def seed(purpose: str) -> int:
    """A 63-bit seed for ``purpose`` (e.g. ``"hw2/end-to-end"``): from the staff key, else the public default."""
    key = os.environ.get(VARIABLE, "").encode() or _PUBLIC
    digest = hmac.new(key, purpose.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1
