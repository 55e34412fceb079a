"""Worker-side helpers for the hw2 data checks.

They build datasets whose items name themselves and read items and loader batches back as plain data.
The checks recompute every expected value in the trusted process.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset


class PairDataset(Dataset):
    """``(ids, label)`` items made from plain lists: ``ids`` an int64 1-D tensor, ``label`` an int64 0-dim one."""

    def __init__(self, rows: list[list[int]], labels: list[int]) -> None:
        self._items = [
            (torch.tensor(ids, dtype=torch.int64), torch.tensor(label, dtype=torch.int64))
            for ids, label in zip(rows, labels, strict=True)
        ]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)


def pair_dataset(rows: list[list[int]], labels: list[int]) -> PairDataset:
    """A dataset of the ``(ids, label)`` items of ``rows`` and ``labels``."""
    return PairDataset(rows, labels)


def items(dataset: Any, indices: list[int]) -> list[Any]:
    """``dataset[i]`` for every i in ``indices`` (one call instead of one per item)."""
    return [dataset[index] for index in indices]


def loader_batches(loader: Any, seed: int) -> list[Any]:
    """One pass over ``loader`` after seeding torch's global generator (a fresh shuffle per seed)."""
    torch.manual_seed(seed)
    return list(loader)
