"""Sharding: every shard computes the same split alone, and the split is complete, disjoint and balanced."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

from grader.batch.sharding import Shard, assign
from grader.errors import UsageError

#: Names of any kind: any code point, lone surrogates included (a name os.fsdecode could not decode).
NAMES = st.lists(st.text(st.characters(exclude_categories=())), unique=True, max_size=60)
COUNTS = st.integers(min_value=1, max_value=12)


@given(NAMES, COUNTS)
def test_the_shards_cover_the_class_once_and_differ_in_size_by_one_at_most(names: list[str], count: int) -> None:
    shards = [Shard(index, count).select(names) for index in range(count)]
    assert sorted(name for shard in shards for name in shard) == sorted(names)  # complete, and disjoint
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1
    for shard in shards:  # each in the class's own order
        assert shard == [name for name in names if name in set(shard)]


@given(NAMES, COUNTS, st.randoms(use_true_random=False))
def test_the_split_does_not_depend_on_the_order_the_names_come_in(
    names: list[str], count: int, shuffler: random.Random
) -> None:
    shuffled = list(names)
    shuffler.shuffle(shuffled)
    assert assign(shuffled, count) == assign(names, count)


def test_every_process_computes_the_same_split() -> None:
    """Another interpreter, with another string hash seed: the same split (no use of Python's hash())."""
    names = ["alice", "bob", "=HYPERLINK(1)", "caf%E9", "学" * 80, "x.zip", "line%0Abreak", *map(str, range(40))]
    program = (
        "import json, sys; from grader.batch.sharding import assign; "
        "print(json.dumps(assign(json.loads(sys.stdin.read()), 4)))"
    )
    splits = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", program],
                input=json.dumps(names),
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONHASHSEED": seed},
            ).stdout
        )
        for seed in ("1", "2")
    ]
    assert splits[0] == splits[1] == assign(names, 4)
    # Dealt in hash order, not in name order (where a section's common prefix would fill one shard).
    assert splits[0] != {name: position % 4 for position, name in enumerate(sorted(names))}


@pytest.mark.parametrize(
    "text, shard",
    [("0/1", Shard(0, 1)), ("3/4", Shard(3, 4)), ("12/100", Shard(12, 100))],
)
def test_shard_i_of_n(text: str, shard: Shard) -> None:
    assert Shard.parse(text) == shard and str(shard) == text


@pytest.mark.parametrize("text", ["4/4", "1/0", "-1/4", "1", "a/b", "1/2/3", "²/3", "１/２", " 1/2", "auto"])
def test_a_shard_that_is_not_i_of_n_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--shard"):
        Shard.parse(text)


SLURM = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"}


@pytest.mark.parametrize(
    "environ, shards, shard",
    [
        ({**SLURM, "SLURM_ARRAY_TASK_MAX": "3"}, None, Shard(2, 4)),
        ({**SLURM, "SLURM_ARRAY_TASK_MAX": "3"}, 4, Shard(2, 4)),
        # A task resubmitted alone (sbatch --array=2 grade.sbatch) is an array of one: --shards says N.
        ({**SLURM, "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_MAX": "2"}, 4, None),
        ({"JOB_COMPLETION_INDEX": "5"}, 8, Shard(5, 8)),
    ],
)
def test_shard_auto_reads_the_engines_index(environ: dict[str, str], shards: int | None, shard: Shard | None) -> None:
    assert Shard.from_environment(shards, environ) == (shard or Shard(2, 4))


@pytest.mark.parametrize(
    "environ, shards, message",
    [
        ({}, None, "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set"),
        (
            {**SLURM, "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_MAX": "2"},
            None,
            "indexes are not 0 to 0 \\(2 to 2\\); pass --shards N",
        ),
        ({"JOB_COMPLETION_INDEX": "5"}, None, "needs --shards N"),
        ({"JOB_COMPLETION_INDEX": "8"}, 8, "--shard 8/8: I must be at least 0 and less than N"),
        ({"JOB_COMPLETION_INDEX": ""}, 8, "JOB_COMPLETION_INDEX is '', not a number"),
    ],
)
def test_shard_auto_without_an_index_it_can_trust_is_a_usage_error(
    environ: dict[str, str], shards: int | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        Shard.from_environment(shards, environ)
