"""Which shard of a class grades which submission: one batch split among machines that share nothing but OUT.

A job array (Slurm), an Indexed Job (Kubernetes) or a CI matrix starts N copies of one command, each
told only its index. Each copy lists the class folder itself and keeps its own part: the names,
ordered by a hash of each (SHA-256 of its UTF-8 bytes, the same in every process and on every machine),
are dealt out in turn, so that every shard computes the same split without talking to the others, a
rerun of a shard grades the same submissions, and the shards' sizes differ by one at most. Dealing by
hash rather than by name keeps what sorts together (a section's prefix, a platform's late uploads)
from landing on one shard.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from grader.errors import UsageError


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise UsageError(f"--shard {self.index}/{self.count}: I must be at least 0 and less than N.")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` as ``--shard`` takes it."""
        index, slash, count = text.partition("/")
        if not (slash and _digits(index) and _digits(count)):
            raise UsageError(f"--shard takes I/N (shard I of N, from 0) or auto, not '{text}'.")
        return cls(int(index), int(count))

    @classmethod
    def from_environment(cls, count: int | None = None, environ: Mapping[str, str] = os.environ) -> Shard:
        """The shard a job array task or an indexed job is (``--shard auto``); ``count`` is ``--shards``.

        Slurm gives the index in SLURM_ARRAY_TASK_ID and, for an array of indexes 0 to N-1, N in
        SLURM_ARRAY_TASK_COUNT; a task resubmitted alone (``sbatch --array=2``) is an array of one, so the
        count must then come from ``--shards``. Kubernetes gives only the index (JOB_COMPLETION_INDEX).
        """
        if "SLURM_ARRAY_TASK_ID" in environ:
            index = _integer(environ, "SLURM_ARRAY_TASK_ID")
            if count is None:
                count = _integer(environ, "SLURM_ARRAY_TASK_COUNT")
                lowest, highest = _integer(environ, "SLURM_ARRAY_TASK_MIN"), _integer(environ, "SLURM_ARRAY_TASK_MAX")
                if (lowest, highest) != (0, count - 1):
                    raise UsageError(
                        f"--shard auto: this Slurm array's indexes are not 0 to {count - 1} "
                        f"({lowest} to {highest}); pass --shards N, the number of shards."
                    )
            return cls(index, count)
        if "JOB_COMPLETION_INDEX" in environ:
            if count is None:
                raise UsageError("--shard auto in a Kubernetes Indexed Job needs --shards N (its completions).")
            return cls(_integer(environ, "JOB_COMPLETION_INDEX"), count)
        raise UsageError(
            "--shard auto: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (not in a Slurm array "
            "task or a Kubernetes Indexed Job); give --shard I/N."
        )

    def select(self, names: Iterable[str]) -> list[str]:
        """The names of ``names`` this shard grades, in their given order."""
        names = list(names)
        owner = assign(names, self.count)
        return [name for name in names if owner[name] == self.index]


def assign(names: Iterable[str], count: int) -> dict[str, int]:
    """The shard (0 to ``count`` - 1) of each name: by hash order, dealt out in turn."""
    ordered = sorted(set(names), key=lambda name: (_digest(name), name))
    return {name: position % count for position, name in enumerate(ordered)}


def _digest(name: str) -> bytes:
    # surrogatepass: any str has bytes, a name os.fsdecode kept lone surrogates in included.
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()


def _integer(environ: Mapping[str, str], variable: str) -> int:
    value = environ.get(variable, "")
    if not _digits(value):
        raise UsageError(f"--shard auto: {variable} is {value!r}, not a number.")
    return int(value)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
