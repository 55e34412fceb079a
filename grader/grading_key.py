"""The grading key: a secret the staff hold, from which checks draw what student code must not predict.

A TA who grades for the record puts a few random bytes in a file and names it in the environment::

    head -c 32 /dev/urandom > ~/hw1-fall.key
    GRADER_KEY_FILE=~/hw1-fall.key python -m grader hw1 --batch CLASS --out OUT

Checks derive their secrets from it with :func:`derive` (the end-to-end check of hw1 draws its held-out
digits and their pixel noise from it). The same key gives the same grades; another key (per batch, per
course) gives other held-out data. Only the trusted grading process reads the file, and only when a check
asks (after the sandbox's zygote was forked, so no worker ever has the key in its memory); a namespaced
worker's file system is an allow-list that never holds it (the grader names it among the paths to cover,
should it lie in a folder on an import path).

Without ``GRADER_KEY_FILE`` the key is :data:`PUBLIC`: a student's own run then gets the grade a correct
pipeline gets with any key, but what a public key hides, anyone can reproduce, so grades of record set it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from pathlib import Path

from grader.errors import UsageError

#: The environment variable naming the key file.
ENV = "GRADER_KEY_FILE"
#: The key when none is set (students' own runs; reproducible by anyone).
PUBLIC = b"the public grading key: set GRADER_KEY_FILE for grades of record"
#: A key file shorter than this is refused: a guessable key hides nothing.
MIN_BYTES = 16
_MAX_BYTES = 4096


def key_file() -> Path | None:
    """The key file ``GRADER_KEY_FILE`` names (``~`` expanded, resolved), or None when it is not set."""
    name = os.environ.get(ENV, "")
    return Path(name).expanduser().resolve() if name else None


def check() -> None:
    """Raise :class:`UsageError` when ``GRADER_KEY_FILE`` is set but names no usable key file.

    Looks at the file without reading it: this runs before the sandbox's zygote is forked, and whatever
    this process has read, freed or not, a forked worker could find in its memory.
    """
    path = key_file()
    if path is None:
        return
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"{ENV} names '{path}', which cannot be read ({exc.strerror}).") from exc
    if not path.is_file() or not os.access(path, os.R_OK):
        raise UsageError(f"{ENV} names '{path}', which is not a readable file.")
    if not MIN_BYTES <= size <= _MAX_BYTES:
        raise UsageError(
            f"{ENV} names '{path}', which holds {size} bytes; a key file holds {MIN_BYTES} to {_MAX_BYTES} "
            "(e.g. head -c 32 /dev/urandom > FILE)."
        )


def derive(purpose: str) -> bytes:
    """32 bytes for ``purpose`` (e.g. ``"hw1/end-to-end"``), drawn from the key: unpredictable without it.

    Reads the key file on first use. Call it only from checks (in the grading process, once the
    sandbox's zygote exists), never before the zygote is forked.
    """
    return hmac.new(_key(), purpose.encode(), hashlib.sha256).digest()


def seed(purpose: str) -> int:
    """A 63-bit seed for ``purpose`` drawn from the key (see :func:`derive`), for generators that take an int."""
    return int.from_bytes(derive(purpose)[:8], "big") >> 1


def fingerprint() -> bytes:
    """What identifies the key, the same on every machine holding a copy of it: a digest drawn from the key.

    For what must change when the key does, such as a batch's resume check and the merge of shards graded on
    other machines (where the file's path, inode and time differ). It is taken before grading processes are
    forked, and this process must never hold the key (see :func:`check`): a throwaway child reads it and
    hands back only ``derive("fingerprint")``, from which nothing else the key gives can be computed.
    """
    path = key_file()
    if path is None:
        return hashlib.sha256(PUBLIC).digest()
    theirs, ours = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(theirs)
            os.write(ours, derive("fingerprint"))
            code = 0
        finally:
            os._exit(code)
    os.close(ours)
    with os.fdopen(theirs, "rb") as answer:
        digest = answer.read()
    os.waitpid(pid, 0)
    if len(digest) != hashlib.sha256().digest_size:  # read here instead, and this process would hold the key
        raise UsageError(
            f"{ENV} names '{path}', which could not be read as a key of {MIN_BYTES} to {_MAX_BYTES} bytes."
        )
    return digest


@functools.cache
def _key() -> bytes:
    path = key_file()
    if path is None:
        return PUBLIC
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{ENV} names '{path}', which cannot be read ({exc.strerror}).") from exc
    if not MIN_BYTES <= len(data) <= _MAX_BYTES:
        raise UsageError(f"{ENV} names '{path}', which holds {len(data)} bytes, not {MIN_BYTES} to {_MAX_BYTES}.")
    return data
